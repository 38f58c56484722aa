import { AttestationError } from "../attestation-error.js";

/** The certificate roles the GHCB certificate table names (GHCB spec 2.03, "SNP Extended Guest Request"). */
export type SnpCertRole = "vcek" | "vlek" | "ask" | "ark";

/**
 * The well-known GUIDs of the table's entries (GHCB spec; AMD SEV-SNP firmware ABI). A VLEK
 * chain's ASVK travels under the ASK GUID.
 */
export const SNP_CERT_GUIDS: Readonly<Record<SnpCertRole, string>> = {
  vcek: "63da758d-e664-4564-adc5-f4b93be8accd",
  vlek: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
  ask: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  ark: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
};

const GUIDS: ReadonlyMap<string, SnpCertRole> = new Map(Object.entries(SNP_CERT_GUIDS).map(([role, guid]) => [guid, role as SnpCertRole]));

export interface SnpCertEntry {
  readonly role: SnpCertRole | "unknown";
  readonly guid: string;
  readonly der: Uint8Array;
}

/**
 * Parses the certificate table the host hands the guest with an extended report (configfs-tsm
 * `auxblob`): entries of GUID (16 bytes), offset (u32 LE) and length (u32 LE), ended by an
 * all-zero entry; offsets count from the table's start. GUIDs are read in RFC 4122 byte order
 * (as the host tools snphost and go-sev-guest write them), falling back to the mixed-endian
 * Windows layout. An empty blob is an empty table. Throws `malformed-evidence` on bad bounds.
 */
export function parseSnpCertTable(table: Uint8Array): SnpCertEntry[] {
  if (table.byteLength === 0) return [];
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const entries: SnpCertEntry[] = [];
  for (let offset = 0; ; offset += 24) {
    if (offset + 24 > table.byteLength) throw malformed("the table has no terminating zero entry");
    const guidBytes = table.subarray(offset, offset + 16);
    const start = view.getUint32(offset + 16, true);
    const length = view.getUint32(offset + 20, true);
    if (guidBytes.every((b) => b === 0) && start === 0 && length === 0) return entries;
    if (start + length > table.byteLength || start < offset + 24) throw malformed("an entry points outside the table");
    const rfc = guidString(guidBytes, false);
    const windows = guidString(guidBytes, true);
    const role = GUIDS.get(rfc) ?? GUIDS.get(windows) ?? "unknown";
    entries.push({ role, guid: !GUIDS.has(rfc) && GUIDS.has(windows) ? windows : rfc, der: table.subarray(start, start + length) });
  }
}

/** Builds a table (tests and tools): entries in order, data after the terminator. */
export function encodeSnpCertTable(entries: readonly { readonly guid: string; readonly der: Uint8Array }[]): Uint8Array {
  const headerBytes = (entries.length + 1) * 24;
  const total = headerBytes + entries.reduce((n, e) => n + e.der.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let data = headerBytes;
  entries.forEach((entry, i) => {
    out.set(Buffer.from(entry.guid.replace(/-/g, ""), "hex"), i * 24);
    view.setUint32(i * 24 + 16, data, true);
    view.setUint32(i * 24 + 20, entry.der.byteLength, true);
    out.set(entry.der, data);
    data += entry.der.byteLength;
  });
  return out;
}

function guidString(bytes: Uint8Array, mixedEndian: boolean): string {
  const b = Uint8Array.from(bytes);
  if (mixedEndian) {
    b.subarray(0, 4).reverse();
    b.subarray(4, 6).reverse();
    b.subarray(6, 8).reverse();
  }
  const hex = Buffer.from(b).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function malformed(what: string): AttestationError {
  return new AttestationError("malformed-evidence", `SEV-SNP certificate table (auxblob): ${what}`);
}
