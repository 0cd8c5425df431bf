// `ferry --plan --json`: the plan as a stable JSON document (schema
// ferry.plan/v1, below), and the timings line of FERRY_TIMING=1. The command
// is plan-command.ts; the text for a person, plan-text.ts.
import type { MigrationPlan } from '../migrate/survey.ts';
import type { PlannedCreate, Stage } from '../plan/migration.ts';

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
    /** what the destination creates: the driver's create command (env values elided, host text sanitised) */
    create: PlannedCreate | null;
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
        create: plan.creates?.[i.id] ?? null,
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

/** "ferry: plan timing: probes 420 ms, preflight 1130 ms, links 2210 ms, total 2230 ms" (FERRY_TIMING=1) */
export function formatTimings(plan: MigrationPlan): string {
  const steps = Object.entries(plan.timings ?? {}).map(([step, ms]) => `${step} ${ms} ms`);
  const cached = plan.factsCached?.length ? `; facts cached: ${plan.factsCached.join(' ')}` : '';
  return `ferry: plan timing: ${[...steps, `total ${plan.planMs} ms`].join(', ')}${cached}\n`;
}
