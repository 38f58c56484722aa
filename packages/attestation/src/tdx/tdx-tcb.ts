import type { PckExtensions } from "./pck-extensions.js";
import type { QeIdentity, TdxTcbInfo, TdxTcbLevel } from "./tdx-collateral.js";

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
