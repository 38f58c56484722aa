import type { Command } from "commander";

/** Registers `sanctum keygen`. */
export function registerKeygen(_program: Command): void {}
