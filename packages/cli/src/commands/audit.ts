import type { Command } from "commander";

/** Registers `sanctum audit`. */
export function registerAudit(_program: Command): void {}
