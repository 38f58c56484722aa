import { workerData } from "node:worker_threads";
import { sampleStandardNormalInto } from "./gaussian-noise.js";
import { FAILED, FILLING, READY, STOP, type NoiseWorkerData } from "./noise-source.js";
import { createSecureRandom, createSeededRandom } from "./random-source.js";

// Fills the shared buffer with standard normals whenever the training thread hands it back.
const data = workerData as NoiseWorkerData;
const z = new Float32Array(data.values);
// Drawn in float64 a chunk at a time, stored rounded to float32 (TypedArray.set converts).
const chunk = new Float64Array(Math.min(65536, z.length));
const state = new Int32Array(data.control);
const random = data.seed === undefined ? createSecureRandom() : createSeededRandom(data.seed, "noise");

try {
  for (;;) {
    const s = Atomics.load(state, 0);
    if (s === STOP) break;
    if (s === FILLING) {
      for (let start = 0; start < z.length; start += chunk.length) {
        const n = Math.min(chunk.length, z.length - start);
        const part = n === chunk.length ? chunk : chunk.subarray(0, n);
        sampleStandardNormalInto(part, random);
        z.set(part, start);
      }
      Atomics.store(state, 0, READY);
      Atomics.notify(state, 0);
    } else {
      Atomics.wait(state, 0, READY);
    }
  }
} catch (err) {
  // The training thread may be blocked waiting for the buffer: tell it through the control word.
  Atomics.store(state, 0, FAILED);
  Atomics.notify(state, 0);
  throw err;
}
