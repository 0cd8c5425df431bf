// Every host with its state and, for a host with a problem, the whole reason.
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useApp } from '../store/react.ts';
import { clip, wrap } from '../text/format.ts';
import { formatDuration } from '../text/numbers.ts';
import { keyOf } from './keymap.ts';
import { useTone } from './theme.ts';

export function HostsView({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const hosts = useApp((s) => s.hosts);
  const order = useApp((s) => s.hostOrder);
  const lines: ReactNode[] = [];
  const push = (text: string, color?: string, bold = false) =>
    lines.push(
      <Text key={lines.length} color={color} bold={bold} wrap="truncate">
        {clip(text, width)}
      </Text>,
    );
  push(`Hosts (${keyOf('back')} back)`, tone('accent'), true);
  for (const name of order) {
    const h = hosts[name];
    if (!h) continue;
    const color = tone(
      h.state === 'ok' ? 'ok' : h.state === 'connecting' ? 'muted' : h.state === 'stale' ? 'warn' : 'error',
    );
    push(
      `${h.host}  ${h.state}  ${h.containers} containers${h.durationMs !== null ? `  probe ${formatDuration(h.durationMs)}` : ''}`,
      color,
      true,
    );
    for (const l of h.reason ? wrap(h.reason, width - 2, { maxLines: 6 }) : []) push(`  ${l}`, color);
    if (h.hint) for (const l of wrap(`hint: ${h.hint}`, width - 2, { maxLines: 2 })) push(`  ${l}`);
    for (const w of h.warnings.slice(0, 3))
      for (const l of wrap(w, width - 2, { maxLines: 2 })) push(`  ${l}`, tone('warn'));
  }
  return <>{lines.slice(0, height)}</>;
}
