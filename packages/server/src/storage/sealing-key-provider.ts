/**
 * Where the sealing key comes from. Simulation: a key file on the data disk (see
 * `createFileKeyProvider`). On SEV-SNP or TDX a provider derives the key from the platform
 * (SNP `MSG_KEY_REQ` bound to the measurement, TDX through a key broker released on
 * attestation), so the operator who holds the disk cannot unseal it. Both return 32 bytes.
 */
export interface SealingKeyProvider {
  /** A short name for logs and errors, e.g. "key-file". */
  readonly kind: string;
  /** True when whoever holds the data disk also holds the key (the key file). */
  readonly insecure: boolean;
  /** The 32-byte root sealing key. Called once at start; the bytes stay in memory only. */
  getRootKey(): Promise<Uint8Array>;
}
