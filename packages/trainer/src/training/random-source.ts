import { createCipheriv, createHash, randomFillSync } from "node:crypto";

/**
 * A stream of random numbers. Every draw of the trainer (Poisson sampling, shuffling, noise)
 * goes through one of these, so the source is chosen in one place: the operating system's
 * CSPRNG by default, a keyed AES-CTR stream when a seed is given for reproducible experiments.
 */
export interface RandomSource {
  /** True when the stream is unpredictable (OS CSPRNG); false for a seeded stream. */
  readonly secure: boolean;
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float64 in the open interval (0, 1), with 53 random bits. */
  nextOpenUnit(): number;
  /** A uniform integer in [0, bound), without modulo bias (rejection sampling). */
  nextInt(bound: number): number;
  /** Fills `out` with draws of {@link nextOpenUnit} (a bulk path). */
  fillOpenUnit(out: Float64Array): void;
  /** Fills `out` with uniform 32-bit words (the bulk path used for noise). */
  fillUint32(out: Uint32Array): void;
}

/** Bytes drawn from the underlying generator at once: amortizes the syscall / cipher call. */
const POOL_BYTES = 64 * 1024;

/** 2^-53: the spacing of the 53-bit uniform grid. */
const TWO_POW_MINUS_53 = 1 / 9007199254740992;

class PooledRandomSource implements RandomSource {
  readonly secure: boolean;
  readonly #refill: (pool: Uint8Array) => void;
  readonly #pool = new Uint8Array(POOL_BYTES);
  readonly #words = new Uint32Array(this.#pool.buffer);
  #index = POOL_BYTES / 4;

  constructor(secure: boolean, refill: (pool: Uint8Array) => void) {
    this.secure = secure;
    this.#refill = refill;
  }

  nextUint32(): number {
    if (this.#index === this.#words.length) {
      this.#refill(this.#pool);
      this.#index = 0;
    }
    return this.#words[this.#index++]!;
  }

  nextOpenUnit(): number {
    // 53 bits: 27 high bits of one word and 26 of the next, as in the classic genrand_res53,
    // shifted by half a grid step so that 0 is never returned (log(0) in Box-Muller / geometric
    // skipping would be -Infinity) and the distribution stays symmetric in (0, 1).
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b + 0.5) * TWO_POW_MINUS_53;
  }

  fillUint32(out: Uint32Array): void {
    let done = 0;
    while (done < out.length) {
      if (this.#index === this.#words.length) {
        this.#refill(this.#pool);
        this.#index = 0;
      }
      const take = Math.min(out.length - done, this.#words.length - this.#index);
      out.set(this.#words.subarray(this.#index, this.#index + take), done);
      this.#index += take;
      done += take;
    }
  }

  fillOpenUnit(out: Float64Array): void {
    const words = this.#words;
    let index = this.#index;
    for (let i = 0; i < out.length; i++) {
      if (index + 2 > words.length) {
        // An odd word left over is dropped: still uniform, the pool is refilled.
        this.#refill(this.#pool);
        index = 0;
      }
      const a = words[index++]! >>> 5;
      const b = words[index++]! >>> 6;
      out[i] = (a * 67108864 + b + 0.5) * TWO_POW_MINUS_53;
    }
    this.#index = index;
  }

  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 0x100000000) {
      throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    }
    // Lemire-free simple rejection: accept words below the largest multiple of bound.
    const limit = 0x100000000 - (0x100000000 % bound);
    for (;;) {
      const word = this.nextUint32();
      if (word < limit) return word % bound;
    }
  }
}

/**
 * The operating system's CSPRNG (node:crypto randomFillSync). Used for the DP noise always
 * (unless a test explicitly asks otherwise) and for sampling when no seed is given: the
 * privacy analysis of DP-SGD assumes the noise and the Poisson sample are unpredictable.
 */
export function createSecureRandom(): RandomSource {
  return new PooledRandomSource(true, (pool) => {
    randomFillSync(pool);
  });
}

/**
 * A reproducible stream: the AES-256-CTR keystream under key SHA-256("sanctum-seed-v1" ||
 * stream || seed). Statistically as good as the secure source, but anyone who knows the seed
 * can predict it, so it is only for experiments (sampling order, initialization) and tests;
 * never for DP noise in a run whose guarantee matters. `stream` separates independent uses
 * (sampling, noise) of one seed.
 */
export function createSeededRandom(seed: string | number, stream: string): RandomSource {
  const key = createHash("sha256").update("sanctum-seed-v1\0").update(stream).update("\0").update(String(seed)).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = new Uint8Array(POOL_BYTES);
  return new PooledRandomSource(false, (pool) => {
    const block = cipher.update(zeros);
    pool.set(block.subarray(0, POOL_BYTES));
  });
}
