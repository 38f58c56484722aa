import type { VerificationProblem } from "../verification-result.js";
import type { PckExtensions } from "./pck-extensions.js";
import type { QeIdentity, TdxTcbInfo, TdxTcbLevel } from "./tdx-collateral.js";
import type { TdxQuote } from "./tdx-quote.js";

/** The outcome of TCB level matching (Intel QVL TcbLevelCheck and TdxModuleCheck). */
export interface TdxTcbEvaluation {
  /** The matched platform TCB level, if any. */
  readonly level?: TdxTcbLevel;
  /** Its status, e.g. "UpToDate"; undefined when no level matched. */
  readonly platformStatus?: string;
  /** The TDX module identity's status (TEE_TCB_SVN[1] > 0), "UpToDate" when not applicable. */
  readonly moduleStatus?: string;
  /** Why the module could not be matched, when it could not. */
  readonly moduleProblem?: string;
}

/**
 * Finds the first TCB level (levels are ordered newest first) whose SGX components and PCESVN
 * are at most the PCK certificate's and whose TDX components are at most the TD's TEE_TCB_SVN.
 * When TEE_TCB_SVN[1] (the TDX module major version) is non-zero, bytes 0 and 1 are judged by
 * the matching `tdxModuleIdentities` entry ("TDX_<version in hex>") instead, as Intel's QVL
 * does (TdxModuleCheck.cpp), and the module's MRSIGNER and attributes must match the report.
 */
export function evaluateTdxTcb(tcbInfo: TdxTcbInfo, pck: PckExtensions, teeTcbSvn: Uint8Array, mrSignerSeam: Uint8Array, seamAttributes: Uint8Array): TdxTcbEvaluation {
  const moduleVersion = teeTcbSvn[1]!;
  const start = moduleVersion > 0 ? 2 : 0;
  let level: TdxTcbLevel | undefined;
  for (const candidate of tcbInfo.tcbLevels) {
    const sgxOk = candidate.sgxComponents.every((svn, i) => pck.cpuSvnComponents[i]! >= svn) && pck.pceSvn >= candidate.pceSvn;
    if (!sgxOk) continue;
    const tdxOk = candidate.tdxComponents.every((svn, i) => i < start || teeTcbSvn[i]! >= svn);
    if (tdxOk) {
      level = candidate;
      break;
    }
  }
  const base = level === undefined ? {} : { level, platformStatus: level.tcbStatus };
  // TDX module: TCB info v3's tdxModule gives the expected MRSIGNERSEAM and SEAMATTRIBUTES.
  const module = tcbInfo.tdxModule;
  if (module !== undefined && !maskedEqual(mrSignerSeam, module.mrSigner, seamAttributes, module.attributes, module.attributesMask)) {
    return { ...base, moduleProblem: "the TDX module's MRSIGNERSEAM or SEAMATTRIBUTES differ from Intel's TCB info" };
  }
  if (moduleVersion === 0) return { ...base, moduleStatus: "UpToDate" };
  const id = `TDX_${moduleVersion.toString(16).padStart(2, "0").toUpperCase()}`;
  const identity = tcbInfo.tdxModuleIdentities.find((m) => m.id.toUpperCase() === id);
  if (identity === undefined) return { ...base, moduleProblem: `TCB info has no identity for TDX module ${id}` };
  if (!maskedEqual(mrSignerSeam, identity.mrSigner, seamAttributes, identity.attributes, identity.attributesMask)) {
    return { ...base, moduleProblem: `the TDX module's MRSIGNERSEAM or SEAMATTRIBUTES differ from Intel's identity ${id}` };
  }
  const moduleLevel = identity.tcbLevels.find((l) => teeTcbSvn[0]! >= l.isvSvn);
  if (moduleLevel === undefined) return { ...base, moduleProblem: `TDX module ${id} SVN ${teeTcbSvn[0]} is below every level Intel lists` };
  return { ...base, moduleStatus: moduleLevel.tcbStatus };
}

/** The QE identity's status for the QE's ISVSVN, or undefined when it is below every level. */
export function qeIdentityStatus(identity: QeIdentity, isvSvn: number): string | undefined {
  return identity.tcbLevels.find((l) => isvSvn >= l.isvSvn)?.tcbStatus;
}

/**
 * Combines platform, TDX module and QE statuses into one, the worst wins, following Intel QVL's
 * convergence: Revoked > OutOfDate(ConfigurationNeeded) > ... > UpToDate.
 */
export function convergeStatus(platform: string, module: string, qe: string): string {
  const outOfDate = [module, qe].some((s) => s === "OutOfDate" || s === "OutOfDateConfigurationNeeded");
  if ([platform, module, qe].includes("Revoked")) return "Revoked";
  if (outOfDate) {
    if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
    if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded") return "OutOfDateConfigurationNeeded";
  }
  return platform;
}

function maskedEqual(mrSigner: Uint8Array, expectedSigner: string, attributes: Uint8Array, expectedAttributes: string, mask: string): boolean {
  if (Buffer.from(mrSigner).toString("hex") !== expectedSigner.toLowerCase()) return false;
  const m = Buffer.from(mask, "hex");
  const e = Buffer.from(expectedAttributes, "hex");
  if (m.length !== attributes.byteLength || e.length !== attributes.byteLength) return false;
  return attributes.every((b, i) => (b & m[i]!) === (e[i]! & m[i]!));
}

/** The rated TCB of a quote: its final status (undefined when it cannot be rated) and why. */
export interface TdxTcbRating {
  readonly status?: string;
  readonly advisoryIds: readonly string[];
  readonly facts: Readonly<Record<string, unknown>>;
  readonly problems: readonly VerificationProblem[];
}

/**
 * Rates a quote's TCB as Intel's QVL does (TcbLevelCheck.cpp): the launch TCB (TEE_TCB_SVN)
 * converged with the TDX module and QE statuses; for a TD 1.5 body also the TCB running now
 * (TEE_TCB_SVN2), and a relaunch advised when the TD launched on an out-of-date module that has
 * since been updated.
 */
export function rateTdxTcb(tcbInfo: TdxTcbInfo, pck: PckExtensions, quote: TdxQuote, qeStatus: string | undefined): TdxTcbRating {
  const problems: VerificationProblem[] = [];
  const facts: Record<string, unknown> = {};
  const rate = (svn: Uint8Array, label: string): { status?: string; advisoryIds: readonly string[] } => {
    const evaluation = evaluateTdxTcb(tcbInfo, pck, svn, quote.body.mrSignerSeam, quote.body.seamAttributes);
    if (evaluation.moduleProblem !== undefined) problems.push({ code: "tdx-module", message: evaluation.moduleProblem });
    if (evaluation.level === undefined) {
      problems.push({ code: "tcb-level-not-found", message: `the platform's TCB (PCK CPUSVN, PCESVN, ${label}) is below every level in Intel's TCB info` });
      return { advisoryIds: [] };
    }
    if (label === "TEE_TCB_SVN") {
      Object.assign(facts, {
        tcbLevelStatus: evaluation.level.tcbStatus,
        tcbDate: evaluation.level.tcbDate,
        advisoryIds: evaluation.level.advisoryIds,
        ...(evaluation.moduleStatus === undefined ? {} : { tdxModuleStatus: evaluation.moduleStatus }),
      });
    }
    if (evaluation.moduleStatus === undefined || qeStatus === undefined) return { advisoryIds: evaluation.level.advisoryIds };
    return { status: convergeStatus(evaluation.level.tcbStatus, evaluation.moduleStatus, qeStatus), advisoryIds: evaluation.level.advisoryIds };
  };
  if (qeStatus !== undefined) facts["qeStatus"] = qeStatus;
  const launch = rate(quote.body.teeTcbSvn, "TEE_TCB_SVN");
  if (quote.body.teeTcbSvn2 === undefined) return { ...launch, facts, problems };
  facts["teeTcbSvn2"] = Buffer.from(quote.body.teeTcbSvn2).toString("hex");
  const current = rate(quote.body.teeTcbSvn2, "TEE_TCB_SVN2");
  const advisoryIds = [...new Set([...launch.advisoryIds, ...current.advisoryIds])];
  if (launch.status === undefined || current.status === undefined) return { advisoryIds, facts, problems };
  facts["currentStatus"] = current.status;
  return { status: checkForRelaunch(launch.status, current.status), advisoryIds, facts, problems };
}

const CONFIGURATION_NEEDED = ["ConfigurationNeeded", "OutOfDateConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"];

/**
 * Intel QVL's relaunch rule (TDRelaunchCheck.cpp): a TD launched on an out-of-date TDX module
 * whose platform now runs an up-to-date one is "TDRelaunchAdvised" (with ConfigurationNeeded
 * when either status needs configuration); otherwise the launch status stands.
 */
export function checkForRelaunch(launch: string, current: string): string {
  const outOfDate = launch === "OutOfDate" || launch === "OutOfDateConfigurationNeeded";
  const currentOk = ["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"].includes(current);
  if (!outOfDate || !currentOk) return launch;
  return CONFIGURATION_NEEDED.includes(launch) || CONFIGURATION_NEEDED.includes(current) ? "TDRelaunchAdvisedConfigurationNeeded" : "TDRelaunchAdvised";
}
