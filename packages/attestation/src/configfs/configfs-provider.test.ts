import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveAttestationProvider } from "../resolve-provider.js";
import { fixture, fixturePem, FIXTURES, TDX_NOW, VLEK_NOW } from "../test-support/fixtures.js";
import { verifyEvidence } from "../verify-evidence.js";
import { loadAttestationCerts } from "./attestation-certs.js";
import { encodeSnpCertTable, parseSnpCertTable, SNP_CERT_GUIDS } from "./snp-cert-table.js";
import type { TsmFileSystem } from "./tsm-file-system.js";

const SERVER = { serverVersion: "0.1.0", configDigest: "ab".repeat(32) };

interface FakeKernelOptions {
  readonly provider: string;
  readonly outblob: Uint8Array;
  /** Undefined: no auxblob attribute (TDX). */
  readonly auxblob?: Uint8Array;
  /** How many outblob reads another writer disturbs (bumping generation). */
  races?: number;
}

/**
 * Plays the kernel's part of configfs-tsm on a real temporary directory: mkdir populates the
 * entry's attributes, writing inblob bumps generation, outblob returns the real vector.
 */
function fakeKernel(options: FakeKernelOptions): TsmFileSystem & { entriesMade: number } {
  const generations = new Map<string, number>();
  const fake = {
    entriesMade: 0,
    async mkdir(path: string) {
      await mkdir(path);
      fake.entriesMade++;
      generations.set(path, 0);
      await writeFile(join(path, "provider"), options.provider + "\n");
      await writeFile(join(path, "generation"), "0\n");
    },
    async rmdir(path: string) {
      await rm(path, { recursive: true });
    },
    async writeFile(path: string, data: Uint8Array) {
      const entry = dirname(path);
      if (!generations.has(entry)) throw Object.assign(new Error("no such entry"), { code: "ENOENT" });
      await writeFile(path, data);
      await bump(entry);
    },
    async readFile(path: string): Promise<Uint8Array> {
      const entry = dirname(path);
      switch (basename(path)) {
        case "outblob":
          if ((options.races ?? 0) > 0) {
            options.races = (options.races ?? 0) - 1;
            await bump(entry);
          }
          return Uint8Array.from(options.outblob);
        case "auxblob":
          if (options.auxblob === undefined) throw Object.assign(new Error("no auxblob"), { code: "ENOENT" });
          return Uint8Array.from(options.auxblob);
        default:
          return new Uint8Array(await readFile(path));
      }
    },
    async isDirectory(path: string) {
      return stat(path).then((s) => s.isDirectory(), () => false);
    },
  };
  async function bump(entry: string): Promise<void> {
    const next = (generations.get(entry) ?? 0) + 1;
    generations.set(entry, next);
    await writeFile(join(entry, "generation"), `${next}\n`);
  }
  return fake;
}

const VLEK_REPORT = fixture("sev-snp/aws-vlek-report.bin");
const VLEK_REPORT_DATA = VLEK_REPORT.slice(0x50, 0x90);
const TDX_QUOTE = fixture("tdx/tdx-quote-v4.bin");
const TDX_REPORT_DATA = TDX_QUOTE.slice(0x238, 0x278);
const [ASVK, ARK] = fixturePem("sev-snp/ask_ark_milan_vlek.pem") as [Uint8Array, Uint8Array];
const VLEK_TABLE = encodeSnpCertTable([
  { guid: SNP_CERT_GUIDS.vlek, der: fixture("sev-snp/aws-vlek.der") },
  { guid: SNP_CERT_GUIDS.ask, der: ASVK },
  { guid: SNP_CERT_GUIDS.ark, der: ARK },
]);

let base: string;
let count = 0;
async function tree(): Promise<{ root: string; certs: string }> {
  const dir = join(base, String(count++));
  await mkdir(join(dir, "tsm", "report"), { recursive: true });
  await mkdir(join(dir, "certs"));
  return { root: join(dir, "tsm", "report"), certs: join(dir, "certs") };
}

describe("configfs-tsm providers against a fake configfs tree", () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "sanctum-tsm-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("refuses auto without configfs-tsm and says to pass --platform simulation", async () => {
    await assert.rejects(
      resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: join(base, "absent") }),
      (err: Error & { code?: string }) => err.code === "platform-unavailable" && /--platform simulation/.test(err.message),
    );
  });

  it("picks SEV-SNP and serves the host's certificate table: the real report verifies, entries are removed", async () => {
    const { root } = await tree();
    const fs = fakeKernel({ provider: "sev_guest", outblob: VLEK_REPORT, auxblob: VLEK_TABLE });
    const provider = await resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: fs });
    assert.equal(provider.platform, "sev-snp");
    assert.equal(provider.insecure, false);
    const evidence = await provider.getEvidence(VLEK_REPORT_DATA);
    assert.equal(evidence.certificates.length, 3);
    assert.deepEqual(evidence.certificates[0], fixture("sev-snp/aws-vlek.der"));
    const result = await verifyEvidence(evidence, { now: VLEK_NOW, expectedReportData: VLEK_REPORT_DATA });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(await readdir(root), []);
    assert.ok(fs.entriesMade >= 3, "probe, certificate probe and the report each used their own entry");
  });

  it("serves SEV-SNP certificates from --attestation-certs when the host's table is empty", async () => {
    const { root, certs } = await tree();
    await writeFile(join(certs, "vlek.der"), fixture("sev-snp/aws-vlek.der"));
    await writeFile(join(certs, "chain.pem"), await readFile(FIXTURES + "sev-snp/ask_ark_milan_vlek.pem"));
    const fs = fakeKernel({ provider: "sev_guest", outblob: VLEK_REPORT, auxblob: new Uint8Array(0) });
    const provider = await resolveAttestationProvider({ platform: "sev-snp", server: SERVER, configfsRoot: root, configfs: fs, attestationCertsDir: certs });
    const evidence = await provider.getEvidence(VLEK_REPORT_DATA);
    assert.equal((await verifyEvidence(evidence, { now: VLEK_NOW, expectedReportData: VLEK_REPORT_DATA })).verified, true);
  });

  it("refuses SEV-SNP when neither the host nor the directory has a VCEK/VLEK", async () => {
    const { root, certs } = await tree();
    const fs = fakeKernel({ provider: "sev_guest", outblob: VLEK_REPORT, auxblob: new Uint8Array(0) });
    await assert.rejects(resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: fs, attestationCertsDir: certs }), (err: Error & { code?: string }) =>
      err.code === "platform-unavailable" && /--attestation-certs/.test(err.message),
    );
  });

  it("picks TDX, serves the collateral file, and the real quote verifies", async () => {
    const { root, certs } = await tree();
    await writeFile(join(certs, "tdx-collateral.json"), await readFile(FIXTURES + "tdx/tdx-quote-v4-collateral.json"));
    const fs = fakeKernel({ provider: "tdx_guest", outblob: TDX_QUOTE });
    const provider = await resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: fs, attestationCertsDir: certs });
    assert.equal(provider.platform, "tdx");
    const evidence = await provider.getEvidence(TDX_REPORT_DATA);
    const result = await verifyEvidence(evidence, { now: TDX_NOW, expectedReportData: TDX_REPORT_DATA });
    assert.deepEqual(result.problems, []);
    assert.equal(result.status, "UpToDate");
  });

  it("refuses TDX without collateral, an unknown provider, and a platform other than asked", async () => {
    const { root, certs } = await tree();
    const tdx = fakeKernel({ provider: "tdx_guest", outblob: TDX_QUOTE });
    await assert.rejects(resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: tdx, attestationCertsDir: certs }), { code: "platform-unavailable" });
    const other = fakeKernel({ provider: "arm_cca_guest", outblob: TDX_QUOTE });
    await assert.rejects(resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: other }), { code: "platform-unavailable" });
    await assert.rejects(resolveAttestationProvider({ platform: "sev-snp", server: SERVER, configfsRoot: root, configfs: tdx }), { code: "platform-unavailable" });
  });

  it("retries when another writer changes generation, and gives up after three tries", async () => {
    const { root, certs } = await tree();
    await writeFile(join(certs, "tdx-collateral.json"), await readFile(FIXTURES + "tdx/tdx-quote-v4-collateral.json"));
    const options: FakeKernelOptions = { provider: "tdx_guest", outblob: TDX_QUOTE };
    const provider = await resolveAttestationProvider({ platform: "tdx", server: SERVER, configfsRoot: root, configfs: fakeKernel(options), attestationCertsDir: certs });
    options.races = 2;
    const evidence = await provider.getEvidence(TDX_REPORT_DATA);
    assert.equal(options.races, 0);
    assert.deepEqual(evidence.report, TDX_QUOTE);
    options.races = 3;
    await assert.rejects(provider.getEvidence(TDX_REPORT_DATA), { code: "collection-failed" });
    assert.deepEqual(await readdir(root), []);
  });

  it("never serves a report whose report data differs from what was asked", async () => {
    const { root, certs } = await tree();
    await writeFile(join(certs, "tdx-collateral.json"), await readFile(FIXTURES + "tdx/tdx-quote-v4-collateral.json"));
    const provider = await resolveAttestationProvider({ platform: "tdx", server: SERVER, configfsRoot: root, configfs: fakeKernel({ provider: "tdx_guest", outblob: TDX_QUOTE }), attestationCertsDir: certs });
    await assert.rejects(provider.getEvidence(new Uint8Array(64)), { code: "collection-failed" });
    await assert.rejects(provider.getEvidence(new Uint8Array(32)), RangeError);
  });

  it("reports a configfs root it cannot write to as collection-failed or platform-unavailable", async () => {
    const { root } = await tree();
    const broken: TsmFileSystem = { ...fakeKernel({ provider: "tdx_guest", outblob: TDX_QUOTE }), mkdir: () => Promise.reject(Object.assign(new Error("denied"), { code: "EACCES" })) };
    await assert.rejects(resolveAttestationProvider({ platform: "auto", server: SERVER, configfsRoot: root, configfs: broken }), (err: Error & { code?: string }) =>
      err.code === "platform-unavailable" && /EACCES/.test(err.message),
    );
  });
});

describe("SNP certificate table and certificate directory", () => {
  it("round-trips the GHCB table and recognizes both GUID byte orders", () => {
    const parsed = parseSnpCertTable(VLEK_TABLE);
    assert.deepEqual(parsed.map((e) => e.role), ["vlek", "ask", "ark"]);
    assert.deepEqual(parsed[0]!.der, fixture("sev-snp/aws-vlek.der"));
    const mixed = Uint8Array.from(VLEK_TABLE);
    mixed.subarray(0, 4).reverse();
    mixed.subarray(4, 6).reverse();
    mixed.subarray(6, 8).reverse();
    assert.equal(parseSnpCertTable(mixed)[0]!.role, "vlek");
    assert.deepEqual(parseSnpCertTable(new Uint8Array(0)), []);
  });

  it("refuses tables without terminator or pointing outside", () => {
    assert.throws(() => parseSnpCertTable(VLEK_TABLE.subarray(0, 30)), { code: "malformed-evidence" });
    const bad = Uint8Array.from(VLEK_TABLE);
    new DataView(bad.buffer).setUint32(20, 0xffffff, true);
    assert.throws(() => parseSnpCertTable(bad), { code: "malformed-evidence" });
  });

  it("orders directory certificates leaf first, root last, and names a bad file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sanctum-certs-"));
    try {
      await writeFile(join(dir, "a-chain.pem"), await readFile(FIXTURES + "sev-snp/ask_ark_milan_vlek.pem"));
      await writeFile(join(dir, "z-vlek.der"), fixture("sev-snp/aws-vlek.der"));
      await writeFile(join(dir, "notes.txt"), "ignored");
      const loaded = await loadAttestationCerts(dir);
      assert.equal(loaded.hasSnpLeaf, true);
      assert.deepEqual(loaded.certificates, [fixture("sev-snp/aws-vlek.der"), ASVK, ARK]);
      await writeFile(join(dir, "broken.der"), "not a certificate");
      await assert.rejects(loadAttestationCerts(dir), (err: Error & { code?: string }) => err.code === "collection-failed" && /broken\.der/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
