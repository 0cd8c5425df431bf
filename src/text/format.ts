// Text for a terminal, for the TUI and the headless output alike: cell
// widths, cutting and padding to a width, wrapping, and the numbers people
// read (sizes, rates, durations). Widths are terminal cells as string-width
// counts them: a CJK character or an emoji takes two, a combining mark none.
import stringWidth from 'string-width';
import { withoutControls } from './sanitize.ts';

/** Cells a string takes on a terminal (wide characters two, combining marks none). */
export function cells(s: string): number {
  return stringWidth(s);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The longest start of `s` that fits in `width` cells, never splitting a character. */
export function headCells(s: string, width: number): string {
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(s)) {
    const w = stringWidth(segment);
    if (used + w > width) break;
    out += segment;
    used += w;
  }
  return out;
}

/** At most `width` cells, controls shown as spaces; a cut string ends with … */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  const clean = withoutControls(s, ' ');
  if (cells(clean) <= width) return clean;
  return `${headCells(clean, width - 1)}…`;
}

/** Exactly `width` cells: cut with … or padded with spaces. */
export function clip(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(s, width);
  const pad = ' '.repeat(Math.max(0, width - cells(t)));
  return align === 'left' ? t + pad : pad + t;
}

export interface WrapOptions {
  /** at most this many lines; the last one cut with … */
  maxLines?: number;
  /** put before the first line, and before every other line (counted in the width) */
  indent?: { first: string; rest: string };
  /** a word longer than a line: broken over lines (default), or cut with … */
  long?: 'break' | 'cut';
}

/** Words of a text wrapped to lines of at most `width` cells. */
export function wrap(text: string, width: number, o: WrapOptions = {}): string[] {
  const first = o.indent?.first ?? '';
  const rest = o.indent?.rest ?? '';
  const lines: string[] = [];
  let cur = '';
  const lead = () => (lines.length === 0 ? first : rest);
  const room = () => Math.max(1, width - cells(lead()));
  const push = (line: string) => lines.push(lead() + line);
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur && cells(cur) + 1 + cells(word) > room()) {
      push(cur);
      cur = '';
    }
    if (!cur && o.long === 'cut') {
      cur = truncate(word, room());
      continue;
    }
    cur = cur ? `${cur} ${word}` : word;
    while (o.long !== 'cut' && cells(cur) > room()) {
      const head = headCells(cur, room()) || [...cur][0] || '';
      push(head);
      cur = cur.slice(head.length);
    }
  }
  if (cur) push(cur);
  const max = o.maxLines ?? Number.POSITIVE_INFINITY;
  if (lines.length > max) {
    const kept = lines.slice(0, max);
    kept[max - 1] = truncate(`${kept[max - 1]} …`, width);
    return kept;
  }
  return lines;
}

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
