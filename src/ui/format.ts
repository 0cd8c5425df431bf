// Fitting text into cells: every row is cut to the terminal's width here, so
// Ink never wraps a table row onto a second line.
import { withoutControls } from '../runtime/sanitize.ts';

/** Cells a string takes: one per code point (container names, hosts and messages are not wide text). */
export function cells(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// control characters would move the cursor: a message from a remote host may hold any (C1 and bidi too)
export { withoutControls } from '../runtime/sanitize.ts';

/** At most `width` cells; a cut string ends with … */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  const clean = withoutControls(s, ' ');
  const cps = [...clean];
  if (cps.length <= width) return clean;
  return `${cps.slice(0, width - 1).join('')}…`;
}

/** Exactly `width` cells: cut with … or padded with spaces. */
export function clip(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(s, width);
  const pad = ' '.repeat(Math.max(0, width - cells(t)));
  return align === 'left' ? t + pad : pad + t;
}

/** clip under its first name (src/cli/inventory.ts imports it as fit). */
export const fit = clip;

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

export function formatBytes(b: number): string {
  if (b < 1024) return `${b}B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(0)}K`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)}M`;
  return `${(b / 1024 ** 3).toFixed(2)}G`;
}

export function formatRate(bytesPerSec: number): string {
  return bytesPerSec > 0 ? `${formatBytes(bytesPerSec)}/s` : '';
}

/** [#####-----] of `width` cells; fraction null: unknown total, an empty bar. */
export function progressBar(fraction: number | null, width: number): string {
  const inner = Math.max(1, width - 2);
  const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * inner);
  return `[${'#'.repeat(full)}${'-'.repeat(inner - full)}]`;
}

/** Words of a long message wrapped to lines of `width` cells, at most `maxLines` (the last cut with …). */
export function wrap(text: string, width: number, maxLines = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur && cells(cur) + 1 + cells(word) > width) {
      lines.push(cur);
      cur = '';
    }
    cur = cur ? `${cur} ${word}` : word;
    while (cells(cur) > width) {
      lines.push([...cur].slice(0, width).join(''));
      cur = [...cur].slice(width).join('');
    }
  }
  if (cur) lines.push(cur);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} …`, width);
    return kept;
  }
  return lines;
}
