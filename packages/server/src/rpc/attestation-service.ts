import type { ServiceImpl } from "@connectrpc/connect";
import type { AttestationProvider } from "@sanctum/attestation";
import { computeReportData } from "@sanctum/attestation";
import type { AttestationService } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";

/** GetEvidence calls allowed per second, on average and in a burst (each asks the hardware for a report). */
export const EVIDENCE_RATE = { perSecond: 50, burst: 100 } as const;

/**
 * GetEvidence: the platform's report over SHA-512(domain || SHA-256(our SPKI) || nonce), so the
 * client can check that the key it talks to is the one the TEE vouches for, and that the
 * evidence is fresh. Needs no token: the client has not trusted us yet, so anyone may call it;
 * a token bucket keeps a flood of calls from tying up the platform's report device (a client
 * asks once per connection).
 */
export function createAttestationService(options: {
  readonly provider: AttestationProvider;
  readonly spki: Uint8Array;
  readonly rate?: { readonly perSecond: number; readonly burst: number };
  /** Milliseconds, monotonic; injected by tests. */
  readonly clock?: () => number;
}): ServiceImpl<typeof AttestationService> {
  const rate = options.rate ?? EVIDENCE_RATE;
  const clock = options.clock ?? (() => performance.now());
  let tokens = rate.burst;
  let last = clock();
  const take = (): boolean => {
    const now = clock();
    tokens = Math.min(rate.burst, tokens + ((now - last) / 1000) * rate.perSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  return {
    async getEvidence(req) {
      if (req.nonce.byteLength !== 32) {
        throw new ServerError("invalid-argument", `nonce must be 32 random bytes, got ${req.nonce.byteLength}`);
      }
      if (!take()) {
        throw new ServerError("resource-exhausted", `the server is answering more than ${rate.perSecond} attestation requests a second: retry in a moment`);
      }
      const evidence = await options.provider.getEvidence(computeReportData(options.spki, req.nonce));
      return {
        platform: evidence.platform,
        report: evidence.report,
        certificates: [...evidence.certificates],
        collateral: evidence.collateral ?? "",
        serverVersion: evidence.serverVersion,
        configDigest: evidence.configDigest,
        insecure: options.provider.insecure,
      };
    },
  };
}
