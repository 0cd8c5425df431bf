import { readFileSync } from 'node:fs';
import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { keyed } from '../../../src/store/commands.ts';
import { hintLine } from '../../../src/ui/Footer.tsx';
import {
  commandFor,
  type HintPlace,
  hintsFor,
  KEYMAP,
  type KeyContext,
  keyLabel,
  keymapMarkdown,
  keyOf,
  messageLine,
} from '../../../src/ui/keymap.ts';

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
  it("the store's messages name commands, and show the keys the keymap binds to them", () => {
    expect(messageLine(keyed`press ${'stop'} to stop, ${'back'} to go back`)).toBe(
      'press ctrl-c to stop, esc to go back',
    );
    for (const b of KEYMAP) expect(messageLine(keyed`${b.command} is`)).toBe(`${keyOf(b.command)} is`);
    expect(messageLine('plain text')).toBe('plain text');
  });

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

  it('the help overlay is a context of its own: esc and ? close it, q quits, ctrl-c stops a run first', () => {
    expect(commandFor('help', '', key({ escape: true }))).toBe('close-help');
    expect(commandFor('help', '?', key())).toBe('close-help');
    expect(commandFor('help', 'q', key())).toBe('quit');
    expect(commandFor('help', 'c', key({ ctrl: true }))).toBe('stop');
    expect(commandFor('help', 'j', key())).toBeUndefined();
  });
});

describe('footer hints come from the keymap', () => {
  // the footers as they were when they were string copies beside the keymap: the keymap must say the same
  const FOOTERS: [HintPlace, number, string][] = [
    ['main', 80, 'space mark  a group  m migrate  / filter  s save  o groups  ? help  q quit'],
    ['main', 40, 'space mark  a group  ? help  q quit'],
    ['main', 24, 'a group  ? help  q quit'],
    ['main', 12, '? help'],
    ['list', 80, 'enter choose  tab strategy  esc back  ? help'],
    ['list', 40, 'enter choose  tab strategy  ? help'],
    ['list', 24, 'enter choose  ? help'],
    ['plan', 80, 'y run it  tab strategy  t outside tcp  d details  esc back  ? help'],
    ['plan', 40, 'y run it  tab strategy  esc back  ? help'],
    ['plan', 24, 'y run it  ? help'],
    ['run', 80, 'ctrl-c stop safely  ? help'],
    ['run', 24, '? help'],
    ['done', 80, 'esc back  ? help  q quit'],
    ['done', 12, '? help'],
    ['hosts', 80, 'esc back  ? help  q quit'],
    ['input', 80, 'enter choose  esc back'],
    ['input', 12, 'enter choose'],
    ['help', 80, 'esc close help  q quit'],
  ];
  it.each(FOOTERS)('%s at %i columns', (place, width, line) => {
    expect(hintLine(place, width)).toBe(line);
  });

  // the key context each footer's keys are read in
  const KEYS_IN: Record<HintPlace, KeyContext> = {
    main: 'main',
    list: 'list',
    plan: 'plan',
    run: 'run',
    input: 'input',
    help: 'help',
    done: 'run',
    hosts: 'list',
  };
  it('every hint names a key that does its command where the footer shows it', () => {
    for (const place of Object.keys(KEYS_IN) as HintPlace[]) {
      const hints = hintsFor(place);
      expect(hints.length, place).toBeGreaterThan(0);
      for (const b of KEYMAP.filter((x) => x.hint?.in.includes(place))) {
        expect(b.contexts, `${b.command} hinted in ${place}`).toContain(KEYS_IN[place]);
        expect(hints.map((h) => h.text)).toContain(`${keyLabel(b.keys[0] ?? { char: '' })} ${b.hint?.label}`);
      }
    }
  });
});
