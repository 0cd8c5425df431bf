// Tables for stdout and bench/README.md from the aggregates (pure).
import type { Aggregate, Range, Summary } from './model.ts';

const s = (ms: number) => (ms / 1000).toFixed(1);
const sr = (r: Range | null) => (r ? `${s(r.median)} (${s(r.min)}-${s(r.max)})` : '-');
const ratio = (x: number | null) => (x === null ? '-' : x.toFixed(2));
const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 100)}%`);

/** the part's id, as scripts/bench.ts names it */
export const groupKey = (a: Pick<Aggregate, 'runtime' | 'link' | 'workload' | 'busy' | 'hogNice'>) =>
  `${a.workload}-${a.runtime}-${a.link}-${a.busy ? 'busy' : 'idle'}${a.busy && a.hogNice ? `-hognice${a.hogNice}` : ''}`;

export const HEADER = [
  'method',
  'ok/runs',
  'makespan s',
  'vs seq',
  'vs manual',
  'mean downtime s',
  'downtime vs manual',
  'per container s',
  'CPU-s/GB',
  'bound eff.',
];

export function rowCells(a: Aggregate): string[] {
  return [
    a.method,
    `${a.ok}/${a.runs}`,
    sr(a.makespanMs),
    ratio(a.vsSequential),
    ratio(a.vsManual),
    sr(a.meanDowntimeMs),
    ratio(a.downtimeVsManual),
    a.downtimeMs ? `${s(a.downtimeMs.min)}-${s(a.downtimeMs.max)}` : '-',
    a.cpuSecondsPerGB ? a.cpuSecondsPerGB.median.toFixed(1) : '-',
    pct(a.efficiency),
  ];
}

export function groups(aggs: Aggregate[]): Map<string, Aggregate[]> {
  const m = new Map<string, Aggregate[]>();
  for (const a of aggs) m.set(groupKey(a), [...(m.get(groupKey(a)) ?? []), a]);
  return m;
}

export const groupTitle = (a: Aggregate) =>
  `${a.workload}, ${a.runtime}, link ${a.link}, source ${a.busy ? `busy (CPU hog on every core${a.hogNice ? `, at nice ${a.hogNice}` : ''})` : 'idle'}`;

export function textSummary(summary: Summary): string {
  const out: string[] = [];
  for (const [, rows] of groups(summary.aggregates)) {
    const first = rows[0] as Aggregate;
    out.push(
      '',
      `${groupTitle(first)}; loadavg ${Math.min(...rows.map((r) => r.loadavg.min))}-${Math.max(...rows.map((r) => r.loadavg.max))}; bound ${first.boundMs === null ? '-' : `${s(first.boundMs)} s`}`,
    );
    const cells = [HEADER, ...rows.map(rowCells)];
    const widths = HEADER.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
    for (const c of cells) out.push(c.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  '));
  }
  const r = summary.restore;
  if (r)
    out.push(
      '',
      `restore stage, each alone on an idle destination: pre-created ${s(r.precreateMs.median)} s (${s(r.precreateMs.min)}-${s(r.precreateMs.max)}), ` +
        `plain restore --import ${s(r.plainImportMs.median)} s (${s(r.plainImportMs.min)}-${s(r.plainImportMs.max)}); ` +
        `ratio ${r.ratio.toFixed(2)} (pairs ${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)})`,
    );
  return `${out.join('\n')}\n`;
}

const line = (c: string[]) => `| ${c.join(' | ')} |`;
/** a markdown table: header, rule, rows */
const table = (head: string[], rows: string[][]) =>
  [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');

export function markdownTable(rows: Aggregate[]): string {
  return table(HEADER, rows.map(rowCells));
}

const STAGE_ORDER = ['prestage', 'checkpoint', 'transfer', 'restore', 'verify', 'finalize'];

/** Where the time and the CPU go: median stage durations (per container) and CPU-seconds per host. */
export function breakdownTable(rows: Aggregate[]): string {
  const stages = STAGE_ORDER.filter((st) => rows.some((a) => a.stageMedianMs[st] !== undefined));
  const hosts = ['alpha', 'beta', 'operator'].filter((h) => rows.some((a) => a.cpuSeconds[h] !== undefined));
  const head = ['method', ...stages.map((st) => `${st} ms`), ...hosts.map((h) => `CPU-s ${h}`)];
  return table(
    head,
    rows.map((a) => [
      a.method,
      ...stages.map((st) =>
        a.stageMedianMs[st] === undefined ? '-' : String(Math.round(a.stageMedianMs[st])),
      ),
      ...hosts.map((h) => (a.cpuSeconds[h] === undefined ? '-' : (a.cpuSeconds[h] as number).toFixed(1))),
    ]),
  );
}

const div = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? null : a / b;

/**
 * The issue's targets, one row per part (workload, runtime, link, source):
 * makespans against sequential, the bound, downtimes and CPU per GB against
 * manual. Ratios of medians from the same part.
 */
export function headlineTable(aggs: Aggregate[]): string {
  const head = [
    'workload, runtime, link, source',
    'auto / seq',
    'pipelined / seq',
    'parallel / seq',
    'bound / seq',
    'auto eff.',
    'downtime seq / manual',
    'downtime auto / manual',
    'downtime auto / seq',
    'CPU-s/GB auto / manual',
    'CPU-s/GB direct / manual',
    'auto / manual',
  ];
  const rows: string[][] = [];
  for (const g of groups(aggs).values()) {
    const first = g[0] as Aggregate;
    const m = (method: string) => g.find((a) => a.method === method);
    const seq = m('sequential');
    const man = m('manual');
    const auto = m('auto');
    const ms = (a: Aggregate | undefined) => a?.makespanMs?.median;
    const dt = (a: Aggregate | undefined) => a?.meanDowntimeMs?.median;
    const cpu = (a: Aggregate | undefined) => a?.cpuSecondsPerGB?.median;
    rows.push([
      `${first.workload}, ${first.runtime}, ${first.link}, ${first.busy ? `busy${first.hogNice ? ` (hog at nice ${first.hogNice})` : ''}` : 'idle'}`,
      ratio(div(ms(auto), ms(seq))),
      ratio(div(ms(m('pipelined')), ms(seq))),
      ratio(div(ms(m('parallel')), ms(seq))),
      ratio(div(first.boundMs ?? undefined, ms(seq))),
      pct(auto?.efficiency ?? null),
      ratio(div(dt(seq), dt(man))),
      ratio(div(dt(auto), dt(man))),
      ratio(div(dt(auto), dt(seq))),
      ratio(div(cpu(auto), cpu(man))),
      ratio(div(cpu(m('direct')), cpu(man))),
      ratio(div(ms(auto), ms(man))),
    ]);
  }
  return table(head, rows);
}

/** docker against podman for the same workload, link, source and method: ratios of median makespan and mean downtime. */
export function runtimeTable(aggs: Aggregate[]): string {
  const head = [
    'workload, link, source',
    'method',
    'makespan docker / podman',
    'mean downtime docker / podman',
  ];
  const rows: string[][] = [];
  for (const d of aggs.filter((a) => a.runtime === 'docker')) {
    const p = aggs.find(
      (a) =>
        a.runtime === 'podman' &&
        groupKey(a) === groupKey({ ...d, runtime: 'podman' }) &&
        a.method === d.method,
    );
    if (!p) continue;
    rows.push([
      `${d.workload}, ${d.link}, ${d.busy ? 'busy' : 'idle'}`,
      d.method,
      ratio(div(d.makespanMs?.median, p.makespanMs?.median)),
      ratio(div(d.meanDowntimeMs?.median, p.meanDowntimeMs?.median)),
    ]);
  }
  return rows.length ? table(head, rows) : '';
}
