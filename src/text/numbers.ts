// The numbers people read, as ferry writes them everywhere: sizes, rates,
// durations, a progress bar. Cheap to load (the headless commands' start
// needs it); cell widths live in format.ts.

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** How a size is written: its units (bytes first), their base, the decimals per unit. */
export interface BytesFormat {
  base: 1000 | 1024;
  /** unit names, bytes first; a value is written in the largest unit it reaches */
  units: readonly string[];
  /** the smallest unit used (1: never plain bytes) */
  from?: number;
  /** between the number and the unit */
  space?: boolean;
  /** decimals for the unit at `index`, for a value of `value` in it */
  decimals: (index: number, value: number) => number;
}

/** The formats ferry writes sizes in. */
export const BYTES = {
  /** messages and the ps table: "64.0 MiB", "512 B", "245 KiB" */
  iec: {
    base: 1024,
    units: ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'],
    space: true,
    decimals: (i, v) => (i === 0 || v >= 100 ? 0 : 1),
  },
  /** the run screen's byte counts and rates: "512K", "32.0M", "1.50G" */
  terse: { base: 1024, units: ['B', 'K', 'M', 'G'], decimals: (i) => [0, 0, 1, 2][i] ?? 2 },
  /** the MEM column: "64M", "1.2G" (no bytes: a container holds at least a few K) */
  mem: { base: 1024, units: ['B', 'K', 'M', 'G'], from: 1, decimals: (i) => (i === 3 ? 1 : 0) },
  /** the headless plan: decimal megabytes, "68 MB" */
  mb: { base: 1000, units: ['B', 'kB', 'MB'], from: 2, space: true, decimals: () => 0 },
} as const satisfies Record<string, BytesFormat>;

/** A size in bytes as `f` writes it (by default "64.0 MiB"). */
export function formatBytes(n: number, f: BytesFormat = BYTES.iec): string {
  let i = 0;
  let v = n;
  while (i < f.units.length - 1 && (i < (f.from ?? 0) || v >= f.base)) {
    v /= f.base;
    i++;
  }
  return `${v.toFixed(f.decimals(i, v))}${f.space ? ' ' : ''}${f.units[i]}`;
}

/** Memory as the MEM columns show it: "64M", "1.2G"; "-" when not known. */
export function formatMem(b: number | null): string {
  return b === null ? '-' : formatBytes(b, BYTES.mem);
}

/** A rate in the run screen's terse units, "80.0M/s"; nothing when there is none yet. */
export function formatRate(bytesPerSec: number): string {
  return bytesPerSec > 0 ? `${formatBytes(bytesPerSec, BYTES.terse)}/s` : '';
}

/** [#####-----] of `width` cells; fraction null: unknown total, an empty bar. */
export function progressBar(fraction: number | null, width: number): string {
  const inner = Math.max(1, width - 2);
  const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * inner);
  return `[${'#'.repeat(full)}${'-'.repeat(inner - full)}]`;
}
