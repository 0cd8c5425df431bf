// One table of named commands: the key handler looks keys up here and the
// help screen (and README's key table) lists it, so the two cannot drift.
import type { Key } from 'ink';

/** Where a binding applies: the container table, a list or prompt, the plan, the run. */
export type KeyContext = 'main' | 'list' | 'plan' | 'run' | 'input';

export type Command =
  | 'down'
  | 'up'
  | 'top'
  | 'bottom'
  | 'half-down'
  | 'half-up'
  | 'filter'
  | 'mark'
  | 'mark-group'
  | 'clear-marks'
  | 'refresh'
  | 'hosts'
  | 'save-group'
  | 'open-groups'
  | 'migrate'
  | 'help'
  | 'quit'
  | 'select'
  | 'back'
  | 'strategy'
  | 'confirm'
  | 'stop';

type NamedKey =
  | 'upArrow'
  | 'downArrow'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'return'
  | 'escape'
  | 'tab';

/** A key: a character typed, a character with ctrl, or a named key. */
export type KeySpec = { char: string; ctrl?: boolean } | { key: NamedKey };

export interface Binding {
  command: Command;
  keys: KeySpec[];
  description: string;
  contexts: KeyContext[];
}

const ch = (char: string, ctrl = false): KeySpec => (ctrl ? { char, ctrl } : { char });
const named = (key: NamedKey): KeySpec => ({ key });

export const KEYMAP: readonly Binding[] = [
  {
    command: 'down',
    keys: [ch('j'), named('downArrow')],
    description: 'down',
    contexts: ['main', 'list', 'plan'],
  },
  { command: 'up', keys: [ch('k'), named('upArrow')], description: 'up', contexts: ['main', 'list', 'plan'] },
  { command: 'top', keys: [ch('g'), named('home')], description: 'first row', contexts: ['main'] },
  { command: 'bottom', keys: [ch('G'), named('end')], description: 'last row', contexts: ['main'] },
  {
    command: 'half-down',
    keys: [ch('d', true), named('pageDown')],
    description: 'half a page down',
    contexts: ['main'],
  },
  {
    command: 'half-up',
    keys: [ch('u', true), named('pageUp')],
    description: 'half a page up',
    contexts: ['main'],
  },
  {
    command: 'filter',
    keys: [ch('/')],
    description: 'filter rows (esc clears)',
    contexts: ['main'],
  },
  { command: 'mark', keys: [ch(' ')], description: 'mark / unmark', contexts: ['main'] },
  {
    command: 'mark-group',
    keys: [ch('a')],
    description: 'mark its compose group',
    contexts: ['main'],
  },
  { command: 'clear-marks', keys: [ch('c')], description: 'clear all marks', contexts: ['main'] },
  { command: 'refresh', keys: [ch('r'), ch('r', true)], description: 'refresh now', contexts: ['main'] },
  { command: 'hosts', keys: [ch('h')], description: 'hosts and their problems', contexts: ['main'] },
  { command: 'save-group', keys: [ch('s')], description: 'save marked as a group', contexts: ['main'] },
  { command: 'open-groups', keys: [ch('o')], description: 'open saved groups', contexts: ['main'] },
  { command: 'migrate', keys: [ch('m')], description: 'migrate the marked', contexts: ['main'] },
  {
    command: 'select',
    keys: [named('return')],
    description: 'choose',
    contexts: ['list', 'input'],
  },
  {
    command: 'strategy',
    keys: [named('tab')],
    description: 'next strategy',
    contexts: ['list', 'plan'],
  },
  { command: 'confirm', keys: [ch('y')], description: 'run the migration', contexts: ['plan'] },
  {
    command: 'stop',
    keys: [ch('c', true)],
    description: 'stop safely',
    contexts: ['run'],
  },
  {
    command: 'back',
    keys: [named('escape')],
    description: 'back, close, clear filter',
    contexts: ['main', 'list', 'plan', 'run', 'input'],
  },
  { command: 'help', keys: [ch('?')], description: 'this help', contexts: ['main', 'list', 'plan', 'run'] },
  {
    command: 'quit',
    keys: [ch('q'), ch('c', true)],
    description: 'quit (not during a run)',
    contexts: ['main', 'list', 'plan', 'run'],
  },
];

const NAMED_LABEL: Record<NamedKey, string> = {
  upArrow: '↑',
  downArrow: '↓',
  pageUp: 'pgup',
  pageDown: 'pgdn',
  home: 'home',
  end: 'end',
  return: 'enter',
  escape: 'esc',
  tab: 'tab',
};

export function keyLabel(k: KeySpec): string {
  if ('key' in k) return NAMED_LABEL[k.key];
  if (k.ctrl) return `ctrl-${k.char}`;
  return k.char === ' ' ? 'space' : k.char;
}

export function bindingLabel(b: Binding): string {
  return b.keys.map(keyLabel).join(' ');
}

function matches(k: KeySpec, input: string, key: Key): boolean {
  if ('key' in k) return key[k.key];
  if (k.ctrl) return key.ctrl && input === k.char;
  return !key.ctrl && !key.meta && input === k.char;
}

/** The command a key press means in a context, if any. */
export function commandFor(context: KeyContext, input: string, key: Key): Command | undefined {
  for (const b of KEYMAP)
    if (b.contexts.includes(context) && b.keys.some((k) => matches(k, input, key))) return b.command;
  return undefined;
}

export const CONTEXT_TITLE: Record<KeyContext, string> = {
  main: 'Containers',
  list: 'Destination and group lists',
  plan: 'Plan',
  run: 'Run',
  input: 'Filter and name prompts',
};

/** Each binding once, under the first context it applies to. */
export function helpSections(): { context: KeyContext; bindings: Binding[] }[] {
  const order: KeyContext[] = ['main', 'list', 'plan', 'run', 'input'];
  return order
    .map((context) => ({ context, bindings: KEYMAP.filter((b) => b.contexts[0] === context) }))
    .filter((s) => s.bindings.length > 0);
}

/** The keymap as README's key table (a unit test keeps the two equal). */
export function keymapMarkdown(): string {
  const rows = helpSections().flatMap((s) =>
    s.bindings.map((b) => {
      const keys = b.keys.map((k) => `\`${keyLabel(k)}\``).join(' ');
      return `| ${keys} | ${b.description} | ${b.contexts.map((c) => CONTEXT_TITLE[c].toLowerCase()).join(', ')} |`;
    }),
  );
  return ['| keys | command | where |', '|---|---|---|', ...rows].join('\n');
}
