import { LABELS_ARRAY, type RawTensor } from "@sanctum/protocol";
import type { DatasetArray, TrainingDataset } from "@sanctum/trainer";
import type { DatasetRecord } from "../datasets/dataset-record.js";
import type { DatasetStore } from "../datasets/dataset-store.js";
import { ServerError } from "../server-error.js";

type DataDtype = DatasetArray["dtype"];

const CONSTRUCTORS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
} as const;

/** A model's data inputs (names only matter here). */
export interface ModelInputs {
  readonly names: readonly string[];
}

/**
 * Loads the datasets of a run into memory as one training set: each dataset's arrays bound to
 * the model's inputs (by name; or, when the model has one input and the dataset one array
 * besides `labels`, that array whatever its name), checked to agree across datasets (dtype
 * and row shape), and concatenated in the order given. The arrays live in SharedArrayBuffers,
 * so the trainer's and the metrics' workers read them without copies. The unsealed bytes are
 * wiped once copied.
 */
export async function loadTrainingData(store: DatasetStore, datasets: readonly DatasetRecord[], model: ModelInputs): Promise<TrainingDataset> {
  const parts: Record<string, RawTensor>[] = [];
  try {
    for (const dataset of datasets) parts.push(bind(dataset, await store.loadArrays(dataset.id), model));
    const names = [...model.names, LABELS_ARRAY];
    const first = parts[0]!;
    for (const [k, part] of parts.entries()) {
      for (const name of names) {
        const a = part[name]!;
        const b = first[name]!;
        if (a.dtype !== b.dtype || a.shape.slice(1).join(",") !== b.shape.slice(1).join(",")) {
          throw new ServerError(
            "invalid-argument",
            `datasets ${datasets[k]!.id} and ${datasets[0]!.id} disagree on '${name}': ${a.dtype} [N, ${a.shape.slice(1).join(", ")}] vs ${b.dtype} [N, ${b.shape.slice(1).join(", ")}]; a run trains on datasets of one schema`,
          );
        }
      }
    }
    const concat = (name: string): DatasetArray => {
      const dtype = first[name]!.dtype as DataDtype;
      const rows = parts.reduce((n, p) => n + p[name]!.shape[0]!, 0);
      const rowShape = first[name]!.shape.slice(1);
      const bytes = parts.reduce((n, p) => n + p[name]!.data.byteLength, 0);
      const shared = new SharedArrayBuffer(bytes);
      const view = new Uint8Array(shared);
      let at = 0;
      for (const p of parts) {
        view.set(p[name]!.data, at);
        at += p[name]!.data.byteLength;
      }
      const Ctor = CONSTRUCTORS[dtype] as unknown as { new (b: ArrayBufferLike, offset: number, length: number): DatasetArray["data"]; BYTES_PER_ELEMENT: number };
      return { dtype, shape: [rows, ...rowShape], data: new Ctor(shared, 0, bytes / Ctor.BYTES_PER_ELEMENT) } as DatasetArray;
    };
    const inputs: Record<string, DatasetArray> = {};
    for (const name of model.names) inputs[name] = concat(name);
    return { inputs, labels: concat(LABELS_ARRAY) };
  } finally {
    for (const part of parts) for (const t of Object.values(part)) t.data.fill(0);
  }
}

function bind(dataset: DatasetRecord, arrays: Record<string, RawTensor>, model: ModelInputs): Record<string, RawTensor> {
  const features = Object.keys(arrays).filter((n) => n !== LABELS_ARRAY);
  const labels = arrays[LABELS_ARRAY];
  if (labels === undefined) throw new ServerError("storage-corrupt", `dataset ${dataset.id} lost its labels array`);
  if (model.names.length === 1 && features.length === 1) return { [model.names[0]!]: arrays[features[0]!]!, [LABELS_ARRAY]: labels };
  const out: Record<string, RawTensor> = { [LABELS_ARRAY]: labels };
  for (const name of model.names) {
    const a = arrays[name];
    if (a === undefined) {
      throw new ServerError(
        "invalid-argument",
        `dataset ${dataset.id} has no array '${name}' for the model input of that name (it has ${features.join(", ")}): upload arrays named as the model inputs`,
      );
    }
    out[name] = a;
  }
  return out;
}
