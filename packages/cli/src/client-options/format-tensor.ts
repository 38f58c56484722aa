import { encodeJsonTensors, type TypedTensor } from "@sanctum/client";

/** A tensor's values for a terminal: nested rows, at most `maxElements` shown. */
export function formatTensor(tensor: TypedTensor, maxElements = 64): string {
  const values = encodeJsonTensors({ t: tensor }).t!.data;
  const shown = values.slice(0, maxElements).map((v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v));
  const nest = (flat: unknown[], shape: readonly number[]): unknown => {
    if (shape.length <= 1) return flat;
    const step = shape.slice(1).reduce((a, b) => a * b, 1);
    const rows: unknown[] = [];
    for (let i = 0; i < flat.length; i += step) rows.push(nest(flat.slice(i, i + step), shape.slice(1)));
    return rows;
  };
  const text = JSON.stringify(values.length <= maxElements ? nest(shown, tensor.shape) : shown);
  return values.length <= maxElements ? text : `${text.slice(0, -1)}, ... ${values.length - maxElements} more]`;
}
