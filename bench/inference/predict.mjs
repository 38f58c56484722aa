// p50/p99 latency and throughput of predict over the attested channel (SDK -> TLS/HTTP2 ->
// server process -> worker thread) against onnxruntime-node in this process, same model and
// same onnxruntime thread count. Run from the repository root after `npm run build`:
//
//   node bench/inference/predict.mjs [--workers W] [--intra T] [--seconds S] [--warmup S] [--out FILE.json]
//     [--models cnn,text] [--batches 1,32] [--concurrency 1,16]
//
// The server runs in a child process (so client and server do not share an event loop);
// the in-process baseline is one InferenceSession with intraOpNumThreads = W x T... see
// README: by default both sides use the same total number of onnxruntime threads.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { generateIdentity } from "@sanctum/protocol";
import { connect } from "@sanctum/client";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const WORKERS = Number(args.workers ?? 1);
const INTRA = Number(args.intra ?? Math.max(1, Math.floor(availableParallelism() / WORKERS)));
const SECONDS = Number(args.seconds ?? 3);
const WARMUP = Number(args.warmup ?? 1);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(ROOT, "fixtures/inference/");
const SEQ = 16;

function inputsFor(model, batch) {
  if (model === "cnn") {
    const data = new Float32Array(batch * 784);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000;
    return { image: { dtype: "float32", shape: [batch, 1, 28, 28], data } };
  }
  const ids = new BigInt64Array(batch * SEQ);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(1 + ((i * 31) % 99));
  const mask = new BigInt64Array(batch * SEQ).fill(1n);
  return {
    input_ids: { dtype: "int64", shape: [batch, SEQ], data: ids },
    attention_mask: { dtype: "int64", shape: [batch, SEQ], data: mask },
  };
}

// `meter.start`/`meter.stop` bracket the timed part only (CPU counters), not the warm-up.
async function measure(run, concurrency, meter) {
  // Warm-up: sessions loaded and both processes' JIT settled (20 calls left the server
  // compiling through the first measured row: its CPU per call read 2x the steady state),
  // at least 20 calls and WARMUP seconds, at the row's concurrency.
  const warmUntil = performance.now() + WARMUP * 1000;
  let warmed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (warmed < 20 || performance.now() < warmUntil) {
        warmed++;
        await run();
      }
    }),
  );
  const latencies = [];
  await meter.start();
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await run();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  const cpuUs = await meter.stop();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { requests: latencies.length, p50Ms: q(0.5), p99Ms: q(0.99), throughputRps: latencies.length / wall, cpuUs };
}

async function startServer(dataDir) {
  const child = spawn(process.execPath, [join(ROOT, "bench/inference/server-process.mjs"), dataDir, String(WORKERS), String(INTRA)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  let waiters = [];
  let exited;
  child.stdout.on("data", (d) => {
    out += d;
    for (const w of waiters) w();
  });
  child.once("exit", (code) => {
    exited = new Error(`server exited with ${code}`);
    for (const w of waiters) w();
  });
  const waitFor = (re) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (exited) return reject(exited);
        const m = re.exec(out);
        if (m) {
          out = out.slice(m.index + m[0].length);
          waiters = waiters.filter((w) => w !== check);
          resolve(m[1]);
        }
      };
      waiters.push(check);
      check();
    });
  const url = await waitFor(/listening on (\S+)\n/);
  const cpuMicros = async () => {
    const reply = waitFor(/cpu (\d+)\n/);
    child.kill("SIGUSR2");
    return Number(await reply);
  };
  return { url, cpuMicros, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
}

const dataDir = mkdtempSync(join(tmpdir(), "sanctum-bench-"));
const server = await startServer(dataDir);
const identity = generateIdentity();
const client = await connect(server.url, { identity, allowSimulation: true });
const results = [];
try {
  for (const model of (args.models ?? "cnn,text").split(",")) {
    const bytes = readFileSync(join(FIXTURES, `${model}.onnx`));
    await client.models.upload(bytes, { name: model });
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: WORKERS * INTRA,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    if (results.length === 0) {
      // Once, before the first row: the server process is fresh (its JIT has seen a handful
      // of calls), a long-running server is not. 3 s of calls at 16 in flight.
      const inputs = inputsFor(model, 1);
      const until = performance.now() + 3000;
      await Promise.all(Array.from({ length: 16 }, async () => { while (performance.now() < until) await client.models.predict(model, inputs); }));
    }
    for (const batch of (args.batches ?? "1,32").split(",").map(Number)) {
      const inputs = inputsFor(model, batch);
      const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.shape)]));
      for (const concurrency of (args.concurrency ?? "1,16").split(",").map(Number)) {
        const ownCpu = () => {
          let t0;
          return {
            start: async () => void (t0 = process.cpuUsage()),
            stop: async () => {
              const t = process.cpuUsage(t0);
              return t.user + t.system;
            },
          };
        };
        const local = await measure(() => session.run(feeds), concurrency, ownCpu());
        local.cpuUsPerRequest = local.cpuUs / local.requests;
        let server0;
        const clientCpu = ownCpu();
        const remote = await measure(() => client.models.predict(model, inputs), concurrency, {
          start: async () => {
            server0 = await server.cpuMicros();
            await clientCpu.start();
          },
          stop: async () => {
            const clientUs = await clientCpu.stop();
            return { server: (await server.cpuMicros()) - server0, client: clientUs };
          },
        });
        remote.serverCpuUsPerRequest = remote.cpuUs.server / remote.requests;
        remote.clientCpuUsPerRequest = remote.cpuUs.client / remote.requests;
        const row = {
          model,
          batch,
          concurrency,
          local,
          remote,
          p50OverheadMs: remote.p50Ms - local.p50Ms,
          throughputRatio: remote.throughputRps / local.throughputRps,
        };
        results.push(row);
        console.log(
          `${model.padEnd(4)} batch ${String(batch).padStart(2)} conc ${String(concurrency).padStart(2)} | ` +
            `in-process p50 ${local.p50Ms.toFixed(3)} p99 ${local.p99Ms.toFixed(3)} ms ${local.throughputRps.toFixed(0)}/s | ` +
            `remote p50 ${remote.p50Ms.toFixed(3)} p99 ${remote.p99Ms.toFixed(3)} ms ${remote.throughputRps.toFixed(0)}/s | ` +
            `p50 +${row.p50OverheadMs.toFixed(3)} ms, throughput ${(100 * row.throughputRatio).toFixed(0)} % | ` +
            `CPU/request: in-process ${local.cpuUsPerRequest.toFixed(0)} us, remote server ${remote.serverCpuUsPerRequest.toFixed(0)} + client ${remote.clientCpuUsPerRequest.toFixed(0)} us`,
        );
      }
    }
    await session.release();
  }
} finally {
  client.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const summary = { workers: WORKERS, intraOpThreads: INTRA, seconds: SECONDS, warmupSeconds: WARMUP, cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, results };
if (args.out) writeFileSync(args.out, JSON.stringify(summary, null, 2) + "\n");
