/** The platforms Sanctum knows. `simulation` gives no protection and is for development only. */
export const PLATFORMS = ["simulation", "sev-snp", "tdx"] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export function isPlatformName(value: string): value is PlatformName {
  return (PLATFORMS as readonly string[]).includes(value);
}
