/**
 * Every failure code of `@sanctum/privacy`, so callers can `switch (err.code)`:
 *
 * - `invalid-argument`: a parameter is missing, not a number, or out of its range; the
 *   message names the parameter and the range.
 * - `budget-exceeded`: a reservation would take the composed epsilon of a ledger past its limit.
 * - `budget-unreachable`: no noise multiplier up to the calibration ceiling meets the target.
 * - `unknown-entry`: a ledger has no entry with the given id.
 * - `duplicate-entry`: a ledger already has an entry with the given id.
 * - `invalid-settlement`: settling with more steps than reserved, or settling twice.
 * - `numerical-failure`: the requested accuracy cannot be met in double precision (for
 *   example a delta too small for the PRV grid); the message says what to change.
 */
export type PrivacyErrorCode =
  | "invalid-argument"
  | "budget-exceeded"
  | "budget-unreachable"
  | "unknown-entry"
  | "duplicate-entry"
  | "invalid-settlement"
  | "numerical-failure";

/**
 * The one error class of the privacy package. Messages say what was wrong and what to do;
 * they contain parameters of mechanisms and budgets only, never data.
 */
export class PrivacyError extends Error {
  override readonly name = "PrivacyError";
  readonly code: PrivacyErrorCode;

  constructor(code: PrivacyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
