import { unzipSync } from "fflate";

/** One array of an .npz file (test helper). */
export interface NpzArray {
  readonly dtype: "float32" | "float64" | "int64" | "int32" | "bool";
  readonly shape: number[];
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

const dtypes: Record<string, NpzArray["dtype"]> = { "<f4": "float32", "<f8": "float64", "<i8": "int64", "<i4": "int32", "|b1": "bool" };

/** Reads a NumPy .npz (a zip of .npy v1/v2 files) for tests. */
export function readNpz(bytes: Uint8Array): Map<string, NpzArray> {
  const out = new Map<string, NpzArray>();
  for (const [file, content] of Object.entries(unzipSync(bytes))) {
    out.set(file.replace(/\.npy$/, ""), readNpy(content));
  }
  return out;
}

function readNpy(b: Uint8Array): NpzArray {
  const major = b[6] ?? 1;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(b.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? "";
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const dtype = dtypes[descr];
  if (dtype === undefined || fortran) throw new Error(`unsupported npy dtype ${descr}`);
  const body = b.slice(start + headerLen);
  const data = dtype === "float32" ? new Float32Array(body.buffer) : dtype === "float64" ? new Float64Array(body.buffer)
    : dtype === "int64" ? new BigInt64Array(body.buffer) : dtype === "int32" ? new Int32Array(body.buffer) : new Uint8Array(body.buffer);
  return { dtype, shape, data };
}
