import type { Command } from "commander";

/** Registers `sanctum train`. */
export function registerTrain(_program: Command): void {}
