// Bottom lines: a message or the prompt being typed, then the keys that matter here.
import { Text } from 'ink';
import { useApp } from '../store/react.ts';
import { runFinished } from '../store/run.ts';
import { clip } from './format.ts';
import { KEYMAP, type KeyContext, keyLabel } from './keymap.ts';
import { contextOf } from './keys.ts';
import { useTone } from './theme.ts';

const HINTS: Record<KeyContext | 'done' | 'hosts', string[]> = {
  main: ['mark', 'mark-group', 'migrate', 'filter', 'save-group', 'open-groups', 'refresh', 'help', 'quit'],
  list: ['select', 'strategy', 'back', 'help'],
  plan: ['confirm', 'strategy', 'back', 'help'],
  run: ['stop', 'help'],
  // a finished run: nothing left to stop
  done: ['back', 'help', 'quit'],
  hosts: ['back', 'help', 'quit'],
  input: ['select', 'back'],
};

const SHORT: Record<string, string> = {
  mark: 'mark',
  'mark-group': 'group',
  migrate: 'migrate',
  filter: 'filter',
  'save-group': 'save',
  'open-groups': 'groups',
  refresh: 'refresh',
  help: 'help',
  quit: 'quit',
  select: 'choose',
  strategy: 'strategy',
  back: 'back',
  confirm: 'run it',
  stop: 'stop safely',
};

/** The context's key hints that fit in `width`; help and quit are never the ones left out. */
export function hintLine(context: keyof typeof HINTS, width = Number.POSITIVE_INFINITY): string {
  const entries = HINTS[context].map((command) => {
    const b = KEYMAP.find((k) => k.command === command);
    return b?.keys[0] ? `${keyLabel(b.keys[0])} ${SHORT[command] ?? command}` : '';
  });
  const order = entries.map((_, i) => i);
  // help, then quit, then the rest in their order
  const rank = (i: number) => (HINTS[context][i] === 'help' ? -2 : HINTS[context][i] === 'quit' ? -1 : i);
  const kept = new Set<number>();
  let used = 0;
  for (const i of [...order].sort((a, b) => rank(a) - rank(b))) {
    const w = (entries[i] ?? '').length + (kept.size > 0 ? 2 : 0);
    if (used + w > width) continue;
    kept.add(i);
    used += w;
  }
  return order
    .filter((i) => kept.has(i) && entries[i])
    .map((i) => entries[i])
    .join('  ');
}

export function Footer({ width, compact = false }: { width: number; compact?: boolean }) {
  const tone = useTone();
  const message = useApp((s) => s.message);
  const filter = useApp((s) => s.filter);
  const filterEditing = useApp((s) => s.filterEditing);
  const screen = useApp((s) => s.screen);
  const context = useApp(contextOf);
  const helpOpen = useApp((s) => s.helpOpen);
  let first: { text: string; color: string | undefined; bold?: boolean };
  if (screen.kind === 'save')
    first = { text: `group name: ${screen.input}_`, color: tone('accent'), bold: true };
  else if (filterEditing) first = { text: `/${filter}_`, color: tone('accent'), bold: true };
  else if (message)
    first = {
      text: message.text,
      color: tone(message.level === 'error' ? 'error' : message.level === 'warning' ? 'warn' : 'info'),
    };
  else if (filter && screen.kind === 'main') first = { text: `filter: ${filter}`, color: tone('accent') };
  else first = { text: '', color: undefined };
  const finished = useApp((s) => runFinished(s.run));
  const hints = helpOpen
    ? 'esc close help  q quit'
    : hintLine(context === 'run' && finished ? 'done' : screen.kind === 'hosts' ? 'hosts' : context, width);
  const status = (
    <Text color={first.color} bold={first.bold ?? false} wrap="truncate">
      {clip(first.text, width)}
    </Text>
  );
  const keys = (
    <Text color={tone('muted')} wrap="truncate">
      {clip(hints, width)}
    </Text>
  );
  // one line only: the message when there is one, else the keys
  if (compact) return first.text ? status : keys;
  return (
    <>
      {status}
      {keys}
    </>
  );
}
