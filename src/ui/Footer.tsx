// Bottom lines: a message or the prompt being typed, then the keys that matter here.
import { Text } from 'ink';
import { useApp } from '../store/react.ts';
import { runFinished } from '../store/run.ts';
import { clip } from '../text/format.ts';
import { type HintPlace, hintsFor, messageLine } from './keymap.ts';
import { contextOf } from './keys.ts';
import { useTone } from './theme.ts';

/** The place's key hints that fit in `width`; those marked keep (help, quit) are the last left out. */
export function hintLine(place: HintPlace, width = Number.POSITIVE_INFINITY): string {
  const hints = hintsFor(place);
  const order = hints.map((_, i) => i);
  const rank = (i: number) => (hints[i]?.keep ? i - hints.length : i);
  const kept = new Set<number>();
  let used = 0;
  for (const i of [...order].sort((a, b) => rank(a) - rank(b))) {
    const w = (hints[i]?.text ?? '').length + (kept.size > 0 ? 2 : 0);
    if (used + w > width) continue;
    kept.add(i);
    used += w;
  }
  return order
    .filter((i) => kept.has(i))
    .map((i) => hints[i]?.text)
    .join('  ');
}

export function Footer({ width, compact = false }: { width: number; compact?: boolean }) {
  const tone = useTone();
  const message = useApp((s) => s.message);
  const filter = useApp((s) => s.filter);
  const filterEditing = useApp((s) => s.filterEditing);
  const screen = useApp((s) => s.screen);
  const context = useApp(contextOf);
  let first: { text: string; color: string | undefined; bold?: boolean };
  if (screen.kind === 'save')
    first = { text: `group name: ${screen.input}_`, color: tone('accent'), bold: true };
  else if (filterEditing) first = { text: `/${filter}_`, color: tone('accent'), bold: true };
  else if (message)
    first = {
      text: messageLine(message.text),
      color: tone(message.level === 'error' ? 'error' : message.level === 'warning' ? 'warn' : 'info'),
    };
  else if (filter && screen.kind === 'main') first = { text: `filter: ${filter}`, color: tone('accent') };
  else first = { text: '', color: undefined };
  const finished = useApp((s) => runFinished(s.run));
  const place: HintPlace =
    context === 'run' && finished
      ? 'done'
      : context === 'list' && screen.kind === 'hosts'
        ? 'hosts'
        : context;
  const hints = hintLine(place, width);
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
