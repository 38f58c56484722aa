import { unzipSync, zipSync, type Zippable } from "fflate";
import { ClientError } from "./client-error.js";
import { decodeNpy, encodeNpy } from "./npy.js";
import type { TensorMap, TypedTensor } from "./typed-tensor.js";

/** Options of {@link encodeNpz}. */
export interface EncodeNpzOptions {
  /** Deflate the arrays, as numpy.savez_compressed does; default false (numpy.savez). */
  readonly compress?: boolean;
}

/** Default cap on what an archive may unzip to (a zip bomb declares small data and inflates a lot). */
export const MAX_NPZ_UNZIPPED_BYTES = 4 * 2 ** 30;

/**
 * Parses a .npz file (numpy.savez or numpy.savez_compressed, zip64 included): a zip of
 * `NAME.npy` members, returned keyed by NAME. `what` names the file in messages. Refuses
 * archives whose members unzip to more than `maxBytes` in total (their declared sizes, which
 * also bound what is inflated).
 */
export function decodeNpz(bytes: Uint8Array, what = "the .npz data", maxBytes = MAX_NPZ_UNZIPPED_BYTES): Record<string, TypedTensor> {
  let files: Record<string, Uint8Array>;
  let total = 0;
  try {
    files = unzipSync(bytes, { filter: (file) => (total += file.originalSize) <= maxBytes });
  } catch (cause) {
    throw new ClientError("invalid-file", `${what} is not a valid .npz (zip) archive: save it with numpy.savez`, { cause });
  }
  if (total > maxBytes) {
    throw new ClientError("invalid-file", `${what} unzips to ${(total / 2 ** 30).toFixed(2)} GiB, more than the ${(maxBytes / 2 ** 30).toFixed(2)} GiB this reader accepts: split the data into smaller files`);
  }
  const out: Record<string, TypedTensor> = {};
  for (const [member, content] of Object.entries(files)) {
    if (member.endsWith("/")) continue;
    if (!member.endsWith(".npy")) {
      throw new ClientError("invalid-file", `${what} holds '${member}', which is not a .npy array: an .npz must hold only arrays`);
    }
    const name = member.slice(0, -4);
    out[name] = decodeNpy(content, `array '${name}' of ${what}`);
  }
  if (Object.keys(out).length === 0) throw new ClientError("invalid-file", `${what} holds no arrays`);
  return out;
}

/** Writes named tensors as a .npz archive that numpy.load reads. */
export function encodeNpz(tensors: TensorMap, options: EncodeNpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name === "" || name.includes("/")) throw new ClientError("invalid-tensor", `tensor name '${name}' cannot be an .npz member name`);
    files[`${name}.npy`] = encodeNpy(tensor);
  }
  // mtime is fixed so that the same tensors always give the same bytes.
  return zipSync(files, { level: options.compress === true ? 6 : 0, mtime: new Date("1980-01-01T00:00:00Z") });
}
