/**
 * `@sanctum/privacy`: differential-privacy accounting for Sanctum. Pure arithmetic, no I/O.
 *
 * - {@link computeEpsilon}: epsilon of a history of Poisson-subsampled Gaussian mechanisms
 *   with the RDP accountant (Opacus/TF Privacy compatible) or the PRV accountant (tighter).
 * - {@link calibrateNoiseMultiplier}: the smallest noise multiplier meeting a target epsilon.
 * - {@link createBudgetLedger}: a dataset's budget, the mechanisms charged against it, and
 *   reservation and settlement of training runs.
 *
 * Everything else in `src/` is internal.
 */
export { PrivacyError } from "./privacy-error.js";
export type { PrivacyErrorCode } from "./privacy-error.js";
export { ACCOUNTANT_NAMES, MAX_NOISE_MULTIPLIER, validateMechanism } from "./mechanism.js";
export type { AccountantName, Mechanism } from "./mechanism.js";
export { computeEpsilon } from "./compute-epsilon.js";
export type { ComputeEpsilonOptions, EpsilonResult } from "./compute-epsilon.js";
export { computeRdp, rdpToEpsilon, DEFAULT_RDP_ORDERS, TF_PRIVACY_RDP_ORDERS } from "./rdp.js";
export type { RdpEpsilon } from "./rdp.js";
export { calibrateNoiseMultiplier } from "./calibrate-noise-multiplier.js";
export type { CalibrateNoiseMultiplierOptions, CalibrationResult } from "./calibrate-noise-multiplier.js";
export { createBudgetLedger } from "./budget-ledger.js";
export type { BudgetLedger, BudgetLedgerJson, BudgetLedgerOptions, BudgetLimit, LedgerEntry } from "./budget-ledger.js";
