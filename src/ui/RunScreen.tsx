// A migration as it runs: one row per container (stage, transfer progress,
// rate, elapsed, downtime), the log of warnings, errors and rollbacks, and the
// summary at the end.
import { Text } from 'ink';
import { type ReactNode, useEffect, useState } from 'react';
import { useApp } from '../store/react.ts';
import { type RunItemState, type RunState, runFinished } from '../store/run.ts';
import { clip } from '../text/format.ts';
import { BYTES, formatBytes, formatDuration, formatRate, progressBar } from '../text/numbers.ts';
import { type ColumnSpec, formatRow, layoutColumns, rowCells } from '../text/table.ts';
import { keyOf } from './keymap.ts';
import { type Tone, useTone } from './theme.ts';
import { useViewport } from './viewport.ts';

/** Re-renders every `ms` while `active`: the elapsed clocks. */
function useNow(ms: number, active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}

function phaseText(it: RunItemState): { text: string; tone: Tone | null } {
  if (it.phase === 'waiting') return { text: 'waiting', tone: 'muted' };
  if (it.phase !== 'done') return { text: it.phase, tone: 'accent' };
  switch (it.outcome) {
    case 'migrated':
      return { text: 'migrated', tone: 'ok' };
    case 'rolled-back':
      return { text: 'rolled back', tone: 'warn' };
    case 'failed':
      return { text: 'FAILED', tone: 'error' };
    default:
      return { text: it.outcome ?? 'done', tone: 'muted' };
  }
}

function transferFraction(it: RunItemState): number | null {
  if (it.phase === 'done' && it.outcome === 'migrated') return 1;
  if (it.phase === 'restore' || it.phase === 'verify' || it.phase === 'finalize') return 1;
  if (!it.expectedBytes || it.expectedBytes <= 0) return it.bytes > 0 ? null : 0;
  // the memory is an estimate of what moves: never show a full bar before the end
  return Math.min(0.99, it.bytes / it.expectedBytes);
}

type RunColumn = 'name' | 'stage' | 'transfer' | 'bytes' | 'rate' | 'elapsed' | 'down';

/** The run's container table: fixed widths, the name takes what the others leave. */
function runColumns(width: number, barW: number) {
  const specs: ColumnSpec<RunColumn>[] = [
    { id: 'name', title: 'CONTAINER', min: Math.max(8, width - (12 + barW + 6 + 8 + 9 + 8 + 9)) },
    { id: 'stage', title: 'STAGE', min: 11, gap: 1 },
    { id: 'transfer', title: 'TRANSFER', min: barW + 5, gap: 1 },
    { id: 'bytes', title: 'BYTES', min: 8, align: 'right' },
    { id: 'rate', title: 'RATE', min: 9, align: 'right' },
    { id: 'elapsed', title: 'ELAPSED', min: 8, align: 'right' },
    { id: 'down', title: 'DOWNTIME', min: 9, align: 'right' },
  ];
  return layoutColumns(specs, width, 0);
}

export function runCounts(run: RunState): { done: number; total: number } {
  const items = Object.values(run.items);
  return { done: items.filter((i) => i.phase === 'done').length, total: items.length };
}

export function RunScreen({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const run = useApp((s) => s.run);
  const finished = runFinished(run);
  const now = useNow(500, !finished);
  const order = run ? run.order.filter((id) => run.items[id]) : [];
  // more containers than room: the window follows the first one not done yet, one done above it
  const firstActive = run ? order.findIndex((id) => run.items[id]?.phase !== 'done') : -1;
  const view = useViewport({
    total: order.length,
    rows: Math.floor((height - 4) * 0.6),
    cursor: firstActive < 0 ? order.length : firstActive,
    anchor: 1,
  });
  if (!run) return null;
  const lines: ReactNode[] = [];
  const push = (node: ReactNode) => lines.push(node);
  const line = (text: string, t: Tone | null = null, bold = false) =>
    push(
      <Text key={lines.length} color={t ? tone(t) : undefined} bold={bold} wrap="truncate">
        {clip(text, width)}
      </Text>,
    );
  const elapsed = run.summary ? run.summary.makespanMs : Math.max(run.lastT, now - run.startedAt);
  const { done, total } = runCounts(run);
  const state = run.summary
    ? 'finished'
    : run.failure
      ? 'failed'
      : run.cancelling
        ? 'stopping safely…'
        : 'running';
  line(
    `Run ${run.runId ?? '…'}  ${run.strategy}  ${done}/${total} done  elapsed ${formatDuration(elapsed)}  ${state}`,
    run.cancelling && !finished ? 'warn' : 'accent',
    true,
  );
  const barW = Math.max(6, Math.min(22, width - 69));
  const columns = runColumns(width, barW);
  line(
    formatRow(columns, (c) => c.title),
    null,
    true,
  );
  for (const { item: id } of view.slice(order)) {
    const it = run.items[id] as RunItemState;
    const ph = phaseText(it);
    const f = transferFraction(it);
    const pct = f === null ? '   ?' : `${String(Math.round(f * 100)).padStart(3)}%`;
    const itemElapsed =
      it.startT === null
        ? null
        : (it.endT ?? (run.summary ? run.summary.makespanMs : now - run.startedAt)) - it.startT;
    const moving = it.phase === 'transfer';
    const cell: Record<RunColumn, string> = {
      name: it.name,
      stage: ph.text,
      transfer: `${progressBar(f, barW)} ${pct}`,
      bytes: it.bytes > 0 ? formatBytes(it.bytes, BYTES.terse) : '',
      rate: moving ? formatRate(it.rate) : '',
      elapsed: formatDuration(itemElapsed),
      down: it.downtimeMs === null ? '' : formatDuration(it.downtimeMs),
    };
    const [name, stage, transfer, ...rest] = rowCells(columns, (c) => cell[c.id]);
    push(
      <Text key={`i-${id}`} wrap="truncate">
        {name}
        <Text color={ph.tone ? tone(ph.tone) : undefined} bold={ph.tone === 'error'}>
          {stage}
        </Text>
        <Text color={moving ? tone('accent') : undefined}>{transfer}</Text>
        {rest.join('')}
      </Text>,
    );
  }
  if (view.scrolls) line(`${view.top + 1}-${view.end} of ${view.total} containers`, 'muted');
  // the end: summary; meanwhile the log
  const summaryLines: { text: string; tone: Tone | null; bold?: boolean }[] = [];
  if (run.failure) summaryLines.push({ text: `the run failed: ${run.failure}`, tone: 'error', bold: true });
  if (run.summary) {
    const by = (o: string) => run.summary?.results.filter((r) => r.outcome === o).length ?? 0;
    const downs = run.summary.results.map((r) => r.downtimeMs).filter((d): d is number => d !== undefined);
    const maxDown = downs.length > 0 ? Math.max(...downs) : null;
    const parts = [`${by('migrated')} migrated`];
    if (by('rolled-back')) parts.push(`${by('rolled-back')} rolled back`);
    if (by('failed')) parts.push(`${by('failed')} FAILED`);
    if (by('skipped')) parts.push(`${by('skipped')} skipped`);
    summaryLines.push({
      text: `Done in ${formatDuration(run.summary.makespanMs)}: ${parts.join(', ')}${maxDown !== null ? `; longest downtime ${formatDuration(maxDown)}` : ''}`,
      tone: by('failed') ? 'error' : by('rolled-back') ? 'warn' : 'ok',
      bold: true,
    });
    for (const r of run.summary.results.filter((x) => x.outcome !== 'migrated' && x.message))
      summaryLines.push({
        text: `  ${r.id.split('/').pop()}: ${r.outcome}: ${r.message}`,
        tone: r.outcome === 'failed' ? 'error' : 'warn',
      });
  }
  if (finished)
    summaryLines.push({
      text: `${keyOf('back')}: back to the containers (the inventory refreshes)`,
      tone: 'muted',
    });
  const logRoom = Math.max(0, height - lines.length - summaryLines.length - 1);
  if (logRoom > 0) {
    line('Log', null, true);
    const tail = run.log.slice(Math.max(0, run.log.length - (logRoom - 1)));
    if (tail.length === 0) line('  (nothing yet)', 'muted');
    for (const l of tail)
      line(
        `${clip(formatDuration(l.t), 7, 'right')} ${l.text}`,
        l.level === 'error' ? 'error' : l.level === 'warning' ? 'warn' : null,
      );
  }
  for (const s of summaryLines) line(s.text, s.tone, s.bold ?? false);
  return <>{lines.slice(0, height)}</>;
}
