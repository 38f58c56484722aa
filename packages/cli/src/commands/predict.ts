import type { Command } from "commander";

/** Registers `sanctum predict`. */
export function registerPredict(_program: Command): void {}
