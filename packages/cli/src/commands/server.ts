import type { Command } from "commander";

/** Registers `sanctum server`. */
export function registerServer(_program: Command): void {}
