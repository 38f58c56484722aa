import { CliError } from "../cli-error.js";

/** Parses a numeric flag; the error names the flag and its allowed range. */
export function parseNumber(flag: string, text: string, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean; exclusiveMax?: boolean }): number {
  const value = Number(text);
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  const ok =
    text.trim() !== "" && Number.isFinite(value) && (range.integer !== true || Number.isInteger(value)) &&
    (range.exclusiveMin === true ? value > min : value >= min) && (range.exclusiveMax === true ? value < max : value <= max);
  if (!ok) {
    const lo = range.exclusiveMin === true ? "(" : "[";
    const hi = range.exclusiveMax === true || max === Infinity ? ")" : "]";
    const kind = range.integer === true ? "an integer" : "a number";
    throw new CliError(`${flag} must be ${kind} in ${lo}${min}, ${max === Infinity ? "inf" : max}${hi}, got '${text}'`, { exitCode: 2 });
  }
  return value;
}
