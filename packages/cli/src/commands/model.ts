import type { Command } from "commander";

/** Registers `sanctum model`. */
export function registerModel(_program: Command): void {}
