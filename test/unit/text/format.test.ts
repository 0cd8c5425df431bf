// Cells, cutting, wrapping and sizes: what the TUI and the headless output write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cells, clip, truncate, wrap } from '../../../src/text/format.ts';
import { BYTES, formatBytes, formatMem, formatRate } from '../../../src/text/numbers.ts';

// ASCII, CJK (two cells), an emoji (two), a letter with a combining accent (one), a ZWJ family (two)
const PIECES = ['a', 'b', ' ', '-', '数', '据', '👍', 'e\u0301', '👨\u200d👩\u200d👧'];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((a) => a.join(''));

describe('cells', () => {
  it('counts terminal cells, not code points', () => {
    expect(cells('abc')).toBe(3);
    expect(cells('数据库')).toBe(6);
    expect(cells('👍')).toBe(2);
    expect(cells('e\u0301')).toBe(1);
    expect(cells('👨\u200d👩\u200d👧')).toBe(2);
  });

  it('clip gives exactly the width in cells, and never splits a character', () => {
    expect(clip('数据库主节点', 7)).toBe('数据库…');
    expect(clip('数据库主节点', 8)).toBe('数据库… ');
    expect(clip('数据', 6, 'right')).toBe('  数据');
    expect(truncate('ab👨\u200d👩\u200d👧cd', 5)).toBe('ab👨\u200d👩\u200d👧…');
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 30 }), (s, w) => {
        const c = clip(s, w);
        expect(cells(c)).toBe(w);
        const t = truncate(s, w);
        expect(t === s || t.endsWith('…')).toBe(true);
        // what is kept is the text's own start, whole characters only
        if (t !== s) expect(s.startsWith(t.slice(0, -1))).toBe(true);
      }),
    );
  });
});

describe('wrap', () => {
  it('lines of at most the width in cells; every word kept, long ones broken', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 2, max: 20 }), (s, w) => {
        const lines = wrap(s, w);
        for (const l of lines) expect(cells(l)).toBeLessThanOrEqual(w);
        expect(lines.join('').replace(/\s/g, '')).toBe(s.replace(/\s/g, ''));
      }),
    );
  });

  it('at most maxLines, the last one cut with …', () => {
    expect(wrap('one two three four five six', 9, { maxLines: 2 })).toEqual(['one two', 'three …']);
  });

  it('indented, long words cut (the headless plan)', () => {
    const lines = wrap(`a ${'x'.repeat(100)} b c`, 20, {
      indent: { first: '  ', rest: '    ' },
      long: 'cut',
    });
    expect(lines).toEqual(['  a', `    ${'x'.repeat(15)}…`, '    b c']);
  });
});

describe('sizes', () => {
  it('each format as ferry writes it', () => {
    const M = 1024 * 1024;
    expect(formatBytes(64 * M)).toBe('64.0 MiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(300 * 1024)).toBe('300 KiB');
    expect(formatBytes(2.5 * 1024 * M)).toBe('2.5 GiB');
    expect(formatBytes(32 * M, BYTES.terse)).toBe('32.0M');
    expect(formatBytes(512 * 1024, BYTES.terse)).toBe('512K');
    expect(formatBytes(1.5 * 1024 * M, BYTES.terse)).toBe('1.50G');
    expect(formatBytes(100, BYTES.terse)).toBe('100B');
    expect(formatRate(80 * M)).toBe('80.0M/s');
    expect(formatRate(0)).toBe('');
    expect(formatMem(64 * M)).toBe('64M');
    expect(formatMem(1.2 * 1024 * M)).toBe('1.2G');
    expect(formatMem(300)).toBe('0K');
    expect(formatMem(null)).toBe('-');
    expect(formatBytes(68_000_000, BYTES.mb)).toBe('68 MB');
    expect(formatBytes(1_200_000_000, BYTES.mb)).toBe('1200 MB');
  });
});
