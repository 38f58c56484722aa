import type { Command } from "commander";

/** Registers `sanctum receipt`. */
export function registerReceipt(_program: Command): void {}
