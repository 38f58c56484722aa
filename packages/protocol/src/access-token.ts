import { createHash, randomBytes } from "node:crypto";
import { SignJWT, decodeJwt, jwtVerify, errors as joseErrors } from "jose";
import type { Identity } from "./identity.js";
import { parsePublicKeyId } from "./identity.js";
import { ProtocolError } from "./protocol-error.js";

/** Default lifetime of an access token: short, so a leaked token is soon useless. */
export const DEFAULT_TOKEN_LIFETIME_SEC = 60;
/** The longest lifetime a server accepts, whatever the token claims. */
export const MAX_TOKEN_LIFETIME_SEC = 300;

/**
 * The audience of every token sent to a server: the SHA-256 of the attested TLS key
 * (SPKI DER). A token made for one attested server is useless at any other.
 */
export function audienceForSpki(spkiDer: Uint8Array): string {
  return "sanctum-spki:" + createHash("sha256").update(spkiDer).digest("hex");
}

export interface CreateAccessTokenOptions {
  /** {@link audienceForSpki} of the attested server key. */
  readonly audience: string;
  /** Lifetime in seconds; default 60, at most 300. */
  readonly lifetimeSec?: number;
  /** Injected clock; default `new Date()`. */
  readonly now?: Date;
}

/** A compact EdDSA JWT: issuer is the caller's public key id, audience the attested server key. */
export async function createAccessToken(identity: Identity, options: CreateAccessTokenOptions): Promise<string> {
  const lifetime = options.lifetimeSec ?? DEFAULT_TOKEN_LIFETIME_SEC;
  if (!(lifetime > 0 && lifetime <= MAX_TOKEN_LIFETIME_SEC)) {
    throw new RangeError(`lifetimeSec must be in (0, ${MAX_TOKEN_LIFETIME_SEC}], got ${lifetime}`);
  }
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
    .setIssuer(identity.publicKey)
    .setSubject(identity.publicKey)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .setJti(randomBytes(12).toString("base64url"))
    .sign(identity.privateKey);
}

export interface VerifyAccessTokenOptions {
  /** This server's audience ({@link audienceForSpki} of its own key). */
  readonly audience: string;
  /** Injected clock; default `new Date()`. */
  readonly now?: Date;
  /** Clock skew tolerated, in seconds; default 30. */
  readonly clockToleranceSec?: number;
}

/** Checks signature (by the key the issuer names), audience, expiry and lifetime; returns the caller's id. */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<string> {
  let issuer: string;
  try {
    const claims = decodeJwt(token);
    if (typeof claims.iss !== "string") throw new Error("no issuer");
    issuer = claims.iss;
  } catch (cause) {
    throw new ProtocolError("token-invalid", "access token is malformed: sign requests with a Sanctum client", { cause });
  }
  const key = parsePublicKeyIdForToken(issuer);
  const now = options.now ?? new Date();
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      audience: options.audience,
      issuer,
      currentDate: now,
      clockTolerance: options.clockToleranceSec ?? 30,
      requiredClaims: ["exp", "iat", "aud", "iss"],
      maxTokenAge: MAX_TOKEN_LIFETIME_SEC + (options.clockToleranceSec ?? 30),
    });
    if (payload.exp! - payload.iat! > MAX_TOKEN_LIFETIME_SEC) {
      throw new ProtocolError("token-invalid", `access token lives longer than ${MAX_TOKEN_LIFETIME_SEC} s: make a fresh one`);
    }
    return issuer;
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    if (cause instanceof joseErrors.JWTExpired) {
      throw new ProtocolError("token-expired", "access token expired: check the client's clock and retry", { cause });
    }
    if (cause instanceof joseErrors.JWTClaimValidationFailed && cause.claim === "aud") {
      throw new ProtocolError(
        "token-audience",
        "access token was made for another server key: reconnect so the client attests this server",
        { cause },
      );
    }
    if (cause instanceof joseErrors.JWTClaimValidationFailed && cause.claim === "iat") {
      throw new ProtocolError("token-expired", "access token is too old or from the future: check the client's clock", { cause });
    }
    throw new ProtocolError("token-invalid", "access token signature or claims are invalid", { cause });
  }
}

function parsePublicKeyIdForToken(issuer: string) {
  try {
    return parsePublicKeyId(issuer);
  } catch (cause) {
    throw new ProtocolError("token-invalid", "access token issuer is not a Sanctum public key id", { cause });
  }
}
