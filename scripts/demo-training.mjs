#!/usr/bin/env node
// Second part of `npm run demo` (issue 6): confidential DP training as a service. A hospital
// uploads a medical table (sklearn's breast cancer data) with a privacy budget; a data
// scientist trains a model on it inside the TEE with DP-SGD at epsilon 1, never seeing a
// record, and deploys it; a user queries the deployed model. Runs alone too:
// `node scripts/demo-training.mjs` (after `npm run build`).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSanctumServer } from "@sanctum/server";
import { connect, createTensor, parseCsvDataset } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";

const root = fileURLToPath(new URL("..", import.meta.url));
const csvPath = join(root, "fixtures/datasets/breast_cancer.csv");
const modelPath = join(root, "fixtures/training/breast_cancer_mlp.onnx");
const say = (line = "") => process.stdout.write(line + "\n");
const r4 = (x) => Math.round(x * 10000) / 10000;

/** Per-column mean and standard deviation of a row-major [rows, columns] table, and a scaler. */
function standardizer(data, columns) {
  const rows = data.length / columns;
  const mean = new Float64Array(columns);
  const std = new Float64Array(columns);
  for (let i = 0; i < data.length; i++) mean[i % columns] += data[i] / rows;
  for (let i = 0; i < data.length; i++) std[i % columns] += (data[i] - mean[i % columns]) ** 2 / rows;
  for (let c = 0; c < columns; c++) std[c] = Math.sqrt(std[c]) || 1;
  return { apply: (x) => Float32Array.from(x, (v, i) => (v - mean[i % columns]) / std[i % columns]) };
}

const dataDir = mkdtempSync(join(tmpdir(), "sanctum-demo-training-"));
let server;
const clients = [];
try {
  say();
  say("Sanctum demo, part 2: confidential DP training as a service");
  say();
  server = await createSanctumServer({ port: 0, dataDir, platform: "simulation", logLevel: "silent" });
  say(`1. Started a server at ${server.url} (simulation platform: INSECURE, for development only).`);
  const hospital = generateIdentity();
  const scientist = generateIdentity();
  const user = generateIdentity();
  const stranger = generateIdentity();
  const open = async (identity) => {
    const c = await connect(server.url, { identity, allowSimulation: true });
    clients.push(c);
    return c;
  };
  const [asHospital, asScientist, asUser, asStranger] = [await open(hospital), await open(scientist), await open(user), await open(stranger)];
  say(`   hospital ${hospital.publicKey}`);
  say(`   data scientist ${scientist.publicKey}`);
  say(`   user ${user.publicKey}`);

  // The hospital standardizes its table before upload (per-feature mean and standard deviation,
  // which it publishes so that the model's users scale their queries the same way).
  const table = parseCsvDataset(readFileSync(csvPath, "utf8"), { label: "target" });
  const scaling = standardizer(table.x.data, 30);
  const dataset = await asHospital.datasets.upload(
    { x: createTensor("float32", scaling.apply(table.x.data), [table.labels.data.length, 30]), labels: table.labels },
    { name: "breast-cancer", epsilon: 1.2, trainers: [scientist.publicKey], weightsRelease: "nobody" },
  );
  say("2. The hospital standardized fixtures/datasets/breast_cancer.csv (label column 'target') and uploaded it:");
  say("   validated, streamed as safetensors and sealed (AES-256-GCM) in the TEE, with a privacy budget and a policy:");
  say(`   id ${dataset.id}, ${dataset.rows} rows, arrays ${dataset.arrays.map((a) => `${a.name} ${a.dtype} [${a.shape.join(", ")}]`).join(", ")}`);
  say(`   budget epsilon ${dataset.epsilonLimit} at delta ${dataset.delta}; trainers: the data scientist; weights release: nobody`);

  const seen = await asScientist.datasets.list();
  say(`3. The data scientist sees metadata only: ${seen.map((d) => `${d.name} (${d.rows} rows, spent ${d.epsilonSpent} of ${d.epsilonLimit})`).join(", ")}`);
  const refused = await asStranger.training
    .start({ model: modelPath, datasets: [dataset.id], loss: "cross_entropy", epochs: 1, epsilon: 1, batchSize: 64 })
    .then(() => "accepted (unexpected!)", (err) => `${err.code}`);
  say(`   A stranger who asks to train on it is refused: ${refused}`);

  say("4. The data scientist trains fixtures/training/breast_cancer_mlp.onnx remotely: DP-SGD at epsilon 1,");
  say("   Adam lr 0.05, batch 128, 10 epochs; the server calibrates the noise and reserves the budget first.");
  say("   Per-epoch loss and accuracy are computed on private data, so they come back noised (and charged):");
  const started = Date.now();
  const learner = asScientist.remoteLearner({ model: modelPath, datasets: [dataset.id], loss: "cross_entropy", optimizer: { kind: "adam", learningRate: 0.05 }, batchSize: 128 });
  const run = await learner.fit({
    epochs: 10,
    epsilon: 1,
    onProgress(event) {
      if (event.kind === "epoch") {
        const m = event.metrics;
        say(`   epoch ${String(m.epoch).padStart(2)}: noised loss ${r4(m.loss)} (noise std ${r4(m.lossNoiseStd)}), noised accuracy ${r4(m.accuracy)} (noise std ${r4(m.accuracyNoiseStd)})`);
      }
    },
  });
  const seconds = (Date.now() - started) / 1000;
  say("   (569 records at epsilon 1: the noise dominates these metrics; they become useful with more data or budget)");
  say(`   done in ${seconds.toFixed(2)} s: ${run.stepsDone} steps, noise multiplier ${r4(run.privacy.noiseMultiplier)}, sampling rate ${r4(run.privacy.sampleRate)},`);
  say(`   guarantee (epsilon ${r4(run.privacy.epsilon)}, delta ${run.privacy.delta}) for every patient, training and metrics composed.`);

  const weights = await learner.getModel().then(() => "downloaded (unexpected!)", (err) => err.code);
  say(`5. The hospital's policy keeps the weights in the TEE: downloading them is refused (${weights}).`);
  const model = await learner.deploy("breast-cancer-dp", { access: { allow: [user.publicKey] } });
  say(`   Deploying is allowed (the weights never leave the TEE): model ${model.id} "${model.name}", owner: the data scientist.`);

  const x = scaling.apply(table.x.data);
  const labels = table.labels.data;
  const patients = [0, 1, 19, 20, 21];
  const rows = new Float32Array(patients.length * 30);
  patients.forEach((p, i) => rows.set(x.subarray(p * 30, p * 30 + 30), i * 30));
  const answer = await asUser.models.predict(model.id, { x: createTensor("float32", rows, [patients.length, 30]) }, { receipt: true });
  const logits = answer.outputs.logits.data;
  say("6. A user queries the deployed model confidentially (inputs, scaled with the hospital's published");
  say("   means and deviations, and outputs sealed end to end), with a signed receipt:");
  patients.forEach((p, i) => {
    const predicted = logits[2 * i + 1] > logits[2 * i] ? "benign" : "malignant";
    say(`   patient ${String(p).padStart(3)}: predicted ${predicted.padEnd(9)} (true: ${labels[p] === 1n ? "benign" : "malignant"})`);
  });
  const all = await asUser.models.predict(model.id, { x: createTensor("float32", x, [labels.length, 30]) });
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if ((all.outputs.logits.data[2 * i + 1] > all.outputs.logits.data[2 * i] ? 1n : 0n) === labels[i]) correct++;
  say(`   (accuracy over the whole table, which it was trained on with DP: ${(correct / labels.length).toFixed(3)})`);

  const budget = await asHospital.datasets.budget(dataset.id);
  say(`7. The hospital reads its ledger: spent epsilon ${r4(budget.epsilonSpent)} of ${budget.epsilonLimit} (composed by RDP, not summed):`);
  for (const e of budget.entries) say(`   ${e.kind.padEnd(8)} sigma ${r4(e.noiseMultiplier)}, q ${r4(e.sampleRate)}, ${e.stepsSettled}/${e.stepsReserved} steps ${e.status}, epsilon alone ${r4(e.epsilon)}`);
  const again = await asScientist.training
    .start({ model: modelPath, datasets: [dataset.id], loss: "cross_entropy", epochs: 10, epsilon: 1, batchSize: 128 })
    .then(() => "accepted (unexpected!)", (err) => err.message);
  say(`   A second run at epsilon 1 would exceed the budget and is refused: ${again.split(";")[0]}`);

  const log = await asHospital.audit.dataset(dataset.id);
  say(`8. The hospital's audit log: ${log.entries.length} entries, chain and server signature ${log.verified ? "verified by the client" : "NOT verified: " + log.problem}:`);
  for (const e of log.entries) say(`   ${String(e.seq).padStart(2)} ${e.action.padEnd(16)} ${e.outcome.padEnd(18)} by ${e.caller === hospital.publicKey ? "hospital" : e.caller === scientist.publicKey ? "data scientist" : e.caller === stranger.publicKey ? "stranger" : e.caller}`);
  if (!log.verified) process.exitCode = 1;
} catch (err) {
  process.stderr.write(`error: demo (training) failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
  say(`9. Shut the server down and removed ${dataDir}.`);
}
