import type { Command } from "commander";

/** Registers `sanctum dp`. */
export function registerDp(_program: Command): void {}
