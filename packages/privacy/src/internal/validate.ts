import { PrivacyError } from "../privacy-error.js";

/**
 * Boundary checks shared by the public functions. Each throws `invalid-argument` with a
 * message that names the parameter and its allowed range (STYLE.md rule 6).
 */

function describe(value: unknown): string {
  return typeof value === "number" ? String(value) : typeof value;
}

/** A finite number in the open or closed interval described by the flags. */
export function requireNumber(
  name: string,
  value: unknown,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean },
): number {
  const { min, max, minExclusive = false, maxExclusive = false } = range;
  const lo = min === undefined ? "-inf" : String(min);
  const hi = max === undefined ? "inf" : String(max);
  const text = `${minExclusive || min === undefined ? "(" : "["}${lo}, ${hi}${maxExclusive || max === undefined ? ")" : "]"}`;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || (maxExclusive ? value < max : value <= max));
  if (!ok) {
    throw new PrivacyError("invalid-argument", `${name} must be a finite number in ${text}, got ${describe(value)}`);
  }
  return value as number;
}

/** A safe integer in [min, max]. */
export function requireInteger(name: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new PrivacyError("invalid-argument", `${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

/** delta of an (epsilon, delta) guarantee: a probability strictly between 0 and 1. */
export function requireDelta(name: string, value: unknown): number {
  return requireNumber(name, value, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
}
