import type { ServiceImpl } from "@connectrpc/connect";
import type { AttestationProvider } from "@sanctum/attestation";
import { computeReportData } from "@sanctum/attestation";
import type { AttestationService } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";

/**
 * GetEvidence: the platform's report over SHA-512(domain || SHA-256(our SPKI) || nonce), so the
 * client can check that the key it talks to is the one the TEE vouches for, and that the
 * evidence is fresh. Needs no token: the client has not trusted us yet.
 */
export function createAttestationService(options: {
  readonly provider: AttestationProvider;
  readonly spki: Uint8Array;
}): ServiceImpl<typeof AttestationService> {
  return {
    async getEvidence(req) {
      if (req.nonce.byteLength !== 32) {
        throw new ServerError("invalid-argument", `nonce must be 32 random bytes, got ${req.nonce.byteLength}`);
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
