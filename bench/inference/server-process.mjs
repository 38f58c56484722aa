// Starts a simulation server in its own process for the benchmark, with the thread layout
// given on the command line, and prints its URL. Usage:
//   node bench/inference/server-process.mjs DATA_DIR WORKERS INTRA_OP_THREADS
import { createSanctumServer } from "@sanctum/server";

const [dataDir, workers, intra] = process.argv.slice(2);
const server = await createSanctumServer({
  platform: "simulation",
  port: 0,
  dataDir,
  logLevel: "warn",
  inferenceWorkers: Number(workers),
  intraOpThreads: Number(intra),
});
process.stdout.write(`listening on ${server.url}\n`);
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
// The benchmark asks for this process's CPU time (all threads) to report CPU per request.
process.on("SIGUSR2", () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`cpu ${user + system}\n`);
});
