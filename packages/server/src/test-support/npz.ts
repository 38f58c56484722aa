import { inflateRawSync } from "node:zlib";

/** An array read from a `.npy` entry: dtype in our names, shape, little-endian bytes. */
export interface NpyArray {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: Uint8Array;
}

const DESCR: Record<string, string> = {
  "<f4": "float32",
  "<f8": "float64",
  "<f2": "float16",
  "|i1": "int8",
  "<i2": "int16",
  "<i4": "int32",
  "<i8": "int64",
  "|u1": "uint8",
  "<u2": "uint16",
  "<u4": "uint32",
  "<u8": "uint64",
  "|b1": "bool",
};

/** Reads an `.npz` (zip of `.npy`, via the central directory) for test fixtures. */
export function readNpz(bytes: Uint8Array): Record<string, NpyArray> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip file");
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Record<string, NpyArray> = {};
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressed);
    const entry = method === 0 ? raw : inflateRawSync(raw);
    out[name.replace(/\.npy$/, "")] = readNpy(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Reads one `.npy` (format 1.0 to 3.0, C order). */
export function readNpy(buf: Buffer): NpyArray {
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const offset = major === 1 ? 10 : 12;
  const header = buf.subarray(offset, offset + headerLen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1]!;
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)![1]!;
  if (/'fortran_order':\s*True/.test(header)) throw new Error("fortran order not supported");
  const dtype = DESCR[descr];
  if (dtype === undefined) throw new Error(`unsupported npy dtype ${descr}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const data = new Uint8Array(buf.subarray(offset + headerLen));
  return { dtype, shape, data };
}
