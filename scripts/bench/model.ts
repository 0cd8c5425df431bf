// The bench's pure parts: the result schema, a run's timeline from the
// engine's NDJSON events, its metrics, the flow-shop lower bound, and the
// aggregates (medians, min-max, ratios). No I/O here: unit tests feed it
// captured events.
import { z } from 'zod';

/** direct: ferry's auto with --transfer direct (the source sends with its own ssh, as manual's scp does) */
export const METHODS = ['manual', 'sequential', 'pipelined', 'parallel', 'auto', 'direct'] as const;
export type Method = (typeof METHODS)[number];
export const RUNTIMES = ['podman', 'docker'] as const;
export type BenchRuntime = (typeof RUNTIMES)[number];
/** the stages between the freeze and the copy running: the makespan's resources */
export const CORE_STAGES = ['checkpoint', 'transfer', 'restore'] as const;
export type CoreStage = (typeof CORE_STAGES)[number];

const bar = z.object({ stage: z.string(), start: z.number(), end: z.number() });
export const containerTimelineSchema = z.object({
  name: z.string(),
  /** ms from the run's start: the freeze (checkpoint start, or the consistent cut's pause) */
  freezeAt: z.number().optional(),
  /** ms from the run's start: the copy runs on the destination (end of restore) */
  runningAt: z.number().optional(),
  outcome: z.string(),
  stages: z.array(bar),
});
export type ContainerTimeline = z.infer<typeof containerTimelineSchema>;

const range = z.object({ median: z.number(), min: z.number(), max: z.number(), n: z.number() });
export type Range = z.infer<typeof range>;

export const runSchema = z.object({
  method: z.enum(METHODS),
  rep: z.number(),
  ok: z.boolean(),
  /** why a run counts as failed: an outcome other than migrated, or lost state */
  failure: z.string().optional(),
  startedAt: z.string(),
  /** /proc/loadavg before and after: the machine is shared */
  loadBefore: z.array(z.number()),
  loadAfter: z.array(z.number()),
  /** share of the machine's CPU time not idle during the run (all processes, not only the lab) */
  machineBusy: z.number(),
  makespanMs: z.number().nullable(),
  downtimeMs: z.record(z.string(), z.number()),
  stagesMs: z.record(z.string(), z.record(z.string(), z.number())),
  timeline: z.array(containerTimelineSchema),
  /** payload bytes the transfer stages reported (manual: the checkpoint files' sizes) */
  payloadBytes: z.number(),
  /** bytes through each lab host's link (eth0 counters) */
  wireBytes: z.record(z.string(), z.object({ rx: z.number(), tx: z.number() })),
  /** CPU-seconds per lab host (its network namespace's processes) and 'operator' (ferry or the manual script's ssh) */
  cpuSeconds: z.record(z.string(), z.number()),
  cpuSecondsPerGB: z.number(),
  predictedMakespanMs: z.number().optional(),
  wallMs: z.number(),
  /** the engine's events without the byte-progress ones (ferry methods) */
  events: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type RunRecord = z.infer<typeof runSchema>;

export const restoreSampleSchema = z.object({
  path: z.enum(['precreate', 'import', 'plain-import']),
  rep: z.number(),
  ms: z.number(),
  detail: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
});
export type RestoreSample = z.infer<typeof restoreSampleSchema>;

export const partSchema = z.object({
  kind: z.literal('ferry-bench-part'),
  id: z.string(),
  machine: z.object({ host: z.string(), cpus: z.number(), cpuModel: z.string(), memMB: z.number() }),
  commit: z.string(),
  runtime: z.enum(RUNTIMES),
  link: z.string(),
  workload: z.string(),
  busy: z.boolean(),
  /** the busy source's hog ran at this niceness (0 when absent): how much a lower-priority load spares the move */
  hogNice: z.number().optional(),
  groupMB: z.number(),
  containers: z.number(),
  reps: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  runs: z.array(runSchema),
  restore: z.array(restoreSampleSchema).optional(),
});
export type Part = z.infer<typeof partSchema>;

export const aggregateSchema = z.object({
  runtime: z.string(),
  link: z.string(),
  workload: z.string(),
  busy: z.boolean(),
  hogNice: z.number().optional(),
  method: z.enum(METHODS),
  runs: z.number(),
  ok: z.number(),
  makespanMs: range.nullable(),
  meanDowntimeMs: range.nullable(),
  downtimeMs: z.object({ min: z.number(), max: z.number() }).nullable(),
  cpuSecondsPerGB: range.nullable(),
  cpuSeconds: z.record(z.string(), z.number()),
  stageMedianMs: z.record(z.string(), z.number()),
  vsSequential: z.number().nullable(),
  vsManual: z.number().nullable(),
  downtimeVsManual: z.number().nullable(),
  boundMs: z.number().nullable(),
  efficiency: z.number().nullable(),
  loadavg: z.object({ min: z.number(), max: z.number() }),
});
export type Aggregate = z.infer<typeof aggregateSchema>;

export const summarySchema = z.object({
  kind: z.literal('ferry-bench-summary'),
  generatedAt: z.string(),
  machine: partSchema.shape.machine,
  parts: z.array(z.string()),
  aggregates: z.array(aggregateSchema),
  restore: z
    .object({
      precreateMs: range,
      importMs: range.nullable(),
      plainImportMs: range,
      ratio: z.number(),
      ratioMin: z.number(),
      ratioMax: z.number(),
      breakdown: z.record(z.string(), z.record(z.string(), z.number())),
    })
    .nullable(),
});
export type Summary = z.infer<typeof summarySchema>;

// ------------------------------------------------------------------ numbers

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function rangeOf(xs: number[]): Range | null {
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

// ------------------------------------------------------------------ events

/** The subset of an engine event the bench reads (the NDJSON of `ferry migrate --events ndjson`). */
export interface BenchEvent {
  type: string;
  t: number;
  at?: number;
  id?: string;
  stage?: string;
  ms?: number;
  outcome?: string;
  downtimeMs?: number;
  detail?: Record<string, number | string>;
}

export function parseNdjson(text: string): BenchEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as BenchEvent);
}

/** Container name from an engine id (host/runtime/name). */
export const nameOf = (id: string) => id.split('/').slice(2).join('/') || id;

/** Stage bars, freeze and running instants per container, in ms from the run's start. */
export function timelineFromEvents(events: BenchEvent[]): ContainerTimeline[] {
  const byId = new Map<string, ContainerTimeline>();
  const open = new Map<string, number>();
  const get = (id: string) => {
    let c = byId.get(id);
    if (!c) {
      c = { name: nameOf(id), outcome: 'unknown', stages: [] };
      byId.set(id, c);
    }
    return c;
  };
  for (const e of events) {
    if (!e.id) continue;
    const c = get(e.id);
    if (e.type === 'stage-started' && e.stage) {
      open.set(`${e.id}\0${e.stage}`, e.t);
      if (e.stage === 'checkpoint') c.freezeAt ??= e.t;
    } else if (e.type === 'paused') {
      c.freezeAt = Math.min(c.freezeAt ?? e.t, e.t);
    } else if (e.type === 'stage-finished' && e.stage) {
      const key = `${e.id}\0${e.stage}`;
      const start = open.get(key) ?? e.t - (e.ms ?? 0);
      open.delete(key);
      c.stages.push({ stage: e.stage, start, end: e.t });
      if (e.stage === 'restore') c.runningAt = e.t;
    } else if (e.type === 'error' && e.stage) {
      const key = `${e.id}\0${e.stage}`;
      const start = open.get(key);
      if (start !== undefined) c.stages.push({ stage: `${e.stage} (failed)`, start, end: e.t });
      open.delete(key);
    } else if (e.type === 'container-done' && e.outcome) {
      c.outcome = e.outcome;
    }
  }
  return [...byId.values()];
}

/** First freeze to last container running; null when nothing ran. */
export function makespanOf(timeline: ContainerTimeline[]): number | null {
  const f = timeline.flatMap((c) => (c.freezeAt === undefined ? [] : [c.freezeAt]));
  const r = timeline.flatMap((c) => (c.runningAt === undefined ? [] : [c.runningAt]));
  if (f.length === 0 || r.length === 0) return null;
  return Math.max(...r) - Math.min(...f);
}

export function downtimesOf(timeline: ContainerTimeline[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of timeline)
    if (c.freezeAt !== undefined && c.runningAt !== undefined) out[c.name] = c.runningAt - c.freezeAt;
  return out;
}

/** Duration of every stage per container (a stage run twice adds up). */
export function stagesOf(timeline: ContainerTimeline[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const c of timeline) {
    const s: Record<string, number> = {};
    for (const b of c.stages) s[b.stage] = (s[b.stage] ?? 0) + (b.end - b.start);
    out[c.name] = s;
  }
  return out;
}

export function payloadBytesOf(events: BenchEvent[]): number {
  let total = 0;
  for (const e of events)
    if (e.type === 'stage-finished' && e.stage === 'transfer' && typeof e.detail?.bytes === 'number')
      total += e.detail.bytes;
  return total;
}

// ------------------------------------------------------------------ lower bound

export type Durations = Record<CoreStage, number>;

/**
 * Flow-shop lower bound of the makespan (first freeze to last running) for
 * jobs that each go checkpoint -> transfer -> restore, one at a time per
 * resource (the source's CRIU, the link, the destination's restore): for
 * every resource, its whole load plus the least any job needs before it
 * (fill) and after it (drain); and no job can beat its own chain.
 */
export function flowShopBound(jobs: Durations[]): number {
  if (jobs.length === 0) return 0;
  let bound = Math.max(...jobs.map((j) => j.checkpoint + j.transfer + j.restore));
  CORE_STAGES.forEach((stage, m) => {
    const load = jobs.reduce((s, j) => s + j[stage], 0);
    const before = Math.min(...jobs.map((j) => CORE_STAGES.slice(0, m).reduce((s, k) => s + j[k], 0)));
    const after = Math.min(...jobs.map((j) => CORE_STAGES.slice(m + 1).reduce((s, k) => s + j[k], 0)));
    bound = Math.max(bound, before + load + after);
  });
  return bound;
}

/** Each container's stage durations, median over runs (for the bound: measured one at a time). */
export function medianDurations(runs: RunRecord[]): Durations[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.stagesMs)))].sort();
  return names.flatMap((n) => {
    const d = Object.fromEntries(
      CORE_STAGES.map((s) => [
        s,
        median(runs.flatMap((r) => (r.stagesMs[n]?.[s] === undefined ? [] : [r.stagesMs[n]?.[s] as number]))),
      ]),
    ) as Durations;
    return CORE_STAGES.every((s) => Number.isFinite(d[s])) ? [d] : [];
  });
}

// ------------------------------------------------------------------ aggregates

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function aggregate(
  part: Pick<Part, 'runtime' | 'link' | 'workload' | 'busy' | 'runs' | 'hogNice'>,
): Aggregate[] {
  const methods = METHODS.filter((m) => part.runs.some((r) => r.method === m));
  const okRuns = (m: Method) => part.runs.filter((r) => r.method === m && r.ok);
  // the bound from stages measured without overlap: sequential's, else manual's
  const basis = okRuns('sequential').length ? okRuns('sequential') : okRuns('manual');
  const bound = basis.length ? flowShopBound(medianDurations(basis)) : null;
  const rows = methods.map((method): Aggregate => {
    const all = part.runs.filter((r) => r.method === method);
    const ok = okRuns(method);
    const makespans = ok.flatMap((r) => (r.makespanMs === null ? [] : [r.makespanMs]));
    const downs = ok.map((r) => Object.values(r.downtimeMs)).filter((d) => d.length > 0);
    const hosts = [...new Set(ok.flatMap((r) => Object.keys(r.cpuSeconds)))];
    const stageNames = [...new Set(ok.flatMap((r) => Object.values(r.stagesMs).flatMap(Object.keys)))];
    const makespan = rangeOf(makespans);
    return {
      runtime: part.runtime,
      link: part.link,
      workload: part.workload,
      busy: part.busy,
      ...(part.hogNice ? { hogNice: part.hogNice } : {}),
      method,
      runs: all.length,
      ok: ok.length,
      makespanMs: makespan,
      meanDowntimeMs: rangeOf(downs.map(mean)),
      downtimeMs: downs.length ? { min: Math.min(...downs.flat()), max: Math.max(...downs.flat()) } : null,
      cpuSecondsPerGB: rangeOf(ok.map((r) => r.cpuSecondsPerGB)),
      cpuSeconds: Object.fromEntries(hosts.map((h) => [h, median(ok.map((r) => r.cpuSeconds[h] ?? 0))])),
      stageMedianMs: Object.fromEntries(
        stageNames.map((s) => [
          s,
          median(
            ok.flatMap((r) => Object.values(r.stagesMs).flatMap((x) => (x[s] === undefined ? [] : [x[s]]))),
          ),
        ]),
      ),
      vsSequential: null,
      vsManual: null,
      downtimeVsManual: null,
      boundMs: bound,
      efficiency: bound !== null && makespan ? bound / makespan.median : null,
      loadavg: {
        min: Math.min(...all.flatMap((r) => [r.loadBefore[0] ?? 0, r.loadAfter[0] ?? 0])),
        max: Math.max(...all.flatMap((r) => [r.loadBefore[0] ?? 0, r.loadAfter[0] ?? 0])),
      },
    };
  });
  const seq = rows.find((r) => r.method === 'sequential');
  const man = rows.find((r) => r.method === 'manual');
  for (const r of rows) {
    if (r.makespanMs && seq?.makespanMs) r.vsSequential = r.makespanMs.median / seq.makespanMs.median;
    if (r.makespanMs && man?.makespanMs) r.vsManual = r.makespanMs.median / man.makespanMs.median;
    if (r.meanDowntimeMs && man?.meanDowntimeMs)
      r.downtimeVsManual = r.meanDowntimeMs.median / man.meanDowntimeMs.median;
  }
  return rows;
}

/** Pre-created restore vs `restore --import`, interleaved: ratio of medians and the spread over pairs. */
export function restoreSummary(samples: RestoreSample[]): Summary['restore'] {
  const of = (p: RestoreSample['path']) => samples.filter((s) => s.path === p);
  const pre = of('precreate');
  const plain = of('plain-import');
  const pr = rangeOf(pre.map((s) => s.ms));
  const pl = rangeOf(plain.map((s) => s.ms));
  if (!pr || !pl) return null;
  const pairs = pre.flatMap((p) => {
    const q = plain.find((x) => x.rep === p.rep);
    return q ? [p.ms / q.ms] : [];
  });
  const breakdown: Record<string, Record<string, number>> = {};
  for (const path of ['precreate', 'import'] as const) {
    const keys = [
      ...new Set(
        of(path).flatMap((s) => Object.keys(s.detail ?? {}).filter((k) => typeof s.detail?.[k] === 'number')),
      ),
    ];
    if (keys.length)
      breakdown[path] = Object.fromEntries(
        keys.map((k) => [k, median(of(path).map((s) => Number(s.detail?.[k] ?? Number.NaN)))]),
      );
  }
  return {
    precreateMs: pr,
    importMs: rangeOf(of('import').map((s) => s.ms)),
    plainImportMs: pl,
    ratio: pr.median / pl.median,
    ratioMin: pairs.length ? Math.min(...pairs) : Number.NaN,
    ratioMax: pairs.length ? Math.max(...pairs) : Number.NaN,
    breakdown,
  };
}
