import { TrainerError } from "../../trainer-error.js";
import { KERNELS_WASM_BASE64 } from "./kernels-binary.js";

/** The exports of kernels.wat: byte offsets into the arena's memory and element counts. */
interface KernelExports {
  sgd(p: number, g: number, n: number, lr: number, wd: number, gs: number): void;
  sgd_momentum(p: number, g: number, buf: number, n: number, lr: number, wd: number, gs: number, keep: number, damp: number, cd: number, cb: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, gs: number, coupled: number, decay: number, b1: number, b2: number, step: number, ibc2: number, eps: number): void;
  add_into(dst: number, src: number, n: number): void;
  add_noise(g: number, z: number, n: number, std: number, scale: number): void;
}

const PAGE_BYTES = 65536;
/** wasm32's limit: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;

let compiled: WebAssembly.Module | undefined;

function kernelModule(): WebAssembly.Module {
  // Compiled once per thread; small enough for synchronous compilation everywhere.
  return (compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, "base64")));
}

/**
 * Bytes a float32 array of `length` elements takes in an arena: padded to a multiple of 4 elements,
 * since every kernel runs 4 elements at a time.
 */
export function arenaBytes(length: number): number {
  return Math.ceil(length / 4) * 16;
}

/**
 * A fixed block of WebAssembly memory that the training loop's arrays live in, so the SIMD
 * kernels (kernels.wat) update them in place, and onnxruntime reads weights from and writes
 * gradients into the same bytes (no copies). Its size is fixed at creation: growing a wasm
 * memory detaches every view of it. Arrays start at 16-byte boundaries and own their padding
 * up to the next one, as the kernels (4 lanes, no scalar tail) need.
 */
export class FloatArena {
  readonly #memory: WebAssembly.Memory;
  readonly #kernels: KernelExports;
  readonly #owned = new WeakSet<ArrayBufferView>();
  #next = 0;

  /** An arena of at least `bytes` bytes (see {@link arenaBytes}); throws past wasm32's 4 GiB. */
  constructor(bytes: number) {
    const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
    if (pages > MAX_PAGES) {
      throw new TrainerError("invalid-model", `the model's parameters and optimizer state need ${(bytes / 2 ** 30).toFixed(1)} GiB, more than the trainer's 4 GiB of WebAssembly memory; train a smaller model (up to about 200 million parameters)`);
    }
    this.#memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(kernelModule(), { env: { memory: this.#memory } });
    this.#kernels = instance.exports as unknown as KernelExports;
  }

  /** Bytes not yet handed out. */
  get freeBytes(): number {
    return this.#memory.buffer.byteLength - this.#next;
  }

  /** A zeroed float32 array of `length` elements. */
  floats(length: number): Float32Array {
    const view = new Float32Array(this.#memory.buffer, this.#take(arenaBytes(length)), length);
    this.#owned.add(view);
    return view;
  }

  /** True when `array` was allocated by this arena (so the kernels may run on it). */
  owns(array: ArrayBufferView): boolean {
    return this.#owned.has(array);
  }

  /** The kernels, on arrays of this arena. Callers check {@link owns} first. */
  get kernels(): KernelExports {
    return this.#kernels;
  }

  #take(bytes: number): number {
    if (bytes > this.freeBytes) {
      throw new TrainerError("invalid-argument", `the trainer's vector arena is full (${this.freeBytes} bytes free, ${bytes} asked); this is a bug, please report it`);
    }
    const offset = this.#next;
    this.#next += bytes;
    return offset;
  }
}
