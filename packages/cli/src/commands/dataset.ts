import type { Command } from "commander";

/** Registers `sanctum dataset`. */
export function registerDataset(_program: Command): void {}
