import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { encodeSnpCertTable, SNP_CERT_GUIDS, type TsmFileSystem } from "@sanctum/attestation";
import { generateIdentity } from "@sanctum/protocol";
import { createSanctumServer, type SanctumServer } from "./index.js";
import { createTestClient } from "./test-support/test-client.js";
import { expectCode } from "./test-support/expect-code.js";
import { Code } from "@connectrpc/connect";

const SNP = new URL("../../attestation/fixtures/sev-snp/", import.meta.url);
const snpFixture = (name: string) => new Uint8Array(readFileSync(new URL(name, SNP)));

function pemBlocks(text: string): Uint8Array[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map(
    (m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")),
  );
}

/** Plays the kernel's part of configfs-tsm (an SEV-SNP guest) on a temporary directory. */
function fakeSnpKernel(outblob: Uint8Array, auxblob: Uint8Array): TsmFileSystem {
  const generation = new Map<string, number>();
  const bump = (entry: string) => {
    generation.set(entry, (generation.get(entry) ?? 0) + 1);
    writeFileSync(join(entry, "generation"), `${generation.get(entry)}\n`);
  };
  return {
    async mkdir(path) {
      mkdirSync(path);
      writeFileSync(join(path, "provider"), "sev_guest\n");
      generation.set(path, 0);
      writeFileSync(join(path, "generation"), "0\n");
    },
    async rmdir(path) {
      rmSync(path, { recursive: true });
    },
    async writeFile(path, data) {
      writeFileSync(path, data);
      bump(dirname(path));
    },
    async readFile(path) {
      if (basename(path) === "outblob") return Uint8Array.from(outblob);
      if (basename(path) === "auxblob") return Uint8Array.from(auxblob);
      return new Uint8Array(readFileSync(path));
    },
    async isDirectory(path) {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
  };
}

describe("a server on a hardware platform (SEV-SNP through a fake configfs-tsm)", () => {
  let dir: string;
  let server: SanctumServer;
  const lines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sanctum-snp-"));
    const root = join(dir, "tsm", "report");
    mkdirSync(root, { recursive: true });
    const [asvk, ark] = pemBlocks(readFileSync(new URL("ask_ark_milan_vlek.pem", SNP), "utf8"));
    const table = encodeSnpCertTable([
      { guid: SNP_CERT_GUIDS.vlek, der: snpFixture("aws-vlek.der") },
      { guid: SNP_CERT_GUIDS.ask, der: asvk! },
      { guid: SNP_CERT_GUIDS.ark, der: ark! },
    ]);
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString("utf8").split("\n").filter((l) => l.length > 0));
        done();
      },
    });
    server = await createSanctumServer({
      platform: "auto",
      port: 0,
      dataDir: join(dir, "data"),
      configfsRoot: root,
      configfs: fakeSnpKernel(snpFixture("aws-vlek-report.bin"), table),
      logLevel: "info",
      logDestination,
    });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports its platform and never claims to be insecure", async () => {
    assert.equal(server.platform, "sev-snp");
    const client = createTestClient(server, { identity: generateIdentity() });
    assert.deepEqual((await client.models.listModels({})).models, []);
    assert.equal(client.lastHeaders()?.get("sanctum-platform"), "sev-snp");
    assert.equal(client.lastHeaders()?.get("sanctum-insecure"), null);
  });

  it("fails closed when the platform's report does not bind this key and nonce", async () => {
    // The fake kernel answers every request with one recorded report, whose report data can
    // never be SHA-512(domain || SHA-256(this key) || nonce): the server must not pass it on.
    await expectCode(createTestClient(server).attestation.getEvidence({ nonce: new Uint8Array(32) }), Code.Internal, /server log/);
    assert.ok(lines.some((l) => /"errCode":"collection-failed"/.test(l)), "the cause is logged for the operator");
  });

  it("logs without the insecure stamp, and warns that the sealing key is a plain file", () => {
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal((JSON.parse(line) as { insecure?: boolean }).insecure, undefined, line);
    assert.ok(lines.some((l) => /sealing key is a file on the data disk/.test(l)));
  });
});
