import { readFileSync } from 'node:fs';
import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { commandFor, KEYMAP, keymapMarkdown } from '../../../src/ui/keymap.ts';

const key = (over: Partial<Key> = {}): Key =>
  ({
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
    ...over,
  }) as Key;

describe('keymap', () => {
  it("README's key table is the keymap's", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(keymapMarkdown());
  });

  it('ctrl-c stops a run but quits elsewhere; a key means one command per context', () => {
    expect(commandFor('run', 'c', key({ ctrl: true }))).toBe('stop');
    expect(commandFor('main', 'c', key({ ctrl: true }))).toBe('quit');
    expect(commandFor('main', 'c', key())).toBe('clear-marks');
    expect(commandFor('main', 'r', key({ ctrl: true }))).toBe('refresh');
    expect(commandFor('main', '', key({ downArrow: true }))).toBe('down');
    expect(commandFor('plan', 'j', key())).toBe('down');
    expect(commandFor('plan', 'm', key())).toBeUndefined();
    for (const ctx of ['main', 'list', 'plan', 'run', 'input'] as const) {
      const seen = new Map<string, string>();
      for (const b of KEYMAP.filter((x) => x.contexts.includes(ctx)))
        for (const k of b.keys) {
          const id = JSON.stringify(k);
          // ctrl-c is both stop and quit in a run: stop comes first, quit after the run
          if (seen.has(id) && !(ctx === 'run' && id.includes('"c"'))) throw new Error(`${ctx}: ${id} twice`);
          seen.set(id, b.command);
        }
    }
  });
});
