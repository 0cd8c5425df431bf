// The column engine: every table ferry prints (the TUI's container table,
// plan and run screens; the headless hosts, ps and plan tables) gets its
// column widths here and its rows cut and padded here, so their columns line
// up whatever the text (wide characters included).
import { cells, clip, truncate } from './format.ts';

export interface ColumnSpec<Id extends string = string> {
  id: Id;
  title: string;
  /** cells at least */
  min: number;
  /** cells at most; default min (a fixed width) */
  max?: number;
  /** share of the spare room; default 0 (stays at min) */
  weight?: number;
  /** dropped when the width is short, lowest first; 0 or none: never */
  drop?: number;
  /** takes the shortfall when even the columns that are never dropped do not fit */
  squeeze?: boolean;
  align?: 'left' | 'right';
  /** spaces before the column; default the table's gap (none before the first column) */
  gap?: number;
}

export interface Column<Id extends string = string> {
  id: Id;
  title: string;
  width: number;
  align: 'left' | 'right';
  /** spaces before the column */
  gap: number;
}

/** Columns whose widths and gaps add up to at most `width` (when the columns that stay fit at all). */
export function layoutColumns<Id extends string>(
  all: readonly ColumnSpec<Id>[],
  width: number,
  gap = 1,
): Column<Id>[] {
  let specs = [...all];
  const gapOf = (ss: readonly ColumnSpec<Id>[], c: ColumnSpec<Id>) => (ss[0] === c ? 0 : (c.gap ?? gap));
  const need = (ss: readonly ColumnSpec<Id>[]) => ss.reduce((a, c) => a + c.min + gapOf(ss, c), 0);
  while (need(specs) > width) {
    const droppable = specs.filter((c) => (c.drop ?? 0) > 0).sort((a, b) => (a.drop ?? 0) - (b.drop ?? 0))[0];
    if (!droppable) break;
    specs = specs.filter((c) => c !== droppable);
  }
  const widths = new Map(specs.map((c) => [c, c.min]));
  const w = (c: ColumnSpec<Id>) => widths.get(c) ?? c.min;
  let spare = width - need(specs);
  // hand out the room by weight, a cell at a time (few columns, at most a few hundred cells)
  while (spare > 0) {
    const open = specs.filter((c) => (c.weight ?? 0) > 0 && w(c) < (c.max ?? c.min));
    if (open.length === 0) break;
    // the column furthest below its share gets the next cell
    const next = open.reduce((best, c) => (w(c) / (c.weight ?? 1) < w(best) / (best.weight ?? 1) ? c : best));
    widths.set(next, w(next) + 1);
    spare--;
  }
  // a very narrow terminal: the squeezable column takes what is left, possibly little
  const squeeze = specs.find((c) => c.squeeze);
  if (spare < 0 && squeeze) widths.set(squeeze, Math.max(1, w(squeeze) + spare));
  return specs.map((c) => ({
    id: c.id,
    title: c.title,
    width: w(c),
    align: c.align ?? 'left',
    gap: gapOf(specs, c),
  }));
}

/** A row's cells, each with the spaces before it, cut or padded to exactly its column's width. */
export function rowCells<Id extends string>(
  columns: readonly Column<Id>[],
  text: (c: Column<Id>) => string,
): string[] {
  return columns.map((c) => ' '.repeat(c.gap) + clip(text(c), c.width, c.align));
}

/** One table line of exactly the columns' width. */
export function formatRow<Id extends string>(
  columns: readonly Column<Id>[],
  text: (c: Column<Id>) => string,
): string {
  return rowCells(columns, text).join('');
}

/** A column of a table sized to its content. */
export interface ContentColumn {
  title: string;
  /** may be cut (with …) to fit the width, down to MIN_FLEX cells or its title */
  flex?: boolean;
  /** at most this many cells, whatever the content */
  max?: number;
  align?: 'left' | 'right';
}

const MIN_FLEX = 6;

/**
 * Rows under a header line, in `width` cells: each column as wide as its
 * title and cells, flexible columns giving up room (the widest first) when
 * the line is too long. A row shorter than the header ends in one cell that
 * spans the rest of the line (an error message). Lines end without spaces.
 */
export function formatTable(
  columns: readonly ContentColumn[],
  rows: readonly (readonly string[])[],
  width: number,
  gap = 2,
): string[] {
  const specs: ColumnSpec<string>[] = columns.map((c, i) => {
    // a spanning last cell does not widen its column
    const natural = Math.min(
      c.max ?? Number.POSITIVE_INFINITY,
      Math.max(
        cells(c.title),
        ...rows.map((r) => (r.length >= columns.length || i < r.length - 1 ? cells(r[i] ?? '') : 0)),
      ),
    );
    const min = c.flex ? Math.min(natural, Math.max(MIN_FLEX, cells(c.title))) : natural;
    return {
      id: String(i),
      title: c.title,
      min,
      max: natural,
      weight: c.flex ? 1 : 0,
      align: c.align ?? 'left',
    };
  });
  const laid = layoutColumns(specs, width, gap);
  const line = (row: readonly string[]) => {
    if (row.length >= columns.length) {
      // the last cell's padding is not kept
      return formatRow(laid, (c) => row[Number(c.id)] ?? '').trimEnd();
    }
    const head = formatRow(laid.slice(0, row.length - 1), (c) => row[Number(c.id)] ?? '');
    const lead = head ? `${head}${' '.repeat(gap)}` : '';
    return lead + truncate(row.at(-1) ?? '', Math.max(MIN_FLEX, width - cells(lead)));
  };
  return [columns.map((c) => c.title), ...rows].map(line);
}
