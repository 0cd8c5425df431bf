// The column engine: widths for a terminal width, rows cut and padded to them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cells } from '../../../src/text/format.ts';
import { type ColumnSpec, formatRow, formatTable, layoutColumns } from '../../../src/text/table.ts';

const SPECS: ColumnSpec[] = [
  { id: 'a', title: 'A', min: 3 },
  { id: 'name', title: 'NAME', min: 10, max: 40, weight: 2, squeeze: true },
  { id: 'b', title: 'B', min: 8, max: 20, weight: 1, drop: 1 },
  { id: 'c', title: 'C', min: 5, drop: 2, align: 'right' },
];

describe('layoutColumns', () => {
  it('fills the width exactly while the columns can grow, drops the lowest first, squeezes last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 200 }), (width) => {
        const cols = layoutColumns(SPECS, width);
        const total = cols.reduce((a, c) => a + c.gap + c.width, 0);
        expect(total).toBeLessThanOrEqual(width);
        if (width <= 3 + 40 + 20 + 5 + 3) expect(total).toBe(width);
        expect(cols[0]?.gap).toBe(0);
      }),
    );
    expect(layoutColumns(SPECS, 80).map((c) => c.id)).toEqual(['a', 'name', 'b', 'c']);
    expect(layoutColumns(SPECS, 25).map((c) => c.id)).toEqual(['a', 'name', 'c']);
    expect(layoutColumns(SPECS, 14).map((c) => c.id)).toEqual(['a', 'name']);
    expect(layoutColumns(SPECS, 8).map((c) => [c.id, c.width])).toEqual([
      ['a', 3],
      ['name', 4],
    ]);
  });

  it('a column may have its own gap', () => {
    const cols = layoutColumns(
      [
        { id: 'x', title: 'X', min: 2 },
        { id: 'y', title: 'Y', min: 3, gap: 2 },
        { id: 'z', title: 'Z', min: 2, align: 'right' },
      ],
      80,
      0,
    );
    expect(formatRow(cols, (c) => c.title)).toBe('X   Y   Z');
  });
});

describe('formatTable', () => {
  it('columns line up in cells whatever the characters; flexible ones give way to fit', () => {
    const lines = formatTable(
      [
        { title: 'HOST', flex: true },
        { title: 'NAME', flex: true },
        { title: 'MEM', align: 'right' },
      ],
      [
        ['alpha', '数据库-主', '64M'],
        ['beta', 'web-👍', '1.2G'],
        ['gamma', 'plain', '-'],
      ],
      40,
    );
    const at = (l: string, col: number) => {
      // the cell index where the col-th run of non-spaces starts
      const m = [...l.matchAll(/\S+/g)][col];
      return m ? cells(l.slice(0, m.index)) : -1;
    };
    // NAME is as wide as 数据库-主 (9 cells); MEM as 1.2G, its title on the right
    expect(lines[0]).toMatch(/^HOST {3}NAME {8}MEM$/);
    for (const l of lines.slice(1)) {
      expect(at(l, 1)).toBe(at(lines[0] ?? '', 1));
      expect(cells(l)).toBe(cells(lines[0] ?? ''));
    }
  });

  it('cuts the flexible columns to the width; a short row spans the rest of the line', () => {
    const lines = formatTable(
      [
        { title: 'HOST', flex: true },
        { title: 'WHAT', flex: true },
        { title: 'N', align: 'right' },
      ],
      [
        ['a-very-long-host-name-indeed', 'a-very-long-value-as-well', '12'],
        ['down', 'connect ECONNREFUSED 10.99.0.12:22 after three tries'],
      ],
      30,
    );
    for (const l of lines) expect(cells(l)).toBeLessThanOrEqual(30);
    // the room left by N is shared by the flexible columns: 12 cells each
    expect(lines[1]).toBe('a-very-long…  a-very-long…  12');
    expect(lines[2]).toBe('down          connect ECONNRE…');
  });
});
