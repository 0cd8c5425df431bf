// The plan before anything runs: order, per-stage estimates, predicted
// makespan and downtime, findings. Blockers are red and refuse the run.
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useApp } from '../store/react.ts';
import type { OutsideTcp } from '../store/store.ts';
import type { PlanView } from '../store/types.ts';
import { clip, wrap } from '../text/format.ts';
import { formatDuration, formatRate } from '../text/numbers.ts';
import { type ColumnSpec, formatRow, layoutColumns } from '../text/table.ts';
import { keyOf } from './keymap.ts';
import { useTone } from './theme.ts';
import { useViewport } from './viewport.ts';

const short = (id: string) => id.split('/').pop() ?? id;

export function planSummary(plan: PlanView): string {
  const { makespanMs, sequentialMs } = plan.predicted;
  const gain = sequentialMs > 0 ? Math.round((1 - makespanMs / sequentialMs) * 100) : 0;
  return `predicted makespan ${formatDuration(makespanMs)} (one by one ${formatDuration(sequentialMs)}${gain > 0 ? `, ${gain}% faster` : ''})`;
}

type PlanColumn = 'n' | 'name' | 'from' | 'ckpt' | 'xfer' | 'restore' | 'down';

/** The plan's item table: fixed widths, the name's from the terminal's. */
function planColumns(width: number) {
  const specs: ColumnSpec<PlanColumn>[] = [
    { id: 'n', title: '#', min: 3 },
    { id: 'name', title: 'CONTAINER', min: Math.max(10, Math.min(30, width - 50)) },
    { id: 'from', title: 'FROM', min: 8, gap: 1 },
    { id: 'ckpt', title: 'CKPT', min: 7, align: 'right' },
    { id: 'xfer', title: 'XFER', min: 8, align: 'right' },
    { id: 'restore', title: 'RESTORE', min: 8, align: 'right' },
    { id: 'down', title: 'DOWNTIME', min: 10, align: 'right' },
  ];
  return layoutColumns(specs, width, 0);
}

/** The choice for connections to peers outside the group, and what it means. */
export function outsideTcpLine(tcp: OutsideTcp): string {
  const key = keyOf('tcp');
  if (tcp === 'keep')
    return `outside TCP: keep: works only if the peer still reaches the address (${key} changes)`;
  if (tcp === 'close') return `outside TCP: close: the application reconnects (${key} changes)`;
  return `outside TCP: not chosen (${key}: keep, then close)`;
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
  // shown once chosen, or when the plan finds connections to peers outside the group
  const tcpLine =
    screen.kind === 'plan' &&
    (screen.tcp !== null || (screen.plan?.findings.some((f) => f.code === 'tcp-established') ?? false));
  // the title (and the choice) and the table's header above the items; the summary, links and the verdict after them
  const itemRoom = Math.max(1, height - 2 - (tcpLine ? 1 : 0) - findingLines - 4);
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
  if (tcpLine) push(outsideTcpLine(screen.tcp), { color: screen.tcp === null ? tone('warn') : tone('info') });
  if (screen.status === 'planning') {
    push('planning: reaching the hosts, checking each container, measuring the link…', {
      color: tone('muted'),
    });
    return <>{lines}</>;
  }
  if (screen.status === 'error' || !screen.plan) {
    push('cannot plan this migration:', { color: tone('error'), bold: true });
    for (const l of wrap(screen.error ?? 'unknown error', width, { maxLines: Math.max(1, height - 3) }))
      push(l, { color: tone('error') });
    return <>{lines}</>;
  }
  const plan = screen.plan;
  const verdict = () =>
    push(
      plan.blocked
        ? 'migration refused: fix the blockers (red) or unmark those containers'
        : `${keyOf('confirm')} runs this plan; ${keyOf('back')} goes back`,
      { color: plan.blocked ? tone('error') : tone('ok'), bold: true },
    );
  if (screen.details) {
    push(
      `what each destination creates (env values elided; ${keyOf('details')}: the plan, ${keyOf('down')}/${keyOf('up')} scroll)`,
      {
        color: tone('muted'),
      },
    );
    let room = Math.max(1, height - lines.length - 1);
    const offset = Math.min(screen.offset, plan.items.length - 1);
    plan.items.slice(offset).forEach((it, k) => {
      const create = plan.creates?.[it.id];
      const text = `${offset + k + 1} ${it.container.name} on ${it.destination}: ${create?.line ?? 'not known'}`;
      for (const l of room > 0 ? wrap(text, width, { maxLines: room }) : []) {
        push(l, create?.argv ? {} : { color: tone('muted') });
        room--;
      }
    });
    verdict();
    return <>{lines.slice(0, height)}</>;
  }
  const columns = planColumns(width);
  push(
    formatRow(columns, (c) => c.title),
    { bold: true },
  );
  for (const { item: it, index: i } of view.slice(plan.items)) {
    const e = plan.estimates[it.id];
    const cell: Record<PlanColumn, string> = {
      n: String(i + 1),
      name: it.container.name,
      from: it.container.host,
      ckpt: formatDuration(e?.checkpointMs),
      xfer: formatDuration(e?.transferMs),
      restore: formatDuration(e?.restoreMs),
      down: formatDuration(plan.predicted.downtimeMs[it.id]),
    };
    push(
      formatRow(columns, (c) => cell[c.id]),
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
    for (const l of wrap(text, width, { maxLines: Math.min(perFinding, room) })) {
      push(l, { color: tone(f.severity === 'blocker' ? 'error' : 'warn'), bold: f.severity === 'blocker' });
      room--;
    }
  }
  verdict();
  return <>{lines.slice(0, height)}</>;
}
