import type { Command } from "commander";

/** Registers `sanctum verify-evidence`. */
export function registerVerifyEvidence(_program: Command): void {}
