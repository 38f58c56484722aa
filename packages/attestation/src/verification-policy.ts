import { AttestationError } from "./attestation-error.js";
import { isPlatformName, type PlatformName } from "./platform.js";

/** SEV-SNP minimum TCB (each security patch level must be at least this). */
export interface SnpTcb {
  readonly bootloader?: number;
  readonly tee?: number;
  readonly snp?: number;
  readonly microcode?: number;
  readonly fmc?: number;
}

/**
 * What a client accepts. A JSON file (docs/verify-a-server.md has one per platform);
 * anything a list leaves empty is not checked, except debug, which is always refused.
 */
export interface VerificationPolicy {
  /** Platforms accepted; default all hardware platforms. */
  readonly platforms: readonly PlatformName[];
  /** Accept the simulation platform (development only); default false. */
  readonly allowSimulation: boolean;
  readonly sevSnp: {
    /** Accepted launch measurements (hex, 48 bytes); empty: any. */
    readonly measurements: readonly string[];
    /** Accepted host_data values (hex, 32 bytes); empty: any. */
    readonly hostData: readonly string[];
    readonly minimumTcb: SnpTcb;
    /** Highest VMPL accepted; default 3 (any). */
    readonly maxVmpl: number;
  };
  readonly tdx: {
    /** Accepted MRTD values (hex, 48 bytes); empty: any. */
    readonly mrtd: readonly string[];
    /** Accepted RTMR sets, each 4 hex values or null for "any"; empty: any. */
    readonly rtmrs: readonly (readonly (string | null)[])[];
    /** TCB statuses accepted; default ["UpToDate"]. */
    readonly acceptedStatuses: readonly string[];
  };
  readonly simulation: {
    /** Accepted simulated measurements; empty: any. */
    readonly measurements: readonly string[];
  };
}

export const DEFAULT_POLICY: VerificationPolicy = {
  platforms: ["sev-snp", "tdx"],
  allowSimulation: false,
  sevSnp: { measurements: [], hostData: [], minimumTcb: {}, maxVmpl: 3 },
  tdx: { mrtd: [], rtmrs: [], acceptedStatuses: ["UpToDate"] },
  simulation: { measurements: [] },
};

/** Parses a policy file; fields left out take {@link DEFAULT_POLICY}'s values. */
export function parseVerificationPolicy(text: string): VerificationPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new AttestationError("malformed-policy", "verification policy is not JSON", { cause });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw bad("the top level must be an object");
  const p = parsed as Record<string, unknown>;
  const platforms = p["platforms"] === undefined ? DEFAULT_POLICY.platforms : strings(p["platforms"], "platforms");
  for (const name of platforms) {
    if (!isPlatformName(name)) throw bad(`platforms: unknown platform '${name}' (expected simulation, sev-snp or tdx)`);
  }
  const snp = obj(p["sevSnp"], "sevSnp");
  const tdx = obj(p["tdx"], "tdx");
  const sim = obj(p["simulation"], "simulation");
  const tcb = obj(snp["minimumTcb"], "sevSnp.minimumTcb");
  const minimumTcb: Record<string, number> = {};
  for (const [key, value] of Object.entries(tcb)) {
    if (!["bootloader", "tee", "snp", "microcode", "fmc"].includes(key)) throw bad(`sevSnp.minimumTcb: unknown field '${key}'`);
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) throw bad(`sevSnp.minimumTcb.${key} must be an integer 0..255`);
    minimumTcb[key] = value as number;
  }
  const maxVmpl = snp["maxVmpl"] === undefined ? 3 : snp["maxVmpl"];
  if (!Number.isInteger(maxVmpl) || (maxVmpl as number) < 0 || (maxVmpl as number) > 3) throw bad("sevSnp.maxVmpl must be 0..3");
  const rtmrs = tdx["rtmrs"] === undefined ? [] : tdx["rtmrs"];
  if (!Array.isArray(rtmrs) || rtmrs.some((set) => !Array.isArray(set) || set.length !== 4 || set.some((v) => v !== null && (typeof v !== "string" || !/^[0-9a-fA-F]{96}$/.test(v))))) {
    throw bad("tdx.rtmrs must be a list of [RTMR0, RTMR1, RTMR2, RTMR3], each 48 bytes of hex or null for any");
  }
  return {
    platforms: platforms as PlatformName[],
    allowSimulation: bool(p["allowSimulation"], "allowSimulation", false),
    sevSnp: {
      measurements: hexes(snp["measurements"], "sevSnp.measurements", 48),
      hostData: hexes(snp["hostData"], "sevSnp.hostData", 32),
      minimumTcb,
      maxVmpl: maxVmpl as number,
    },
    tdx: {
      mrtd: hexes(tdx["mrtd"], "tdx.mrtd", 48),
      rtmrs: (rtmrs as (string | null)[][]).map((set) => set.map((v) => (v === null ? null : v.toLowerCase()))),
      acceptedStatuses: tdx["acceptedStatuses"] === undefined ? ["UpToDate"] : strings(tdx["acceptedStatuses"], "tdx.acceptedStatuses"),
    },
    simulation: { measurements: hexes(sim["measurements"], "simulation.measurements", 48) },
  };
}

function bad(what: string): AttestationError {
  return new AttestationError("malformed-policy", `verification policy: ${what}`);
}

function obj(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function strings(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw bad(`${field} must be a list of strings`);
  return value as string[];
}

function hexes(value: unknown, field: string, bytes: number): string[] {
  if (value === undefined) return [];
  const list = strings(value, field);
  for (const v of list) {
    if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) throw bad(`${field}: '${v.slice(0, 16)}...' is not ${bytes} bytes of hex`);
  }
  return list.map((v) => v.toLowerCase());
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw bad(`${field} must be true or false`);
  return value;
}
