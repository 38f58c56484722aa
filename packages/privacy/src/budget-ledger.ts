import { PrivacyError } from "./privacy-error.js";
import { resolveAccountant, validateMechanism } from "./mechanism.js";
import type { AccountantName, Mechanism } from "./mechanism.js";
import { computeEpsilon } from "./compute-epsilon.js";
import { requireDelta, requireInteger, requireNumber } from "./internal/validate.js";

/** A dataset's privacy budget: every release derived from it together is (epsilon, delta)-DP. */
export interface BudgetLimit {
  /** In (0, 1e6]. */
  readonly epsilon: number;
  /** In (0, 1). */
  readonly delta: number;
}

/**
 * One charge on a ledger. `reserved`: planned before a run starts, counted in full because
 * the run may execute all of it. `settled`: the steps the run actually may have executed.
 */
export interface LedgerEntry {
  /** Unique within the ledger; 1 to 256 characters. */
  readonly id: string;
  readonly mechanism: Mechanism;
  readonly state: "reserved" | "settled";
  /** Free text for people (a job name); at most 256 characters. */
  readonly label?: string;
}

/** The plain-data form of a ledger, for persistence. */
export interface BudgetLedgerJson {
  readonly limit: BudgetLimit;
  readonly entries: readonly LedgerEntry[];
}

/**
 * A budget and the mechanisms charged against it. Immutable: `reserve` and `settle` return
 * new ledgers, so a caller persists the new one and only then swaps it in.
 */
export interface BudgetLedger {
  readonly limit: BudgetLimit;
  readonly entries: readonly LedgerEntry[];
  /** The mechanisms of every entry, reserved and settled. */
  readonly history: readonly Mechanism[];
  /** Composed epsilon of all entries at `limit.delta` (never a sum of epsilons). */
  spent(accountant?: AccountantName): number;
  /** Whether composing `mechanism` with every entry stays within `limit.epsilon`. */
  canAfford(mechanism: Mechanism, accountant?: AccountantName): boolean;
  /**
   * Charges a planned run in full before it starts.
   * @throws PrivacyError `budget-exceeded` if it does not fit; `duplicate-entry` if `id` is taken.
   */
  reserve(id: string, mechanism: Mechanism, label?: string): BudgetLedger;
  /**
   * Replaces a reservation of N steps by the k <= N steps the run may have executed. The
   * entry is kept (even at 0 steps) so the record stays complete.
   * @throws PrivacyError `unknown-entry`, or `invalid-settlement` if k > N or it is settled.
   */
  settle(id: string, stepsRun: number): BudgetLedger;
  toJSON(): BudgetLedgerJson;
}

/** Options of {@link createBudgetLedger}. */
export interface BudgetLedgerOptions {
  /** Accountant used by `canAfford` and `reserve`, and by `spent` by default; default `"rdp"`. */
  readonly accountant?: AccountantName;
}

const MAX_TEXT = 256;

function validateLimit(limit: unknown): BudgetLimit {
  if (typeof limit !== "object" || limit === null) {
    throw new PrivacyError("invalid-argument", "limit must be an object { epsilon, delta }");
  }
  const l = limit as Record<string, unknown>;
  return Object.freeze({
    epsilon: requireNumber("limit.epsilon", l["epsilon"], { min: 0, max: 1e6, minExclusive: true }),
    delta: requireDelta("limit.delta", l["delta"]),
  });
}

function validateText(name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TEXT) {
    throw new PrivacyError("invalid-argument", `${name} must be a string of 1 to ${MAX_TEXT} characters`);
  }
  return value;
}

function makeEntry(id: string, mechanism: Mechanism, state: LedgerEntry["state"], label: string | undefined): LedgerEntry {
  const entry = label === undefined ? { id, mechanism: Object.freeze({ ...mechanism }), state } : { id, mechanism: Object.freeze({ ...mechanism }), state, label };
  return Object.freeze(entry);
}

function validateEntry(entry: unknown, index: number): LedgerEntry {
  const name = `entries[${index}]`;
  if (typeof entry !== "object" || entry === null) {
    throw new PrivacyError("invalid-argument", `${name} must be an object { id, mechanism, state, label? }`);
  }
  const e = entry as Record<string, unknown>;
  const id = validateText(`${name}.id`, e["id"]);
  const mechanism = validateMechanism(e["mechanism"], `${name}.mechanism`);
  const state = e["state"];
  if (state !== "reserved" && state !== "settled") {
    throw new PrivacyError("invalid-argument", `${name}.state must be "reserved" or "settled", got ${String(state)}`);
  }
  const label = e["label"] === undefined ? undefined : validateText(`${name}.label`, e["label"]);
  return makeEntry(id, mechanism, state, label);
}

function describe(mechanism: Mechanism): string {
  return `noiseMultiplier ${mechanism.noiseMultiplier}, sampleRate ${mechanism.sampleRate}, ${mechanism.steps} steps`;
}

/**
 * Creates a ledger from a limit and the entries charged so far (for example loaded from
 * storage). Entries are validated but not checked against the limit: what was charged stays
 * charged.
 *
 * @example
 * let ledger = createBudgetLedger({ epsilon: 8, delta: 1e-5 });
 * ledger = ledger.reserve("job-1", { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 5000 });
 * // ... the run executes 3200 steps and stops
 * ledger = ledger.settle("job-1", 3200);
 * ledger.spent(); // composed epsilon at delta 1e-5
 */
export function createBudgetLedger(limit: BudgetLimit, entries: readonly LedgerEntry[] = [], options: BudgetLedgerOptions = {}): BudgetLedger {
  const resolvedLimit = validateLimit(limit);
  const defaultAccountant = resolveAccountant(options.accountant);
  if (!Array.isArray(entries)) throw new PrivacyError("invalid-argument", "entries must be an array of ledger entries");
  const checked = Object.freeze(entries.map(validateEntry));
  const ids = new Set<string>();
  for (const entry of checked) {
    if (ids.has(entry.id)) throw new PrivacyError("duplicate-entry", `the ledger has two entries with id ${JSON.stringify(entry.id)}`);
    ids.add(entry.id);
  }
  return buildLedger(resolvedLimit, checked, defaultAccountant);
}

function buildLedger(limit: BudgetLimit, entries: readonly LedgerEntry[], defaultAccountant: AccountantName): BudgetLedger {
  const history = Object.freeze(entries.map((e) => e.mechanism));
  const spentCache = new Map<AccountantName, number>();

  function composed(extra: readonly Mechanism[], accountant: AccountantName): number {
    return computeEpsilon({ history: [...history, ...extra], delta: limit.delta, accountant }).epsilon;
  }

  function spent(accountant?: AccountantName): number {
    const name = resolveAccountant(accountant ?? defaultAccountant);
    let value = spentCache.get(name);
    if (value === undefined) {
      value = composed([], name);
      spentCache.set(name, value);
    }
    return value;
  }

  function canAfford(mechanism: Mechanism, accountant?: AccountantName): boolean {
    const m = validateMechanism(mechanism);
    return composed([m], resolveAccountant(accountant ?? defaultAccountant)) <= limit.epsilon;
  }

  function reserve(id: string, mechanism: Mechanism, label?: string): BudgetLedger {
    validateText("id", id);
    const m = validateMechanism(mechanism);
    const checkedLabel = label === undefined ? undefined : validateText("label", label);
    if (entries.some((e) => e.id === id)) {
      throw new PrivacyError("duplicate-entry", `the ledger already has an entry with id ${JSON.stringify(id)}; use a new id per run`);
    }
    const after = composed([m], defaultAccountant);
    if (!(after <= limit.epsilon)) {
      throw new PrivacyError(
        "budget-exceeded",
        `privacy budget exceeded: ${describe(m)} would bring the spent epsilon from ${spent().toFixed(4)} to ${after.toFixed(4)}, over the limit of epsilon ${limit.epsilon} at delta ${limit.delta} (${defaultAccountant} accountant); add noise, run fewer steps, or sample less`,
      );
    }
    return buildLedger(limit, Object.freeze([...entries, makeEntry(id, m, "reserved", checkedLabel)]), defaultAccountant);
  }

  function settle(id: string, stepsRun: number): BudgetLedger {
    const index = entries.findIndex((e) => e.id === id);
    if (index < 0) throw new PrivacyError("unknown-entry", `the ledger has no entry with id ${JSON.stringify(id)}`);
    const entry = entries[index]!;
    if (entry.state !== "reserved") {
      throw new PrivacyError("invalid-settlement", `entry ${JSON.stringify(id)} is already settled; a settlement is final`);
    }
    const reserved = entry.mechanism.steps;
    if (typeof stepsRun !== "number" || !Number.isSafeInteger(stepsRun) || stepsRun < 0) {
      requireInteger("stepsRun", stepsRun, 0, reserved);
    }
    if (stepsRun > reserved) {
      throw new PrivacyError(
        "invalid-settlement",
        `stepsRun ${stepsRun} is more than the ${reserved} steps reserved for ${JSON.stringify(id)}; a run may never exceed its reservation`,
      );
    }
    const settled = makeEntry(id, { ...entry.mechanism, steps: stepsRun }, "settled", entry.label);
    const next = entries.slice();
    next[index] = settled;
    return buildLedger(limit, Object.freeze(next), defaultAccountant);
  }

  return Object.freeze({
    limit,
    entries,
    history,
    spent,
    canAfford,
    reserve,
    settle,
    toJSON: (): BudgetLedgerJson => ({ limit: { ...limit }, entries: entries.map((e) => ({ ...e, mechanism: { ...e.mechanism } })) }),
  });
}
