// Server and client CPU per predict call, gRPC vs Connect protocol (connect-node's client) vs
// the SDK's unary transport (Connect protocol written directly on the session), on the same server and
// model (text classifier, batch 1, 16 calls in flight), with one cached token so token
// verification is not measured. Four interleaved rounds of 1.5 s each; medians printed.
//   node bench/inference/protocols.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createUnaryTransport } from "../../packages/client/dist/unary-transport.js";
import { generateIdentity, createAccessToken, audienceForSpki, ModelService } from "@sanctum/protocol";
import { uploadStream } from "../../packages/server/dist/test-support/upload-stream.js";
const ROOT = new URL("../../", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "sb-"));
const child = spawn(process.execPath, [join(ROOT, "bench/inference/server-process.mjs"), dataDir, "1", "1"], { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
const url = await new Promise((res) => { child.stdout.on("data", (d) => { out += d; const m = /listening on (\S+)\n/.exec(out); if (m) res(m[1]); }); });
const cpu = () => new Promise((res) => { const before = out.length; const h = () => { const m = /cpu (\d+)\n/.exec(out.slice(before)); if (m) { child.stdout.off("data", h); res(Number(m[1])); } }; child.stdout.on("data", h); child.kill("SIGUSR2"); });
const { certPem, spki } = await new Promise((res) => { const u = new URL(url); const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => { const c = s.getPeerX509Certificate(); res({ certPem: c.toString(), spki: new Uint8Array(c.publicKey.export({ type: "spki", format: "der" })) }); s.destroy(); }); });
const identity = generateIdentity();
const token = await createAccessToken(identity, { audience: audienceForSpki(spki), lifetimeSec: 300 });
const auth = (next) => async (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); };
const nodeOptions = { ca: certPem, checkServerIdentity: () => undefined };
const clients = {
  grpc: createClient(ModelService, createGrpcTransport({ baseUrl: url, nodeOptions, interceptors: [auth] })),
  connect: createClient(ModelService, createConnectTransport({ baseUrl: url, httpVersion: "2", nodeOptions, interceptors: [auth] })),
  sdk: createClient(ModelService, createUnaryTransport({ baseUrl: url, sessionManager: new Http2SessionManager(url, {}, nodeOptions), streams: undefined, callHeaders: () => ({ authorization: `Bearer ${token}` }) })),
};
await clients.grpc.uploadModel(uploadStream("text", readFileSync(ROOT + "fixtures/inference/text.onnx")));
const inputs = { input_ids: { $typeName: "sanctum.v1.Tensor", dtype: "int64", shape: [1n, 16n], data: new Uint8Array(128) }, attention_mask: { $typeName: "sanctum.v1.Tensor", dtype: "int64", shape: [1n, 16n], data: new Uint8Array(128).fill(0) } };
const acc = { grpc: [], connect: [], sdk: [] };
for (let round = 0; round < 4; round++) for (const protocol of ["grpc", "connect", "sdk"]) {
  const c = clients[protocol];
  for (let i = 0; i < 50; i++) await c.predict({ model: "text", inputs });
  const s0 = await cpu(); const c0 = process.cpuUsage(); const t0 = performance.now(); let n = 0;
  await Promise.all(Array.from({ length: 16 }, async () => { while (performance.now() - t0 < 1500) { await c.predict({ model: "text", inputs }); n++; } }));
  const s1 = await cpu(); const c1 = process.cpuUsage(c0);
  acc[protocol].push([(n / 1.5), (s1 - s0) / n, (c1.user + c1.system) / n]);
}
for (const [p, rows] of Object.entries(acc)) { const med = (i) => rows.map((r) => r[i]).sort((a, b) => a - b)[Math.floor(rows.length / 2)]; console.log(p, "rps", med(0).toFixed(0), "server us/req", med(1).toFixed(0), "client us/req", med(2).toFixed(0)); }
child.kill("SIGTERM");
process.exit(0); // the clients' HTTP/2 sessions would keep the process alive
