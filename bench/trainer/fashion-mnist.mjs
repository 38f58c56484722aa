// Loads Debian's dataset-fashion-mnist (IDX files, gzip) as trainer datasets:
// image float32 [N,1,28,28] standardized with the train-set mean/std, labels int64 [N].
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const DIR = "/usr/share/datasets/fashion-mnist";
const MEAN = 0.286041;
const STD = 0.353024;

function readIdx(file, magic, headerBytes) {
  const bytes = gunzipSync(readFileSync(`${DIR}/${file}`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${file}: bad IDX magic`);
  return { count: view.getUint32(4), data: bytes.subarray(headerBytes) };
}

function split(prefix, limit) {
  const images = readIdx(`${prefix}-images-idx3-ubyte.gz`, 0x803, 16);
  const labels = readIdx(`${prefix}-labels-idx1-ubyte.gz`, 0x801, 8);
  const n = Math.min(images.count, limit ?? Infinity);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (images.data[i] / 255 - MEAN) / STD;
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) y[i] = BigInt(labels.data[i]);
  return {
    inputs: { image: { dtype: "float32", shape: [n, 1, 28, 28], data: x } },
    labels: { dtype: "int64", shape: [n], data: y },
  };
}

/** { train, test } as TrainingDataset objects; `limit` caps the number of records (smoke runs). */
export function loadFashionMnist(limit) {
  return { train: split("train", limit), test: split("t10k", limit) };
}
