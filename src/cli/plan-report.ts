// `ferry --plan`: what a migration would do, without doing it. Human text by
// default, a stable JSON document with --json (schema ferry.plan/v1, below).
// Exit codes: 0 the plan is good, 2 blockers found, 1 error.
import type { MigrationPlan } from '../migrate/survey.ts';
import type { Stage } from '../plan/migration.ts';
import { BYTES, formatBytes, truncate, wrap as wrapText } from '../text/format.ts';
import { type ContentColumn, formatTable } from '../text/table.ts';
import { type MigrateArgs, planFor, poolFor } from './request.ts';

/** `ferry --plan --json`: documented in the README; change only by bumping `schema`. */
export interface PlanJson {
  schema: 'ferry.plan/v1';
  strategy: string;
  options: {
    compress: string;
    consistentCut: boolean;
    keepSource: boolean;
    /** settings allowed to reach beyond the container (--allow) */
    allow: string[];
    restorePath: string;
    transfer: 'relay' | 'direct' | 'auto';
  };
  /** container ids in checkpoint order; every edge's `before` comes before its `after` */
  order: string[];
  items: {
    id: string;
    host: string;
    runtime: 'podman' | 'docker';
    name: string;
    destination: string;
    memoryBytes: number;
    estimate: { checkpointMs: number; transferMs: number; restoreMs: number };
    predictedDowntimeMs: number;
    stages: {
      stage: Extract<Stage, 'checkpoint' | 'transfer' | 'restore'>;
      startMs: number;
      endMs: number;
    }[];
  }[];
  /** `after` is not frozen before `before` (it depends on it) */
  edges: { before: string; after: string }[];
  links: {
    from: string;
    to: string;
    bytesPerSec: number;
    compression: 'zstd' | 'none';
    /** relay: through ferry; direct: the source's own ssh to `route` */
    transfer: 'relay' | 'direct';
    route?: string;
    /**
     * where bytesPerSec comes from: measured now (warm, bytes streamed in ms; steady:
     * a steady window was seen), or remembered from a transfer or estimate of this process
     */
    estimate?: { by: 'measured' | 'transfer' | 'estimate'; bytes: number; ms?: number; steady?: boolean };
  }[];
  predicted: { makespanMs: number; sequentialMs: number; savedPercent: number };
  findings: { id: string; severity: 'blocker' | 'warning'; code: string; message: string }[];
  blocked: boolean;
  planMs: number;
}

export function planJson(plan: MigrationPlan): PlanJson {
  const { predicted } = plan;
  return {
    schema: 'ferry.plan/v1',
    strategy: plan.options.strategy,
    options: {
      compress: plan.options.compress,
      consistentCut: plan.options.consistentCut,
      keepSource: plan.options.keepSource,
      allow: plan.options.allow,
      restorePath: plan.options.restorePath,
      transfer: plan.options.transfer,
    },
    order: plan.items.map((i) => i.id),
    items: plan.items.map((i) => {
      const e = plan.estimates[i.id] ?? { checkpointMs: 0, transferMs: 0, restoreMs: 0 };
      return {
        id: i.id,
        host: i.container.host,
        runtime: i.container.runtime,
        name: i.container.name,
        destination: i.destination,
        memoryBytes: plan.memoryBytes[i.id] ?? 0,
        estimate: {
          checkpointMs: Math.round(e.checkpointMs),
          transferMs: Math.round(e.transferMs),
          restoreMs: Math.round(e.restoreMs),
        },
        predictedDowntimeMs: predicted.downtimeMs[i.id] ?? 0,
        stages: predicted.stages
          .filter((s) => s.id === i.id)
          .map(({ stage, startMs, endMs }) => ({ stage, startMs, endMs })),
      };
    }),
    edges: plan.edges.map(([before, after]) => ({ before, after })),
    links: Object.entries(plan.links).map(([name, l]) => {
      const [from = '', to = ''] = name.split('->');
      return {
        from,
        to,
        bytesPerSec: l.bytesPerSec,
        compression: l.zstd ? ('zstd' as const) : ('none' as const),
        transfer: l.direct ? ('direct' as const) : ('relay' as const),
        ...(l.direct ? { route: `${l.direct.target}:${l.direct.port}` } : {}),
        ...(l.source
          ? {
              estimate:
                l.source.kind === 'measured'
                  ? {
                      by: 'measured' as const,
                      bytes: l.source.bytes,
                      ms: l.source.ms,
                      steady: l.source.steady,
                    }
                  : { by: l.source.kind, bytes: l.source.bytes },
            }
          : {}),
      };
    }),
    predicted: {
      makespanMs: predicted.makespanMs,
      sequentialMs: predicted.sequentialMs,
      savedPercent: savedPercent(predicted.makespanMs, predicted.sequentialMs),
    },
    findings: plan.findings,
    blocked: plan.blocked,
    planMs: plan.planMs,
  };
}

const savedPercent = (ms: number, baseline: number) =>
  baseline > 0 ? Math.round((1 - ms / baseline) * 100) : 0;

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A finding or an edge in 80 columns: the first line indented by 2, the rest by 4; a word longer than a line is cut. */
const wrap = (text: string) => wrapText(text, 80, { indent: { first: '  ', rest: '    ' }, long: 'cut' });

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
  for (const l of j.links)
    lines.push(
      `link ${l.from} -> ${l.to}: ${(l.bytesPerSec / 1e6).toFixed(0)} MB/s, ${l.compression === 'zstd' ? 'zstd' : 'uncompressed'}, ${l.transfer === 'direct' ? `direct: ssh ${l.route}` : 'relayed'}`,
    );
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

/** "ferry: plan timing: probes 420 ms, preflight 1130 ms, links 2210 ms, total 2230 ms" (FERRY_TIMING=1) */
export function formatTimings(plan: MigrationPlan): string {
  const steps = Object.entries(plan.timings ?? {}).map(([step, ms]) => `${step} ${ms} ms`);
  return `ferry: plan timing: ${[...steps, `total ${plan.planMs} ms`].join(', ')}\n`;
}

export async function planCommand(
  a: MigrateArgs & { json: boolean },
  out: NodeJS.WritableStream,
  err?: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const pool = poolFor(a);
  try {
    const plan = await planFor(pool, a);
    if (env.FERRY_TIMING === '1') err?.write(formatTimings(plan));
    out.write(a.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : formatPlan(plan));
    return plan.blocked ? 2 : 0;
  } finally {
    await pool.close();
  }
}
