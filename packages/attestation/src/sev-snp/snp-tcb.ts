/** AMD EPYC product lines Sanctum verifies, each with its own ARK. */
export const SNP_PRODUCTS = ["Milan", "Genoa", "Turin"] as const;
export type SnpProduct = (typeof SNP_PRODUCTS)[number];

/** The security patch levels of a TCB_VERSION. */
export interface SnpTcbParts {
  readonly bootloader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  /** Turin only. */
  readonly fmc?: number;
}

/**
 * The position of each SPL in the 8-byte TCB_VERSION, with the VCEK/VLEK extension OID that
 * must equal it. Milan and Genoa: bootloader, tee, 4 reserved, snp, microcode. Turin: fmc,
 * bootloader, tee, snp, 3 reserved, microcode (AMD SEV-SNP ABI spec 1.58, "TCB_VERSION";
 * AMD "VCEK Certificate and KDS Interface Specification", table 9).
 */
export const TCB_LAYOUT: Readonly<Record<SnpProduct, readonly { readonly name: keyof SnpTcbParts | `reserved${number}`; readonly byte: number; readonly oid: string }[]>> = {
  Milan: milanLayout(),
  Genoa: milanLayout(),
  Turin: [
    { name: "fmc", byte: 0, oid: "1.3.6.1.4.1.3704.1.3.9" },
    { name: "bootloader", byte: 1, oid: "1.3.6.1.4.1.3704.1.3.1" },
    { name: "tee", byte: 2, oid: "1.3.6.1.4.1.3704.1.3.2" },
    { name: "snp", byte: 3, oid: "1.3.6.1.4.1.3704.1.3.3" },
    { name: "microcode", byte: 7, oid: "1.3.6.1.4.1.3704.1.3.8" },
  ],
};

function milanLayout(): { name: keyof SnpTcbParts | `reserved${number}`; byte: number; oid: string }[] {
  return [
    { name: "bootloader", byte: 0, oid: "1.3.6.1.4.1.3704.1.3.1" },
    { name: "tee", byte: 1, oid: "1.3.6.1.4.1.3704.1.3.2" },
    { name: "reserved4", byte: 2, oid: "1.3.6.1.4.1.3704.1.3.4" },
    { name: "reserved5", byte: 3, oid: "1.3.6.1.4.1.3704.1.3.5" },
    { name: "reserved6", byte: 4, oid: "1.3.6.1.4.1.3704.1.3.6" },
    { name: "reserved7", byte: 5, oid: "1.3.6.1.4.1.3704.1.3.7" },
    { name: "snp", byte: 6, oid: "1.3.6.1.4.1.3704.1.3.3" },
    { name: "microcode", byte: 7, oid: "1.3.6.1.4.1.3704.1.3.8" },
  ];
}

/** Decodes a TCB_VERSION for a product line. */
export function decodeSnpTcb(tcb: Uint8Array, product: SnpProduct): SnpTcbParts {
  if (product === "Turin") {
    return { fmc: tcb[0]!, bootloader: tcb[1]!, tee: tcb[2]!, snp: tcb[3]!, microcode: tcb[7]! };
  }
  return { bootloader: tcb[0]!, tee: tcb[1]!, snp: tcb[6]!, microcode: tcb[7]! };
}

/**
 * The product line from the report's CPUID fields (report version 3 and later), following
 * AMD's family/model assignments: family 19h models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa
 * (with Bergamo and Siena, which share Genoa's ARK), family 1Ah Turin. Undefined when unknown.
 */
export function productFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19 && model <= 0x0f) return "Milan";
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return "Genoa";
  if (family === 0x1a) return "Turin";
  return undefined;
}

/** The product line a certificate CN like "ARK-Milan", "SEV-Genoa" or "SEV-VLEK-Turin" names. */
export function productFromCommonName(cn: string): SnpProduct | undefined {
  const name = cn.split("-").pop();
  return SNP_PRODUCTS.find((p) => p === name);
}
