import { randomBytes } from "node:crypto";
import { ServerError } from "../server-error.js";
import { MAX_MODEL_NAME_LENGTH } from "./upload-limits.js";

const ID_PATTERN = /^mdl_[0-9a-f]{32}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A fresh model id: `mdl_` and 128 random bits in hex. */
export function newModelId(): string {
  return "mdl_" + randomBytes(16).toString("hex");
}

/** True when `ref` has the form of a model id (so it is looked up as an id, not a name). */
export function isModelId(ref: string): boolean {
  return ID_PATTERN.test(ref);
}

/** Checks a model name: 1 to 128 of [A-Za-z0-9._-], starting with a letter or digit, not id-shaped. */
export function validateModelName(name: string): string {
  if (name.length === 0) throw new ServerError("invalid-argument", "name is required: give the model a name (--name)");
  if (name.length > MAX_MODEL_NAME_LENGTH || !NAME_PATTERN.test(name) || name.startsWith("mdl_")) {
    throw new ServerError(
      "invalid-argument",
      `name must be 1 to ${MAX_MODEL_NAME_LENGTH} characters of letters, digits, '.', '_' and '-', start with a letter or digit, and not start with 'mdl_'`,
    );
  }
  return name;
}
