// One table of named commands: the key handler looks keys up here, and the
// footer's hints, the help overlay and README's key table are all read from
// it, so no key can drift from its help; the store's messages name commands
// and show their keys from here too (messageLine). To add a key: one entry
// below (and a Command name in src/store/commands.ts), its action in keys.ts,
// and README's table (a test compares).
import type { Key } from 'ink';
import type { Command, MessageText } from '../store/commands.ts';

/** Where a binding applies: the container table, a list or prompt, the plan, the run, the help overlay. */
export type KeyContext = 'main' | 'list' | 'plan' | 'run' | 'input' | 'help';

/** Where the footer shows hints: a key context, or a screen whose hints differ from its context's. */
export type HintPlace = KeyContext | 'done' | 'hosts';

export type { Command };

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

/** A binding's footer hint: its first key, then `label`. */
export interface Hint {
  label: string;
  /** the footers that show it ('done': a finished run; 'hosts': the hosts screen) */
  in: readonly HintPlace[];
  /** left to right in the footer, lower first */
  order: number;
  /** kept (in their order) before any other hint when the footer is short */
  keep?: true;
}

export interface Binding {
  command: Command;
  keys: KeySpec[];
  /** the help overlay's and README's text */
  description: string;
  contexts: KeyContext[];
  hint?: Hint;
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
    hint: { label: 'filter', in: ['main'], order: 4 },
  },
  {
    command: 'mark',
    keys: [ch(' ')],
    description: 'mark / unmark',
    contexts: ['main'],
    hint: { label: 'mark', in: ['main'], order: 1 },
  },
  {
    command: 'mark-group',
    keys: [ch('a')],
    description: 'mark its compose group',
    contexts: ['main'],
    hint: { label: 'group', in: ['main'], order: 2 },
  },
  { command: 'clear-marks', keys: [ch('c')], description: 'clear all marks', contexts: ['main'] },
  {
    command: 'refresh',
    keys: [ch('r'), ch('r', true)],
    description: 'refresh now',
    contexts: ['main'],
    hint: { label: 'refresh', in: ['main'], order: 7 },
  },
  { command: 'hosts', keys: [ch('h')], description: 'hosts and their problems', contexts: ['main'] },
  {
    command: 'save-group',
    keys: [ch('s')],
    description: 'save marked as a group',
    contexts: ['main'],
    hint: { label: 'save', in: ['main'], order: 5 },
  },
  {
    command: 'open-groups',
    keys: [ch('o')],
    description: 'open saved groups',
    contexts: ['main'],
    hint: { label: 'groups', in: ['main'], order: 6 },
  },
  {
    command: 'migrate',
    keys: [ch('m')],
    description: 'migrate the marked',
    contexts: ['main'],
    hint: { label: 'migrate', in: ['main'], order: 3 },
  },
  {
    command: 'select',
    keys: [named('return')],
    description: 'choose',
    contexts: ['list', 'input'],
    hint: { label: 'choose', in: ['list', 'input'], order: 8 },
  },
  {
    command: 'strategy',
    keys: [named('tab')],
    description: 'next strategy',
    contexts: ['list', 'plan'],
    hint: { label: 'strategy', in: ['list', 'plan'], order: 11 },
  },
  {
    command: 'confirm',
    keys: [ch('y')],
    description: 'run the migration',
    contexts: ['plan'],
    hint: { label: 'run it', in: ['plan'], order: 9 },
  },
  {
    command: 'tcp',
    keys: [ch('t')],
    description: 'outside TCP: keep / close',
    contexts: ['plan'],
    hint: { label: 'outside tcp', in: ['plan'], order: 11.5 },
  },
  {
    command: 'details',
    keys: [ch('d')],
    description: 'show the create commands',
    contexts: ['plan'],
    hint: { label: 'details', in: ['plan'], order: 11.7 },
  },
  {
    command: 'stop',
    keys: [ch('c', true)],
    description: 'stop safely',
    // over a run, the help overlay still lets ctrl-c stop it
    contexts: ['run', 'help'],
    hint: { label: 'stop safely', in: ['run'], order: 10 },
  },
  {
    command: 'back',
    keys: [named('escape')],
    description: 'back, close, clear filter',
    contexts: ['main', 'list', 'plan', 'run', 'input'],
    hint: { label: 'back', in: ['list', 'plan', 'done', 'hosts', 'input'], order: 12 },
  },
  {
    command: 'help',
    keys: [ch('?')],
    description: 'this help',
    contexts: ['main', 'list', 'plan', 'run'],
    hint: { label: 'help', in: ['main', 'list', 'plan', 'run', 'done', 'hosts'], order: 13, keep: true },
  },
  {
    command: 'close-help',
    keys: [named('escape'), ch('?')],
    description: 'close this help',
    contexts: ['help'],
    hint: { label: 'close help', in: ['help'], order: 0, keep: true },
  },
  {
    command: 'quit',
    keys: [ch('q'), ch('c', true)],
    description: 'quit (not during a run)',
    contexts: ['main', 'list', 'plan', 'run', 'help'],
    hint: { label: 'quit', in: ['main', 'done', 'hosts', 'help'], order: 14, keep: true },
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

function bindingOf(command: Command): Binding {
  const b = KEYMAP.find((x) => x.command === command);
  if (!b) throw new Error(`no binding for ${command}`);
  return b;
}

/** The keys of a command as a screen names them in its text: "esc", "j/k"; `sep` between keys. */
export function keysOf(command: Command, sep = '/'): string {
  return bindingOf(command).keys.map(keyLabel).join(sep);
}

/** The first key of a command: what a screen's text tells a person to press. */
export function keyOf(command: Command): string {
  const k = bindingOf(command).keys[0];
  return k ? keyLabel(k) : '';
}

/** A message as a person reads it: each command it names, as its first key. */
export function messageLine(text: MessageText): string {
  return typeof text === 'string'
    ? text
    : text.map((p) => (typeof p === 'string' ? p : keyOf(p.key))).join('');
}

/** The footer's hints for a place, left to right: "space mark", "? help". */
export function hintsFor(place: HintPlace): { text: string; keep: boolean }[] {
  return KEYMAP.filter((b) => b.hint?.in.includes(place) && b.keys[0])
    .sort((a, b) => (a.hint?.order ?? 0) - (b.hint?.order ?? 0))
    .map((b) => ({ text: `${keyOf(b.command)} ${b.hint?.label}`, keep: b.hint?.keep === true }));
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
  help: 'Help',
};

/** Each binding once, under the first context it applies to. */
export function helpSections(): { context: KeyContext; bindings: Binding[] }[] {
  const order: KeyContext[] = ['main', 'list', 'plan', 'run', 'input', 'help'];
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
