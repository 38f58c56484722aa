import { createHash, timingSafeEqual, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { ClientError } from "./client-error.js";

/** What the first TLS handshake learns about the server: its certificate and key. */
export interface ServerKey {
  /** The certificate as PEM, to be the only trust anchor of the pinned connection. */
  readonly certificatePem: string;
  /** The server's public key, SubjectPublicKeyInfo DER: what the evidence must bind. */
  readonly spki: Uint8Array;
}

/** The marker of a pin failure, recognized when the transport reports it. */
export const PIN_MISMATCH_MESSAGE = "sanctum: the server presented a TLS key other than the attested one";

/**
 * Opens TLS without CA checks (the server's certificate is self-signed and made at start;
 * trust comes from attestation, not from a CA), reads the certificate and closes. Nothing
 * but the TLS handshake is sent.
 */
export function fetchServerKey(url: URL, timeoutMs: number): Promise<ServerKey> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const socket = tlsConnect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
    });
    const fail = (err: Error) => {
      socket.destroy();
      reject(new ClientError("unavailable", `cannot reach the Sanctum server at ${url.origin}: ${err.message}; check the URL (--server or SANCTUM_SERVER) and that the server runs`, { cause: err }));
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      try {
        const cert = socket.getPeerX509Certificate();
        if (cert === undefined) throw new Error("the server sent no certificate");
        const spki = new Uint8Array(cert.publicKey.export({ type: "spki", format: "der" }));
        socket.end();
        socket.destroy();
        resolve({ certificatePem: cert.toString(), spki });
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

/**
 * The `checkServerIdentity` of the pinned connection: accepts only a peer whose SPKI hashes
 * to the pinned one, whatever the host name (the certificate is self-signed, its name means
 * nothing). Node calls it only after the chain verified against `ca`, which is the pinned
 * certificate itself.
 */
export function spkiPinCheck(pinnedSpki: Uint8Array): (host: string, cert: PeerCertificate) => Error | undefined {
  const pinned = createHash("sha256").update(pinnedSpki).digest();
  return (_host, cert) => {
    try {
      const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
      const seen = createHash("sha256").update(spki).digest();
      return timingSafeEqual(seen, pinned) ? undefined : new Error(PIN_MISMATCH_MESSAGE);
    } catch {
      return new Error(PIN_MISMATCH_MESSAGE);
    }
  };
}

/** Hex SHA-256 of an SPKI: the key fingerprint users compare. */
export function spkiFingerprint(spki: Uint8Array): string {
  return createHash("sha256").update(spki).digest("hex");
}
