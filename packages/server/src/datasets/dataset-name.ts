import { ServerError } from "../server-error.js";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a dataset name: 1 to 128 of [A-Za-z0-9._-], starting with a letter or digit, not id-shaped. */
export function validateDatasetName(name: string): string {
  if (name.length === 0) throw new ServerError("invalid-argument", "name is required: give the dataset a name (--name)");
  if (!NAME_PATTERN.test(name) || name.startsWith("ds_")) {
    throw new ServerError(
      "invalid-argument",
      "name must be 1 to 128 characters of letters, digits, '.', '_' and '-', start with a letter or digit, and not start with 'ds_'",
    );
  }
  return name;
}
