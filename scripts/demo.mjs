#!/usr/bin/env node
// `npm run demo`: confidential inference end to end on one machine. It starts a Sanctum
// server on the simulation platform with a temporary data dir, attests it, uploads the
// bundled sample model, runs a confidential prediction with a signed receipt through the
// SDK, prints everything it did, then shuts down and removes the data dir.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSanctumServer } from "@sanctum/server";
import { connect, decodeJsonTensors, encodeJsonTensors, spkiFingerprint, verifyReceiptFile } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";

const root = fileURLToPath(new URL("..", import.meta.url));
const modelPath = join(root, "fixtures/inference/sample.onnx");
const inputPath = join(root, "fixtures/inference/sample.inputs.json");
const say = (line = "") => process.stdout.write(line + "\n");

const dataDir = mkdtempSync(join(tmpdir(), "sanctum-demo-"));
let server;
let client;
try {
  say("Sanctum demo: confidential inference, end to end, on this machine");
  say();
  server = await createSanctumServer({ port: 0, dataDir, platform: "simulation", logLevel: "silent" });
  say(`1. Started a server at ${server.url} (platform ${server.platform}, data dir ${dataDir}).`);
  say("   WARNING: the simulation platform is INSECURE: there is no TEE, so the operator could read");
  say("   models, inputs and outputs. It exists for development; production runs on SEV-SNP or TDX.");

  const identity = generateIdentity();
  say(`2. Made an identity for the demo user (Ed25519): ${identity.publicKey}`);

  const refused = await connect(server.url, { identity }).then(
    (c) => (c.close(), "connected (unexpected!)"),
    (err) => `${err.code}: ${err.message}`,
  );
  say("3. A client that does not allow simulation refuses this server, having sent nothing but a nonce:");
  say(`   ${refused}`);

  client = await connect(server.url, { identity, allowSimulation: true });
  const a = client.attestation;
  say("4. Attested the server again, allowing simulation, before sending anything:");
  say(`   platform     ${a.platform} (accepted only because the demo passes allowSimulation: true)`);
  say(`   measurement  ${a.measurement ?? ""}`);
  say(`   version      ${a.serverVersion ?? client.evidence.serverVersion}`);
  say(`   server key   sha256:${spkiFingerprint(client.serverSpki)}`);
  say(`   result       ${a.verified ? "verified" : "NOT verified"}: the evidence is signed, fresh (our 32-byte nonce) and binds`);
  say("                this TLS key, which is now pinned for every call.");

  const model = await client.models.upload(modelPath, { name: "sample" });
  say(`5. Uploaded fixtures/inference/sample.onnx (${statSync(modelPath).size} bytes), sealed on the server:`);
  say(`   id ${model.id}, name ${model.name}, sha256 ${model.sha256}`);
  for (const s of model.inputs) say(`   input  ${s.name} ${s.dtype} [${s.shape.join(", ")}]`);
  for (const s of model.outputs) say(`   output ${s.name} ${s.dtype} [${s.shape.join(", ")}]`);

  const inputs = decodeJsonTensors(readFileSync(inputPath, "utf8"), "sample.inputs.json");
  const result = await client.models.predict("sample", inputs, { receipt: true });
  say("6. Ran a confidential prediction over the attested channel on x = linspace(-1, 1, 16):");
  for (const [name, t] of Object.entries(encodeJsonTensors(result.outputs))) {
    say(`   ${name} ${t.dtype} [${t.shape.join(", ")}] = [${t.data.map((v) => (typeof v === "number" ? v.toFixed(6) : String(v))).join(", ")}]`);
  }
  const check = await verifyReceiptFile(result.receipt, { allowSimulation: true, inputs, outputs: result.outputs });
  const st = check.statement;
  say(`7. Receipt signed by the attested server key: ${check.valid ? "valid" : "INVALID: " + check.problems.map((p) => p.message).join("; ")}`);
  if (st !== undefined) say(`   model sha256 ${st.modelSha256}, inputs ${st.inputDigest.slice(0, 16)}..., outputs ${st.outputDigest.slice(0, 16)}..., at ${st.time}`);
  if (!check.valid) process.exitCode = 1;
} catch (err) {
  process.stderr.write(`error: demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  client?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
  say(`8. Shut the server down and removed ${dataDir}.`);
}

// ---------------------------------------------------------------------------------------
// Part 2 (issue 6): confidential DP training as a service, in its own file
// (scripts/demo-training.mjs: a hospital's dataset, remote DP-SGD at epsilon 1, deployment).
if (!process.exitCode) await import("./demo-training.mjs");
