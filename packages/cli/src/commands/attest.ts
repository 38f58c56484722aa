import type { Command } from "commander";

/** Registers `sanctum attest`. */
export function registerAttest(_program: Command): void {}
