import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { isPublicKeyId, UploadDatasetRequestSchema, type DatasetService, type UploadDatasetRequest } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { encodeDatasetUpload, readDatasetFile } from "./dataset-file.js";
import { callTrainingRpc } from "./map-training-error.js";
import { UPLOAD_CHUNK_BYTES } from "./models-api.js";
import { budgetFromWire, datasetInfoFromWire, type DatasetBudget, type DatasetInfo, type WeightsRelease } from "./training-types.js";
import type { TensorMap } from "./typed-tensor.js";

/** Options of {@link DatasetsApi.upload}. */
export interface DatasetUploadOptions {
  /** 1 to 128 of [A-Za-z0-9._-], unique among your datasets. */
  readonly name: string;
  /** The privacy budget: the most epsilon all runs on the dataset may spend together, in (0, 100]. */
  readonly epsilon: number;
  /** Delta of the budget, in (0, 1/N); default min(1e-5, 1 / (10 N)). */
  readonly delta?: number;
  /** Public key ids allowed to train on it besides you; default nobody else. */
  readonly trainers?: readonly string[];
  /** Who may download weights trained on it; default "owner". */
  readonly weightsRelease?: WeightsRelease;
  /** `.csv` files: the label column (required there). */
  readonly label?: string;
  /** `.csv` files: the feature columns, in order (default all but the label). */
  readonly features?: readonly string[];
  /** Called after each chunk with bytes sent and the total (of the safetensors encoding). */
  readonly onProgress?: (bytesSent: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

/** Datasets for remote training: uploaded sealed into the TEE, never readable back. */
export interface DatasetsApi {
  /**
   * Uploads a dataset from a file (`.npz`, `.safetensors`, or `.csv` with `label`) or from
   * arrays (one per model input plus `labels`). It is validated here and again by the server,
   * converted to safetensors and streamed in chunks of at most 1 MiB.
   */
  upload(source: string | TensorMap, options: DatasetUploadOptions): Promise<DatasetInfo>;
  /** Datasets you own or may train on (metadata only). */
  list(): Promise<DatasetInfo[]>;
  get(id: string): Promise<DatasetInfo>;
  /** The ledger of a dataset you own: limit, composed spent epsilon, entries. */
  budget(id: string): Promise<DatasetBudget>;
  /** Deletes the records of a dataset you own; its ledger and audit log stay. Returns the id. */
  delete(id: string): Promise<string>;
}

/** What the datasets API needs from the attested connection. */
export interface DatasetsApiContext {
  readonly rpc: Client<typeof DatasetService>;
  readonly url: string;
  readonly ensureOpen: () => void;
}

export function createDatasetsApi(ctx: DatasetsApiContext): DatasetsApi {
  const call = <T>(action: string, run: () => Promise<T>): Promise<T> => callTrainingRpc(ctx, action, run);
  const requireId = (id: string) => {
    if (typeof id !== "string" || id.trim() === "") throw new ClientError("invalid-argument", "dataset id must be a non-empty string (ds_...)");
    return id;
  };
  return {
    async upload(source, options) {
      if (options === undefined || typeof options.name !== "string") throw new ClientError("invalid-argument", "upload: options.name is required");
      if (!(typeof options.epsilon === "number" && options.epsilon > 0 && options.epsilon <= 100)) {
        throw new ClientError("invalid-argument", `upload: epsilon (the budget) must be a number in (0, 100], got ${String(options.epsilon)}`);
      }
      if (options.delta !== undefined && !(options.delta > 0 && options.delta < 1)) throw new ClientError("invalid-argument", `upload: delta must be in (0, 1), got ${options.delta}`);
      for (const key of options.trainers ?? []) {
        if (!isPublicKeyId(key)) throw new ClientError("invalid-argument", `upload: trainer '${String(key).slice(0, 60)}' is not a public key id ('sanctum keygen' prints one)`);
      }
      const arrays =
        typeof source === "string"
          ? await readDatasetFile(source, { ...(options.label === undefined ? {} : { label: options.label }), ...(options.features === undefined ? {} : { features: options.features }) })
          : source;
      const { bytes } = encodeDatasetUpload(arrays);
      const header = create(UploadDatasetRequestSchema, {
        part: {
          case: "header",
          value: {
            name: options.name,
            epsilon: options.epsilon,
            delta: options.delta ?? 0,
            policy: { trainers: [...(options.trainers ?? [])], weightsRelease: options.weightsRelease ?? "" },
            format: "safetensors",
          },
        },
      });
      async function* requests(): AsyncGenerator<UploadDatasetRequest> {
        yield header;
        for (let at = 0; at < bytes.byteLength; at += UPLOAD_CHUNK_BYTES) {
          const chunk = bytes.subarray(at, at + UPLOAD_CHUNK_BYTES);
          yield create(UploadDatasetRequestSchema, { part: { case: "chunk", value: chunk } });
          options.onProgress?.(at + chunk.byteLength, bytes.byteLength);
        }
      }
      try {
        const response = await call(`upload dataset '${options.name}'`, () =>
          ctx.rpc.uploadDataset(requests(), options.signal === undefined ? {} : { signal: options.signal }),
        );
        if (response.dataset === undefined) throw new ClientError("server-error", "upload dataset: the server answered without the dataset's description");
        return datasetInfoFromWire(response.dataset);
      } finally {
        bytes.fill(0); // the plaintext encoding does not linger
      }
    },
    async list() {
      const response = await call("list datasets", () => ctx.rpc.listDatasets({}));
      return response.datasets.map(datasetInfoFromWire);
    },
    async get(id) {
      const response = await call(`get dataset ${id}`, () => ctx.rpc.getDataset({ dataset: requireId(id) }));
      if (response.dataset === undefined) throw new ClientError("server-error", "get dataset: the server answered without the dataset");
      return datasetInfoFromWire(response.dataset);
    },
    async budget(id) {
      return budgetFromWire(await call(`read the budget of dataset ${id}`, () => ctx.rpc.getDatasetBudget({ dataset: requireId(id) })));
    },
    async delete(id) {
      return (await call(`delete dataset ${id}`, () => ctx.rpc.deleteDataset({ dataset: requireId(id) }))).id;
    },
  };
}
