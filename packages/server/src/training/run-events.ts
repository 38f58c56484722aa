import type { EpochMetricsRecord, TrainingRunRecord } from "./run-record.js";

/** What a watcher of a run sees. The last event of a run is always `run` with a final status. */
export type RunEvent =
  | { readonly kind: "progress"; readonly epoch: number; readonly step: number; readonly totalSteps: number }
  | { readonly kind: "epoch"; readonly metrics: EpochMetricsRecord }
  | { readonly kind: "run"; readonly run: TrainingRunRecord };

/** Fan-out of one run's events to its watchers; each watcher gets an async queue. */
export interface RunEventHub {
  publish(event: RunEvent): void;
  /** Events from now on, until the final `run` event or `signal` aborts. */
  subscribe(signal?: AbortSignal): AsyncIterable<RunEvent>;
}

/** Creates a hub. Watchers that fall behind keep at most `maxQueued` progress events (older ones are dropped). */
export function createRunEventHub(maxQueued = 1000): RunEventHub {
  const watchers = new Set<{ queue: RunEvent[]; wake: () => void }>();
  return {
    publish(event) {
      for (const w of watchers) {
        if (event.kind === "progress" && w.queue.length >= maxQueued) continue;
        w.queue.push(event);
        w.wake();
      }
    },
    subscribe(signal) {
      const watcher = { queue: [] as RunEvent[], wake: () => {} };
      watchers.add(watcher);
      return {
        async *[Symbol.asyncIterator]() {
          const onAbort = () => watcher.wake();
          signal?.addEventListener("abort", onAbort);
          try {
            for (;;) {
              while (watcher.queue.length > 0) {
                const event = watcher.queue.shift()!;
                yield event;
                if (event.kind === "run" && event.run.status !== "running") return;
              }
              if (signal?.aborted === true) return;
              await new Promise<void>((resolve) => (watcher.wake = resolve));
            }
          } finally {
            signal?.removeEventListener("abort", onAbort);
            watchers.delete(watcher);
          }
        },
      };
    },
  };
}
