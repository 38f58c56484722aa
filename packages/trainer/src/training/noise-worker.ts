import { workerData } from "node:worker_threads";
import { sampleStandardNormalInto } from "./gaussian-noise.js";
import { FAILED, FILLING, READY, STOP, type NoiseWorkerData } from "./noise-source.js";
import { createSecureRandom, createSeededRandom } from "./random-source.js";

// Fills the shared buffer with standard normals whenever the training thread hands it back.
const data = workerData as NoiseWorkerData;
const z = new Float64Array(data.values);
const state = new Int32Array(data.control);
const random = data.seed === undefined ? createSecureRandom() : createSeededRandom(data.seed, "noise");

try {
  for (;;) {
    const s = Atomics.load(state, 0);
    if (s === STOP) break;
    if (s === FILLING) {
      sampleStandardNormalInto(z, random);
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
