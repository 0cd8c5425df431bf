// The plan for a person (`ferry --plan` without --json, and before `ferry
// migrate` runs): 80 columns of text. Loaded only to print it: its cell
// widths (string-width) cost the headless start ~15 ms.
import type { MigrationPlan } from '../migrate/survey.ts';
import { truncate, wrap as wrapText } from '../text/format.ts';
import { BYTES, formatBytes } from '../text/numbers.ts';
import { type ContentColumn, formatTable } from '../text/table.ts';
import { planJson } from './plan-report.ts';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A finding or an edge in 80 columns: the first line indented by 2, the rest by 4; a word longer than a line is cut. */
const wrap = (text: string) => wrapText(text, 80, { indent: { first: '  ', rest: '    ' }, long: 'cut' });
/** The same, a word longer than a line carried on over the next lines: a command is shown entire. */
const wrapWhole = (text: string) => wrapText(text, 80, { indent: { first: '  ', rest: '    ' } });

/** The plan's item table: columns as wide as their content, in 80 columns. */
const ITEM_COLUMNS: readonly ContentColumn[] = [
  { title: '#', align: 'right' },
  { title: 'CONTAINER', flex: true, max: 31 },
  { title: 'TO', flex: true, max: 8 },
  { title: 'MEM', align: 'right' },
  { title: 'CKPT', align: 'right' },
  { title: 'XFER', align: 'right' },
  { title: 'REST', align: 'right' },
  { title: 'DOWN', align: 'right' },
];

/** where a link's rate came from, when it was not measured by this plan */
const REMEMBERED: Record<string, string> = {
  transfer: 'the rate a transfer reached in the last minutes',
  estimate: 'the rate a plan measured in the last minutes',
};

/** The plan for a person: fits 80 columns. */
export function formatPlan(plan: MigrationPlan): string {
  const j = planJson(plan);
  const lines: string[] = [];
  const dests = [...new Set(j.items.map((i) => i.destination))].join(', ');
  lines.push(
    truncate(
      `plan: ${j.items.length} container${j.items.length === 1 ? '' : 's'} -> ${dests}, strategy ${j.strategy} (planned in ${secs(j.planMs)})`,
      80,
    ),
  );
  for (const l of j.links) {
    lines.push(
      `link ${l.from} -> ${l.to}: ${(l.bytesPerSec / 1e6).toFixed(0)} MB/s, ${l.compression === 'zstd' ? 'zstd' : 'uncompressed'}, ${l.transfer === 'direct' ? `direct: ssh ${l.route}` : 'relayed'}`,
    );
    const remembered = REMEMBERED[l.estimate?.by ?? ''];
    if (remembered) lines.push(`  ${remembered}`);
  }
  lines.push('');
  const rows = j.items.map((i, n) => [
    String(n + 1),
    `${i.host}/${i.runtime}/${i.name}`,
    i.destination,
    formatBytes(i.memoryBytes, BYTES.mb),
    secs(i.estimate.checkpointMs),
    secs(i.estimate.transferMs),
    secs(i.estimate.restoreMs),
    secs(i.predictedDowntimeMs),
  ]);
  lines.push(...formatTable(ITEM_COLUMNS, rows, 80, 1));
  lines.push('');
  lines.push(
    `predicted makespan ${secs(j.predicted.makespanMs)} (one by one: ${secs(j.predicted.sequentialMs)}, ${j.predicted.savedPercent}% less)`,
  );
  if (j.edges.length > 0) {
    lines.push('order respects:');
    for (const e of j.edges) lines.push(...wrap(`${e.after} after ${e.before}`));
  }
  if (j.items.some((i) => i.create)) {
    lines.push('created on the destination (env values elided):');
    j.items.forEach((i, n) => {
      if (i.create) lines.push(...wrapWhole(`${n + 1} ${i.name} on ${i.destination}: ${i.create.line}`));
    });
  }
  const blockers = j.findings.filter((f) => f.severity === 'blocker');
  const warnings = j.findings.filter((f) => f.severity === 'warning');
  if (blockers.length > 0) {
    lines.push(`BLOCKERS (${blockers.length}): these containers will not be touched`);
    for (const f of blockers) lines.push(...wrap(`${f.id}: ${f.message} [${f.code}]`));
  }
  if (warnings.length > 0) {
    lines.push(`warnings (${warnings.length}):`);
    for (const f of warnings) lines.push(...wrap(`${f.id || 'group'}: ${f.message} [${f.code}]`));
  }
  return `${lines.join('\n')}\n`;
}
