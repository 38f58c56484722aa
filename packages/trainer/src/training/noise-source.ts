import { Worker } from "node:worker_threads";
import { TrainerError } from "../trainer-error.js";
import { sampleStandardNormalInto } from "./gaussian-noise.js";
import type { RandomSource } from "./random-source.js";
import type { FloatArena } from "./simd/float-arena.js";

/** Adds the DP noise of one logical step to the summed gradients. */
export interface NoiseSource {
  /**
   * g = (g + N(0, std^2)) * scale for every element of every array, in place, computed in
   * float64 and rounded to float32 once (noise and averaging fused in one pass).
   */
  addTo(grads: readonly Float32Array[], std: number, scale: number): void;
  close(): Promise<void>;
}

/** Draws the noise on the calling thread when it is needed. */
export function createInlineNoise(random: RandomSource): NoiseSource {
  return {
    addTo: (grads, std, scale) => {
      const z = new Float64Array(8192);
      for (const g of grads) {
        for (let start = 0; start < g.length; start += z.length) {
          const n = Math.min(z.length, g.length - start);
          sampleStandardNormalInto(n === z.length ? z : z.subarray(0, n), random);
          for (let i = 0; i < n; i++) g[start + i] = (g[start + i]! + std * z[i]!) * scale;
        }
      }
    },
    close: async () => {},
  };
}

const FILLING = 0;
const READY = 1;
const STOP = 2;
/** Set by the noise worker when it fails (its 'error' event cannot reach a thread blocked in Atomics.wait). */
const FAILED = 3;

/** What the noise worker receives. */
export interface NoiseWorkerData {
  /** Float32Array of standard normals (drawn in float64, stored rounded), one per parameter element. */
  readonly values: SharedArrayBuffer;
  /** Int32Array[1]: FILLING, READY or STOP. */
  readonly control: SharedArrayBuffer;
  /** Only for insecureReproducibleNoise: the seed of the noise stream. */
  readonly seed: string | number | undefined;
}

/**
 * Draws the next step's standard normals on another thread while onnxruntime runs the current
 * step's physical batches, so the Gaussian sampling (about 6 ns per parameter) overlaps the
 * graph instead of adding to it. One shared buffer: the worker fills it with normals drawn in
 * float64 and stored as float32 (half the bytes to move; a normal's float32 rounding is far
 * below what the float32 gradients resolve), the step takes it (adding std * z in float64 and
 * rounding once to float32) and hands it back to refill. The worker uses the OS CSPRNG unless
 * `seed` is given (insecure reproducible noise, tests). Gradients allocated in `arena` get their
 * noise from its SIMD kernel, through a staging array there (the worker's buffer is shared
 * memory, which neither the kernels nor onnxruntime can read).
 */
export function createPrefetchedNoise(totalLength: number, seed: string | number | undefined, arena?: FloatArena): NoiseSource {
  const values = new SharedArrayBuffer(4 * totalLength);
  const control = new SharedArrayBuffer(4);
  const z = new Float32Array(values);
  const state = new Int32Array(control);
  const data: NoiseWorkerData = { values, control, seed };
  const worker = new Worker(new URL("./noise-worker.js", import.meta.url), { workerData: data });
  let failure: Error | undefined;
  worker.on("error", (err) => {
    failure = err;
  });
  worker.unref();
  let staging: Float32Array | undefined;
  // Where `g`'s noise goes for the kernel: a view of one staging array in the arena, sized once
  // for the largest gradient of the first step (the trainer passes the same arrays every step).
  // Undefined for gradients outside the arena, or larger: those take the JavaScript loop.
  const stagingFor = (g: Float32Array, grads: readonly Float32Array[]): Float32Array | undefined => {
    if (arena === undefined || !arena.owns(g)) return undefined;
    staging ??= arena.floats(Math.max(...grads.map((x) => x.length)));
    return g.length <= staging.length ? staging.subarray(0, g.length) : undefined;
  };
  return {
    addTo: (grads, std, scale) => {
      // Wait for the buffer (usually already full: it was drawn during the graph runs).
      for (let waitedMs = 0; Atomics.load(state, 0) !== READY; waitedMs += 1000) {
        if (failure !== undefined || Atomics.load(state, 0) === FAILED || waitedMs >= 120_000) {
          throw new TrainerError("worker-failed", "the noise thread failed or stalled; the step was not released", failure === undefined ? undefined : { cause: failure });
        }
        Atomics.wait(state, 0, FILLING, 1000);
      }
      let offset = 0;
      for (const g of grads) {
        const zk = stagingFor(g, grads);
        if (zk !== undefined) {
          zk.set(z.subarray(offset, offset + g.length));
          arena!.kernels.add_noise(g.byteOffset, zk.byteOffset, g.length, std, scale);
        } else {
          for (let i = 0; i < g.length; i++) g[i] = (g[i]! + std * z[offset + i]!) * scale;
        }
        offset += g.length;
      }
      Atomics.store(state, 0, FILLING);
      Atomics.notify(state, 0);
    },
    close: async () => {
      Atomics.store(state, 0, STOP);
      Atomics.notify(state, 0);
      await worker.terminate();
    },
  };
}

export { FAILED, FILLING, READY, STOP };
