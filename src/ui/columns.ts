// The container table's columns for a terminal width: narrow terminals drop
// the least useful columns first, wide ones give the room to NAME and IMAGE.

import { formatBytesShort } from '../store/store.ts';
import type { ContainerRow } from '../store/types.ts';
import { clip } from './format.ts';

export type ColumnId = 'mark' | 'host' | 'rt' | 'name' | 'image' | 'state' | 'mem' | 'group';

interface ColumnSpec {
  id: ColumnId;
  title: string;
  min: number;
  max: number;
  /** share of the spare room */
  weight: number;
  /** dropped first when the width is short: lower goes first; 0 never */
  drop: number;
  align: 'left' | 'right';
}

const SPECS: readonly ColumnSpec[] = [
  { id: 'mark', title: '', min: 1, max: 1, weight: 0, drop: 0, align: 'left' },
  { id: 'host', title: 'HOST', min: 5, max: 14, weight: 1, drop: 5, align: 'left' },
  { id: 'rt', title: 'RT', min: 6, max: 6, weight: 0, drop: 2, align: 'left' },
  { id: 'name', title: 'NAME', min: 10, max: 60, weight: 4, drop: 0, align: 'left' },
  { id: 'image', title: 'IMAGE', min: 10, max: 50, weight: 3, drop: 1, align: 'left' },
  { id: 'state', title: 'STATE', min: 7, max: 10, weight: 0.3, drop: 6, align: 'left' },
  { id: 'mem', title: 'MEM', min: 5, max: 6, weight: 0, drop: 4, align: 'right' },
  { id: 'group', title: 'GROUP', min: 5, max: 16, weight: 1, drop: 3, align: 'left' },
];

export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  align: 'left' | 'right';
}

const GAP = 1;

/** Columns whose widths and gaps add up to at most `width`. */
export function layoutColumns(width: number): Column[] {
  let specs = [...SPECS];
  const need = (ss: readonly ColumnSpec[]) => ss.reduce((a, c) => a + c.min, 0) + GAP * (ss.length - 1);
  while (need(specs) > width) {
    const droppable = specs.filter((c) => c.drop > 0).sort((a, b) => a.drop - b.drop)[0];
    if (!droppable) break;
    specs = specs.filter((c) => c !== droppable);
  }
  const widths = new Map(specs.map((c) => [c.id, c.min]));
  let spare = width - need(specs);
  // hand out the room by weight, a cell at a time (few columns, at most a few hundred cells)
  while (spare > 0) {
    const open = specs.filter((c) => c.weight > 0 && (widths.get(c.id) ?? 0) < c.max);
    if (open.length === 0) break;
    // the column furthest below its share gets the next cell
    const next = open.reduce((best, c) =>
      (widths.get(c.id) ?? 0) / c.weight < (widths.get(best.id) ?? 0) / best.weight ? c : best,
    );
    widths.set(next.id, (widths.get(next.id) ?? 0) + 1);
    spare--;
  }
  // a very narrow terminal: NAME takes what is left, possibly little
  if (spare < 0) widths.set('name', Math.max(1, (widths.get('name') ?? 0) + spare));
  return specs.map((c) => ({ id: c.id, title: c.title, width: widths.get(c.id) ?? c.min, align: c.align }));
}

/** The image without the registry everyone has (the filter still sees the full name). */
export function shortImage(image: string): string {
  return image.replace(/^(localhost|docker\.io\/library|docker\.io)\//, '');
}

export function cellText(row: ContainerRow, id: ColumnId, marked: boolean): string {
  switch (id) {
    case 'mark':
      return marked ? '*' : ' ';
    case 'host':
      return row.host;
    case 'rt':
      return row.runtime;
    case 'name':
      return row.name;
    case 'image':
      return shortImage(row.image);
    case 'state':
      return row.stale ? `${row.state}?` : row.state;
    case 'mem':
      return formatBytesShort(row.memoryBytes);
    case 'group':
      return row.group ?? '';
  }
}

/** One table line of exactly the columns' width. */
export function formatRow(columns: readonly Column[], text: (c: Column) => string): string {
  return columns.map((c) => clip(text(c), c.width, c.align)).join(' '.repeat(GAP));
}
