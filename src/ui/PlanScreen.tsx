// The plan before anything runs: order, per-stage estimates, predicted
// makespan and downtime, findings. Blockers are red and refuse the run.
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useApp } from '../store/react.ts';
import type { PlanView } from '../store/types.ts';
import { clip, formatDuration, formatRate, wrap } from './format.ts';
import { keyOf } from './keymap.ts';
import { useTone } from './theme.ts';
import { useViewport } from './viewport.ts';

const short = (id: string) => id.split('/').pop() ?? id;

export function planSummary(plan: PlanView): string {
  const { makespanMs, sequentialMs } = plan.predicted;
  const gain = sequentialMs > 0 ? Math.round((1 - makespanMs / sequentialMs) * 100) : 0;
  return `predicted makespan ${formatDuration(makespanMs)} (one by one ${formatDuration(sequentialMs)}${gain > 0 ? `, ${gain}% faster` : ''})`;
}

export function PlanScreen({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const screen = useApp((s) => s.screen);
  const ready = screen.kind === 'plan' && screen.status !== 'planning' && screen.status !== 'error';
  const items = (ready && screen.kind === 'plan' && screen.plan?.items) || [];
  const findingCount = (ready && screen.kind === 'plan' && screen.plan?.findings.length) || 0;
  // many findings take a line each; a few may wrap onto two
  const perFinding = findingCount > 3 ? 1 : 2;
  const findingLines = findingCount === 0 ? 1 : Math.min(findingCount * perFinding, 8);
  // the title and the table's header above the items; the summary, links and the verdict after them
  const itemRoom = Math.max(1, height - 2 - findingLines - 4);
  const longer = items.length > itemRoom;
  // a list longer than its room gives one line to saying which part is shown; j/k scroll it by its top row
  const view = useViewport({
    total: items.length,
    rows: longer ? Math.max(1, itemRoom - 1) : itemRoom,
    cursor: screen.kind === 'plan' ? screen.offset : 0,
    anchor: 0,
  });
  if (screen.kind !== 'plan') return null;
  const lines: ReactNode[] = [];
  const push = (text: string, opts: { color?: string | undefined; bold?: boolean } = {}) =>
    lines.push(
      <Text key={lines.length} color={opts.color} bold={opts.bold ?? false} wrap="truncate">
        {clip(text, width)}
      </Text>,
    );
  push(`Plan: migrate to ${screen.to}    strategy ${screen.strategy} (${keyOf('strategy')} changes)`, {
    color: tone('accent'),
    bold: true,
  });
  if (screen.status === 'planning') {
    push('planning: reaching the hosts, checking each container, measuring the link…', {
      color: tone('muted'),
    });
    return <>{lines}</>;
  }
  if (screen.status === 'error' || !screen.plan) {
    push('cannot plan this migration:', { color: tone('error'), bold: true });
    for (const l of wrap(screen.error ?? 'unknown error', width, Math.max(1, height - 3)))
      push(l, { color: tone('error') });
    return <>{lines}</>;
  }
  const plan = screen.plan;
  const nameW = Math.max(10, Math.min(30, width - 50));
  push(
    `${clip('#', 3)}${clip('CONTAINER', nameW)} ${clip('FROM', 8)}${clip('CKPT', 7, 'right')}${clip('XFER', 8, 'right')}${clip('RESTORE', 8, 'right')}${clip('DOWNTIME', 10, 'right')}`,
    { bold: true },
  );
  for (const { item: it, index: i } of view.slice(plan.items)) {
    const e = plan.estimates[it.id];
    push(
      `${clip(String(i + 1), 3)}${clip(it.container.name, nameW)} ${clip(it.container.host, 8)}${clip(formatDuration(e?.checkpointMs), 7, 'right')}${clip(formatDuration(e?.transferMs), 8, 'right')}${clip(formatDuration(e?.restoreMs), 8, 'right')}${clip(formatDuration(plan.predicted.downtimeMs[it.id]), 10, 'right')}`,
      plan.findings.some((f) => f.id === it.id && f.severity === 'blocker') ? { color: tone('error') } : {},
    );
  }
  if (view.scrolls)
    push(`   ${view.top + 1}-${view.end} of ${view.total} (${keyOf('down')}/${keyOf('up')} scroll)`, {
      color: tone('muted'),
    });
  const deps = plan.edges.length > 0 ? `; order keeps ${plan.edges.length} dependencies` : '';
  push(`${planSummary(plan)}${deps}`, { bold: true });
  const links = Object.entries(plan.links ?? {});
  if (links.length > 0)
    push(
      `links: ${links.map(([k, l]) => `${k} ${formatRate(l.bytesPerSec)}${l.zstd ? ' zstd' : ''}`).join(', ')}`,
      { color: tone('muted') },
    );
  if (plan.findings.length === 0) push('no findings: every check passed', { color: tone('ok') });
  let room = Math.max(1, height - lines.length - 1);
  // blockers first
  const findings = [...plan.findings].sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === 'blocker' ? -1 : 1,
  );
  for (const f of findings) {
    if (room <= 0) break;
    const text = `${f.severity === 'blocker' ? 'BLOCKER' : 'warning'} ${f.id ? short(f.id) : 'group'}: ${f.message}`;
    for (const l of wrap(text, width, Math.min(perFinding, room))) {
      push(l, { color: tone(f.severity === 'blocker' ? 'error' : 'warn'), bold: f.severity === 'blocker' });
      room--;
    }
  }
  push(
    plan.blocked
      ? 'migration refused: fix the blockers (red) or unmark those containers'
      : `${keyOf('confirm')} runs this plan; ${keyOf('back')} goes back`,
    { color: plan.blocked ? tone('error') : tone('ok'), bold: true },
  );
  return <>{lines.slice(0, height)}</>;
}
