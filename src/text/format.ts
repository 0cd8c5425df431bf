// Text for a terminal, for the TUI and the headless output alike: cell
// widths, cutting and padding to a width, wrapping. Widths are terminal cells
// as string-width counts them: a CJK character or an emoji takes two, a
// combining mark none. string-width costs ~15 ms to load (an Intl.Segmenter):
// the headless commands load this module only to print a table (numbers.ts
// has what the plan's messages need).
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
