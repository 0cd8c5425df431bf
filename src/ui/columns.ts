// The container table's columns for a terminal width: narrow terminals drop
// the least useful columns first, wide ones give the room to NAME and IMAGE.
import type { ContainerRow } from '../store/types.ts';
import { formatMem } from '../text/numbers.ts';
import { type ColumnSpec, layoutColumns } from '../text/table.ts';

export type ColumnId = 'mark' | 'host' | 'rt' | 'name' | 'image' | 'state' | 'mem' | 'group';

// drop: lower goes first when the width is short; NAME takes what is left on a very narrow terminal
const SPECS: readonly ColumnSpec<ColumnId>[] = [
  { id: 'mark', title: '', min: 1 },
  { id: 'host', title: 'HOST', min: 5, max: 14, weight: 1, drop: 5 },
  { id: 'rt', title: 'RT', min: 6, drop: 2 },
  { id: 'name', title: 'NAME', min: 10, max: 60, weight: 4, squeeze: true },
  { id: 'image', title: 'IMAGE', min: 10, max: 50, weight: 3, drop: 1 },
  { id: 'state', title: 'STATE', min: 7, max: 10, weight: 0.3, drop: 6 },
  { id: 'mem', title: 'MEM', min: 5, max: 6, drop: 4, align: 'right' },
  { id: 'group', title: 'GROUP', min: 5, max: 16, weight: 1, drop: 3 },
];

/** The container table's columns in `width` cells. */
export function containerColumns(width: number) {
  return layoutColumns(SPECS, width, 1);
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
      return formatMem(row.memoryBytes);
    case 'group':
      return row.group ?? '';
  }
}
