#!/usr/bin/env node
// Dataset upload throughput (issue 6): a Fashion-MNIST-sized dataset (60000 x 784 float32 plus
// int64 labels, 180 MiB) validated on the client, streamed as safetensors in 1 MiB chunks over
// the attested channel, validated again and sealed by a simulation server on a loopback port.
//   node bench/training-service/upload.mjs
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createTensor } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";
import { createSanctumServer } from "@sanctum/server";
const dir = mkdtempSync(join(tmpdir(), "big-"));
const server = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "warn" });
const c = await connect(server.url, { identity: generateIdentity(), allowSimulation: true });
const n = 60000, f = 784;
const x = new Float32Array(n * f); for (let i = 0; i < x.length; i++) x[i] = (i % 255) / 255;
const y = new BigInt64Array(n); for (let i = 0; i < n; i++) y[i] = BigInt(i % 10);
const t0 = performance.now();
const info = await c.datasets.upload({ x: createTensor("float32", x, [n, f]), labels: createTensor("int64", y, [n]) }, { name: "fm", epsilon: 3 });
const ms = performance.now() - t0;
console.log(info.rows, (info.sizeBytes / 1048576).toFixed(1), "MiB in", ms.toFixed(0), "ms =", (info.sizeBytes / 1048576 / (ms / 1000)).toFixed(1), "MiB/s");
c.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
