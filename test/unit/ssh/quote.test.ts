// shellQuoteArgv must survive a real POSIX shell unchanged.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellQuote, shellQuoteArgv } from '../../../src/ssh/quote.ts';

/** What `sh -c` sees as argv after parsing the quoted words. */
function roundTrip(args: string[]): string[] {
  const script = `printf '%s\\0' ${shellQuoteArgv(args)}`;
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'buffer' });
  if (r.status !== 0) throw new Error(`sh failed: ${r.stderr.toString()}`);
  const out = r.stdout.toString('utf8');
  // printf repeats its format for each argument; no arguments prints one empty field
  return args.length === 0 ? [] : out.slice(0, -1).split('\0');
}

// anything but NUL, which no argv can carry
const word = fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0'));
const nasty = fc.constantFrom(
  '',
  "'",
  '"',
  '\\',
  '$HOME',
  '`id`',
  '$(id)',
  '\n',
  ' a b ',
  '*',
  '~',
  '-n',
  '!',
  '#x',
  'é∂😀',
);

describe('shellQuoteArgv', () => {
  it('round-trips arbitrary strings through sh -c', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(word, nasty), { minLength: 1, maxLength: 6 }), (args) => {
        expect(roundTrip(args)).toEqual(args);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves plainly safe words alone and quotes the rest', () => {
    expect(shellQuoteArgv(['ls', '-la', '/var/lib/x_y.z', 'a=b'])).toBe('ls -la /var/lib/x_y.z a=b');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('a b')).toBe("'a b'");
  });

  it('refuses NUL', () => {
    expect(() => shellQuote('a\0b')).toThrow(TypeError);
  });
});
