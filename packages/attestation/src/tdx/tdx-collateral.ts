import { AttestationError } from "../attestation-error.js";

/**
 * Intel DCAP collateral for one platform, as Intel PCS / a PCCS serves it (the shape of
 * dcap-qvl's `QuoteCollateralV3`): TCB info and QE identity as the exact JSON strings Intel
 * signed, with hex signatures and PEM issuer chains, and both CRLs as hex DER.
 */
export interface TdxCollateral {
  readonly pckCrlIssuerChain: string;
  readonly rootCaCrl: Uint8Array;
  readonly pckCrl: Uint8Array;
  readonly tcbInfoIssuerChain: string;
  /** The exact signed bytes (UTF-8 of the JSON text). */
  readonly tcbInfoText: string;
  readonly tcbInfoSignature: Uint8Array;
  readonly qeIdentityIssuerChain: string;
  readonly qeIdentityText: string;
  readonly qeIdentitySignature: Uint8Array;
}

/** Parses the collateral JSON file; throws `malformed-evidence` naming the bad field. */
export function parseTdxCollateral(text: string): TdxCollateral {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new AttestationError("malformed-evidence", "TDX collateral is not JSON", { cause });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw bad("the top level must be an object");
  const c = parsed as Record<string, unknown>;
  return {
    pckCrlIssuerChain: str(c, "pck_crl_issuer_chain"),
    rootCaCrl: hexBytes(c, "root_ca_crl"),
    pckCrl: hexBytes(c, "pck_crl"),
    tcbInfoIssuerChain: str(c, "tcb_info_issuer_chain"),
    tcbInfoText: str(c, "tcb_info"),
    tcbInfoSignature: hexBytes(c, "tcb_info_signature"),
    qeIdentityIssuerChain: str(c, "qe_identity_issuer_chain"),
    qeIdentityText: str(c, "qe_identity"),
    qeIdentitySignature: hexBytes(c, "qe_identity_signature"),
  };
}

/** One TCB level of TDX TCB info v3 (Intel PCS API, "TDX TCB Info V3"). */
export interface TdxTcbLevel {
  readonly sgxComponents: readonly number[];
  readonly pceSvn: number;
  readonly tdxComponents: readonly number[];
  readonly tcbDate: string;
  readonly tcbStatus: string;
  readonly advisoryIds: readonly string[];
}

export interface TdxModuleIdentity {
  readonly id: string;
  readonly mrSigner: string;
  readonly attributes: string;
  readonly attributesMask: string;
  readonly tcbLevels: readonly { readonly isvSvn: number; readonly tcbStatus: string }[];
}

export interface TdxTcbInfo {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: string;
  readonly pceId: string;
  readonly tdxModule?: { readonly mrSigner: string; readonly attributes: string; readonly attributesMask: string };
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TdxTcbLevel[];
}

export interface QeIdentity {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly miscSelect: number;
  readonly miscSelectMask: number;
  readonly attributes: string;
  readonly attributesMask: string;
  readonly mrSigner: string;
  readonly isvProdId: number;
  readonly tcbLevels: readonly { readonly isvSvn: number; readonly tcbStatus: string }[];
}

/** Parses the signed TCB info JSON text; throws `malformed-evidence`. */
export function parseTcbInfo(text: string): TdxTcbInfo {
  const t = object(json(text, "tcb_info"), "tcb_info");
  const module = t["tdxModule"] === undefined ? undefined : object(t["tdxModule"], "tcb_info.tdxModule");
  return {
    id: str(t, "id"),
    version: int(t, "version"),
    issueDate: date(t, "issueDate"),
    nextUpdate: date(t, "nextUpdate"),
    fmspc: hexField(t, "fmspc", 6),
    pceId: hexField(t, "pceId", 2),
    ...(module === undefined
      ? {}
      : { tdxModule: { mrSigner: hexField(module, "mrsigner", 48), attributes: hexField(module, "attributes", 8), attributesMask: hexField(module, "attributesMask", 8) } }),
    tdxModuleIdentities: list(t["tdxModuleIdentities"] ?? [], "tdxModuleIdentities").map((m) => {
      const o = object(m, "tdxModuleIdentities[]");
      return {
        id: str(o, "id"),
        mrSigner: hexField(o, "mrsigner", 48),
        attributes: hexField(o, "attributes", 8),
        attributesMask: hexField(o, "attributesMask", 8),
        tcbLevels: list(o["tcbLevels"], "tdxModuleIdentities[].tcbLevels").map((l) => {
          const lo = object(l, "tcbLevel");
          return { isvSvn: int(object(lo["tcb"], "tcbLevel.tcb"), "isvsvn"), tcbStatus: str(lo, "tcbStatus") };
        }),
      };
    }),
    tcbLevels: list(t["tcbLevels"], "tcbLevels").map((l) => {
      const lo = object(l, "tcbLevels[]");
      const tcb = object(lo["tcb"], "tcbLevels[].tcb");
      return {
        sgxComponents: svns(tcb["sgxtcbcomponents"], "sgxtcbcomponents"),
        pceSvn: int(tcb, "pcesvn"),
        tdxComponents: svns(tcb["tdxtcbcomponents"], "tdxtcbcomponents"),
        tcbDate: str(lo, "tcbDate"),
        tcbStatus: str(lo, "tcbStatus"),
        advisoryIds: lo["advisoryIDs"] === undefined ? [] : list(lo["advisoryIDs"], "advisoryIDs").map((a) => String(a)),
      };
    }),
  };
}

/** Parses the signed QE identity JSON text; throws `malformed-evidence`. */
export function parseQeIdentity(text: string): QeIdentity {
  const q = object(json(text, "qe_identity"), "qe_identity");
  return {
    id: str(q, "id"),
    version: int(q, "version"),
    issueDate: date(q, "issueDate"),
    nextUpdate: date(q, "nextUpdate"),
    miscSelect: parseInt(hexField(q, "miscselect", 4), 16),
    miscSelectMask: parseInt(hexField(q, "miscselectMask", 4), 16),
    attributes: hexField(q, "attributes", 16),
    attributesMask: hexField(q, "attributesMask", 16),
    mrSigner: hexField(q, "mrsigner", 32),
    isvProdId: int(q, "isvprodid"),
    tcbLevels: list(q["tcbLevels"], "qe_identity.tcbLevels").map((l) => {
      const lo = object(l, "tcbLevel");
      return { isvSvn: int(object(lo["tcb"], "tcbLevel.tcb"), "isvsvn"), tcbStatus: str(lo, "tcbStatus") };
    }),
  };
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new AttestationError("malformed-evidence", `TDX collateral: ${what} is not JSON`, { cause });
  }
}

function bad(what: string): AttestationError {
  return new AttestationError("malformed-evidence", `TDX collateral: ${what}`);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw bad(`${what} must be a list`);
  return value;
}

function str(o: Record<string, unknown>, key: string): string {
  const value = o[key];
  if (typeof value !== "string") throw bad(`'${key}' must be a string`);
  return value;
}

function int(o: Record<string, unknown>, key: string): number {
  const value = o[key];
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) throw bad(`'${key}' must be a non-negative integer`);
  return value as number;
}

function date(o: Record<string, unknown>, key: string): Date {
  const value = str(o, key);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) || Number.isNaN(ms)) throw bad(`'${key}' must be an ISO 8601 UTC time`);
  return new Date(ms);
}

function hexField(o: Record<string, unknown>, key: string, bytes: number): string {
  const value = str(o, key);
  if (value.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(value)) throw bad(`'${key}' must be ${bytes} bytes of hex`);
  return value.toLowerCase();
}

function hexBytes(o: Record<string, unknown>, key: string): Uint8Array {
  const value = str(o, key);
  if (value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) throw bad(`'${key}' must be hex`);
  return new Uint8Array(Buffer.from(value, "hex"));
}

function svns(value: unknown, what: string): number[] {
  const items = list(value, what);
  if (items.length !== 16) throw bad(`${what} must have 16 components`);
  return items.map((c) => {
    const svn = object(c, what)["svn"];
    if (!Number.isInteger(svn) || (svn as number) < 0 || (svn as number) > 255) throw bad(`${what}[].svn must be 0..255`);
    return svn as number;
  });
}
