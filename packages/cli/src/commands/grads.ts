import type { Command } from "commander";

/** Registers `sanctum grads`. */
export function registerGrads(_program: Command): void {}
