// Verification time per platform, cold (the whole chain, every certificate parsed and every
// signature checked) and warm (verified chains reused from a cache; the report or quote
// signature, policy and every validity window are still checked on each call).
// Run: npx tsc -b packages/attestation && node bench/attestation/verify.mjs [iterations]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createVerificationCache, verifyEvidence } from "../../packages/attestation/dist/index.js";

const F = new URL("../../packages/attestation/fixtures/", import.meta.url);
const iterations = Number(process.argv[2] ?? 200);
const pem = (path) => [...readFileSync(new URL(path, F), "utf8").matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64")));
const bin = (path) => new Uint8Array(readFileSync(new URL(path, F)));

const cases = [
  {
    name: "sev-snp (VLEK, Milan)",
    bundle: { platform: "sev-snp", report: bin("sev-snp/aws-vlek-report.bin"), certificates: [bin("sev-snp/aws-vlek.der"), ...pem("sev-snp/ask_ark_milan_vlek.pem")], serverVersion: "bench", configDigest: "00" },
    now: new Date("2025-06-01T00:00:00Z"),
  },
  {
    name: "tdx (quote v4)",
    bundle: { platform: "tdx", report: bin("tdx/tdx-quote-v4.bin"), certificates: [], collateral: readFileSync(new URL("tdx/tdx-quote-v4-collateral.json", F), "utf8"), serverVersion: "bench", configDigest: "00" },
    now: new Date("2025-07-01T00:00:00Z"),
  },
];

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), min: sorted[0] };
}

const fmt = (ms) => ms.toFixed(2).padStart(7);
// The very first verification in a fresh process also pays for JIT warm-up and OpenSSL setup.
const first = [];
for (const c of cases) {
  const t0 = performance.now();
  await verifyEvidence(c.bundle, { now: c.now });
  first.push(`${c.name} ${(performance.now() - t0).toFixed(1)} ms`);
}
console.log(`first call in this process: ${first.join(", ")}`);
console.log(`node ${process.version}, ${iterations} iterations per row (after 20 warm-up calls), times in ms`);
console.log("platform                mode   median     p95     min");
for (const c of cases) {
  for (const mode of ["cold", "warm"]) {
    const cache = createVerificationCache();
    const options = () => (mode === "cold" ? { now: c.now } : { now: c.now, cache });
    for (let i = 0; i < 20; i++) {
      const r = await verifyEvidence(c.bundle, options());
      if (!r.verified) throw new Error(`${c.name} did not verify: ${JSON.stringify(r.problems)}`);
    }
    const samples = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await verifyEvidence(c.bundle, options());
      samples.push(performance.now() - t0);
    }
    const s = stats(samples);
    console.log(`${c.name.padEnd(23)} ${mode}  ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.min)}`);
  }
}
