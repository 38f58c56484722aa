/** Prints rows under a header as left-aligned columns two spaces apart. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) process.stdout.write(row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd() + "\n");
}

/** A public key id shortened for a table column (the full id is in --json). */
export function shortKey(key: string): string {
  return key.length > 20 ? `${key.slice(0, 16)}...` : key;
}

/** A number rounded to 4 decimals for display. */
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
