import type { Command } from "commander";

/** Registers `sanctum train-local`. */
export function registerTrainLocal(_program: Command): void {}
