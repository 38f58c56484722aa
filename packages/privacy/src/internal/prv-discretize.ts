import type { Mechanism } from "../mechanism.js";
import { PrivacyError } from "../privacy-error.js";
import { createSubsampledGaussianPrv } from "./subsampled-gaussian-prv.js";

/** Tail mass below which the PMF's right tail is lumped into the last bin (2^-100). */
const NEGLIGIBLE_MASS = 2 ** -100;

/** The discretized PMF of one mechanism's single-step PRV on the grid t_i = tMin + i dt. */
export function discretize(
  mechanism: Mechanism,
  size: number,
  dt: number,
  tMin: number,
  /** Where to write the PMF (every entry is overwritten); a new array by default. */
  into?: Float64Array,
): { pmf: Float64Array; shift: number } {
  const prv = createSubsampledGaussianPrv(mechanism.sampleRate, mechanism.noiseMultiplier);
  const tMax = tMin + (size - 1) * dt;
  // Truncated to [tMin, tMax] and renormalized, as Opacus's TruncatedPrivacyRandomVariable.
  const cdfMin = prv.cdf(tMin);
  const sfMax = prv.sf(tMax);
  const mass = 1 - cdfMin - sfMax;
  const pmf = into ?? new Float64Array(size);
  if (pmf.length !== size) throw new RangeError(`PMF buffer must have length ${size}, got ${pmf.length}`);
  // Bin i covers [t_i - dt/2, t_i + dt/2] clipped to [tMin, tMax]. Left of the median the
  // CDF is differenced, right of it the survival function, so tail bins keep their
  // relative accuracy.
  let previousLeft = 0; // cdf(edge) - cdfMin on the left branch
  let previousRight = 0; // sf(edge) - sfMax on the right branch
  let onLeft = true;
  let sumT = 0;
  for (let i = 0; i < size; i++) {
    const edge = i === size - 1 ? tMax : Math.min(tMax, tMin + (i + 0.5) * dt);
    let p: number;
    if (edge <= prv.lowerSupport && tMin <= prv.lowerSupport) {
      p = 0; // no mass below log(1 - q)
      previousLeft = 0;
    } else if (onLeft) {
      const c = prv.cdf(edge);
      if (c < 0.5) {
        const left = c - cdfMin;
        p = left - previousLeft;
        previousLeft = left;
      } else {
        onLeft = false;
        const right = prv.sf(edge) - sfMax;
        // mass of [previousEdge, edge] = (1 - sfMax - cdfMin) - previousLeft - right
        p = mass - previousLeft - right;
        previousRight = right;
      }
    } else {
      const right = prv.sf(edge) - sfMax;
      p = previousRight - right;
      previousRight = right;
      if (right < NEGLIGIBLE_MASS) {
        // What is left of the tail cannot matter next to deltaError and double rounding:
        // move it to the last bin (more loss, so still a safe bound) and stop evaluating.
        pmf[i] = p / mass;
        sumT += (tMin + i * dt) * (p / mass);
        pmf.fill(0, i + 1);
        if (i < size - 1 && right > 0) {
          pmf[size - 1] = right / mass;
          sumT += (tMin + (size - 1) * dt) * (right / mass);
        }
        break;
      }
    }
    const value = p / mass;
    pmf[i] = value;
    sumT += (tMin + i * dt) * value;
  }
  // Mean correction (Gopi et al. Section 5.2): shift the grid so the discrete mean equals
  // the continuous one.
  const shift = prv.truncatedMean(tMin, tMax) - sumT;
  if (!(Math.abs(shift) < dt / 2)) {
    throw new PrivacyError(
      "numerical-failure",
      `PRV discretization of (noiseMultiplier ${mechanism.noiseMultiplier}, sampleRate ${mechanism.sampleRate}) moved its mean by ${shift}, more than half a grid step; use the rdp accountant or a larger epsError`,
    );
  }
  return { pmf, shift };
}

