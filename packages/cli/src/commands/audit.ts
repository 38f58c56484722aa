import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";

/** Registers `sanctum audit --dataset ID`: the dataset's audit log, verified here. */
export function registerAudit(program: Command): void {
  addClientOptions(
    program
      .command("audit")
      .description("read the audit log of a dataset you own and verify its hash chain and the server's signature")
      .requiredOption("--dataset <id>", "dataset id (ds_...)"),
  ).action(async (options: ClientOptionValues & { dataset: string }) => {
    await withClient(options, async (client) => {
      const log = await client.audit.dataset(options.dataset);
      if (options.json === true) {
        printJson({
          dataset: log.dataset,
          verified: log.verified,
          ...(log.head === undefined ? {} : { head: { seq: log.head.seq, hash: log.head.hash, time: log.head.time } }),
          ...(log.brokenSeq === undefined ? {} : { brokenSeq: log.brokenSeq }),
          ...(log.problem === undefined ? {} : { problem: log.problem }),
          entries: log.entries,
        });
      } else {
        for (const e of log.entries) {
          process.stdout.write(`${String(e.seq).padStart(5)}  ${e.time}  ${e.caller.slice(0, 20)}  ${e.action.padEnd(16)} ${e.outcome.padEnd(18)} ${e.details === "{}" ? "" : e.details}\n`);
        }
        if (log.verified) process.stdout.write(`verified: ${log.entries.length} entries, chain intact, head signed by the attested server key\n`);
      }
      if (!log.verified) {
        throw new CliError(`the audit log of dataset ${log.dataset} does NOT verify: ${log.problem ?? "unknown problem"}${log.brokenSeq === undefined ? "" : ` (entry ${log.brokenSeq})`}; the log was tampered with`);
      }
    });
  });
}
