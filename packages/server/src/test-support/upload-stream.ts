import type { Tensor, UploadModelRequest } from "@sanctum/protocol";
import type { NpyArray } from "./npz.js";

/** The messages of an upload: the header, then chunks of `chunkBytes` (default 1 MiB). */
export async function* uploadStream(
  name: string,
  bytes: Uint8Array,
  access?: { public?: boolean; allow?: string[] },
  chunkBytes = 1 << 20,
): AsyncIterable<UploadModelRequest> {
  yield headerMessage(name, access);
  for (let i = 0; i < bytes.length; i += chunkBytes) yield chunkMessage(bytes.subarray(i, i + chunkBytes));
}

export function headerMessage(name: string, access?: { public?: boolean; allow?: string[] }): UploadModelRequest {
  return {
    $typeName: "sanctum.v1.UploadModelRequest",
    part: {
      case: "header",
      value: {
        $typeName: "sanctum.v1.UploadModelHeader",
        name,
        access: { $typeName: "sanctum.v1.Access", public: access?.public ?? false, allow: access?.allow ?? [] },
      },
    },
  };
}

export function chunkMessage(chunk: Uint8Array): UploadModelRequest {
  return { $typeName: "sanctum.v1.UploadModelRequest", part: { case: "chunk", value: chunk } };
}

/** Wire tensors from arrays read from an `.npz`. */
export function wireTensors(arrays: Record<string, NpyArray>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, a] of Object.entries(arrays)) {
    out[name] = { $typeName: "sanctum.v1.Tensor", dtype: a.dtype, shape: a.shape.map(BigInt), data: a.data };
  }
  return out;
}
