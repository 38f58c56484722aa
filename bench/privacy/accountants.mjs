// Times the privacy accountants: one epsilon at 10^4 and 10^6 steps and one calibration,
// for RDP and PRV. Run after `npx tsc -b packages/privacy`:
//   node bench/privacy/accountants.mjs [--repeat N]
import { calibrateNoiseMultiplier, computeEpsilon } from "../../packages/privacy/dist/index.js";
// Internal, for one row only: the PRV accountant with the grid cap raised to 2^23 points.
import { computePrvEpsilon } from "../../packages/privacy/dist/prv.js";

const repeatFlag = process.argv.indexOf("--repeat");
const repeat = repeatFlag > 0 ? Number(process.argv[repeatFlag + 1]) : 5;

/** CPU time of this process (user + system), in ms. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Wall time of the first run (cold: JIT, FFT plan) and medians of wall and CPU time of
 * `repeat` more, in ms. On a loaded machine the CPU time is the steadier figure.
 */
function time(fn) {
  const coldStart = process.hrtime.bigint();
  let result = fn();
  const cold = Number(process.hrtime.bigint() - coldStart) / 1e6;
  const times = [];
  const cpus = [];
  for (let i = 0; i < repeat; i++) {
    const cpuStart = cpuMs();
    const start = process.hrtime.bigint();
    result = fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    cpus.push(cpuMs() - cpuStart);
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { ms: median(times), cpu: median(cpus), cold, result };
}

const delta = 1e-5;
const cases = [
  { name: "epsilon, 10^4 steps", target: { rdp: 5, prv: 200 }, run: (accountant) => computeEpsilon({ history: [{ noiseMultiplier: 1.0, sampleRate: 0.001, steps: 10_000 }], delta, accountant }) },
  { name: "epsilon, 10^6 steps", target: { rdp: 5, prv: 200 }, run: (accountant) => computeEpsilon({ history: [{ noiseMultiplier: 1.0, sampleRate: 0.001, steps: 1_000_000 }], delta, accountant }) },
  { name: "epsilon, 10^6 steps, epsError 0.05", target: { prv: 200 }, run: (accountant) => computeEpsilon({ history: [{ noiseMultiplier: 1.0, sampleRate: 0.001, steps: 1_000_000 }], delta, accountant, epsError: 0.05 }) },
  {
    name: "epsilon, 10^6 steps, grid cap 2^23 (internal)",
    target: { prv: 200 },
    run: () => {
      const b = computePrvEpsilon([{ noiseMultiplier: 1.0, sampleRate: 0.001, steps: 1_000_000 }], { delta, epsError: 0.01, deltaError: delta / 1000, maxGridSize: 2 ** 23 });
      return { epsilon: b.upper, epsilonEstimate: b.estimate, gridSize: b.gridSize, epsError: b.epsError };
    },
  },
  { name: "calibration, eps 8, 10^4 steps", target: { rdp: 2000, prv: 2000 }, run: (accountant) => calibrateNoiseMultiplier({ targetEpsilon: 8, delta, sampleRate: 0.01, steps: 10_000, accountant }) },
];

console.log(`node ${process.version}, ${repeat} timed runs each after a warm-up (median), sigma 1.0 q 0.001 for epsilon, q 0.01 for calibration, delta 1e-5`);
console.log("| case | accountant | first call ms | median ms | median CPU ms | target ms | result |");
console.log("|---|---|---:|---:|---:|---:|---|");
for (const c of cases) {
  for (const accountant of Object.keys(c.target)) {
    const { ms, cpu, cold, result } = time(() => c.run(accountant));
    const shown =
      "noiseMultiplier" in result
        ? `sigma ${result.noiseMultiplier.toFixed(4)} (eps ${result.epsilon.toFixed(4)})`
        : accountant === "prv"
          ? `eps ${result.epsilon.toFixed(4)} (estimate ${result.epsilonEstimate.toFixed(4)})`
          : `eps ${result.epsilon.toFixed(4)} (order ${result.order})`;
    const grid = "gridSize" in result ? `, grid 2^${Math.log2(result.gridSize)}, error term ${result.epsError.toFixed(4)}` : "";
    console.log(`| ${c.name} | ${accountant} | ${cold.toFixed(1)} | ${ms.toFixed(1)} | ${cpu.toFixed(1)} | ${c.target[accountant]} | ${shown}${grid} |`);
  }
}
