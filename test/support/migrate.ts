// Shared steps for migration tests: snapshot a workflow's state, run the
// engine against the real lab, and prove continuity on the destination.
import { expect } from 'vitest';
import { runEnvironment } from '../../src/cli/environment.ts';
import type { RuntimeKind } from '../../src/inventory/model.ts';
import { runMigration } from '../../src/migrate/engine.ts';
import { liveEffects } from '../../src/migrate/live.ts';
import { sessionsFor } from '../../src/migrate/session.ts';
import { type MigrationPlan, planMigration } from '../../src/migrate/survey.ts';
import {
  DEFAULT_OPTIONS,
  type EngineEvent,
  type MigrateOptions,
  type MigrationItem,
  type PlanRequest,
  type RunSummary,
} from '../../src/plan/migration.ts';
import { createSshPool } from '../../src/ssh/index.ts';
import {
  continuityProblems,
  freshStatus,
  type Runtime,
  SSH_CONFIG,
  ssh,
  type WorkloadStatus,
  waitStatus,
  workloadStatus,
} from './lab.ts';

/** The lab's workloads run on their lab host's network: allowed, as FERRY_ALLOW does for the CLI (vitest.config.ts). */
export const LAB_ALLOW = { allow: ['host-network'] };

export const STAGES = ['producer', 'parse', 'enrich', 'sink'] as const;

export function workflowItems(
  runtime: RuntimeKind,
  project: string,
  from: string,
  to: string,
  names = STAGES.map((s) => `${project}-${s}-1`),
): MigrationItem[] {
  // consumers first, as the DAG (producer depends on parse ...) orders them
  return [...names].reverse().map((name) => ({
    id: `${from}/${runtime}/${name}`,
    container: { host: from, runtime, name },
    destination: to,
  }));
}

export async function snapshot(
  host: string,
  runtime: Runtime,
  names: string[],
): Promise<Map<string, WorkloadStatus>> {
  const m = new Map<string, WorkloadStatus>();
  for (const n of names) m.set(n, await workloadStatus(host, runtime, n));
  return m;
}

/** The whole path a user takes: plan (preflight, DAG, estimates, order), then run that plan. */
export async function planAndMigrate(
  request: Omit<PlanRequest, 'options'>,
  options: Partial<MigrateOptions> = {},
) {
  const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
  let plan: MigrationPlan;
  try {
    plan = await planMigration(pool, {
      ...request,
      options: { ...DEFAULT_OPTIONS, ...LAB_ALLOW, ...options },
    });
  } finally {
    await pool.close();
  }
  return { plan, ...(await migrate(plan)) };
}

export async function migrate(
  itemsOrPlan: MigrationItem[] | MigrationPlan,
  options: Partial<MigrateOptions> = {},
  onRun?: (run: ReturnType<typeof runMigration>) => void,
) {
  const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
  const events: EngineEvent[] = [];
  try {
    const run = runMigration(
      Array.isArray(itemsOrPlan)
        ? { items: itemsOrPlan, options: { ...DEFAULT_OPTIONS, ...LAB_ALLOW, ...options } }
        : itemsOrPlan,
      // where the CLI's own journals go: ferry recover finds them
      { ...liveEffects(runEnvironment(process.env)), session: sessionsFor(pool), configFile: SSH_CONFIG },
    );
    run.on((e) => events.push(e));
    onRun?.(run);
    const summary: RunSummary = await run.done;
    return { summary, events, journalPath: run.journalPath };
  } finally {
    await pool.close();
  }
}

/** Each stage continued where it was on `host`, and items still flow without loss or duplicates. */
export async function expectContinuity(
  host: string,
  runtime: Runtime,
  before: Map<string, WorkloadStatus>,
  sink: string,
) {
  const after = Date.now();
  for (const [name, b] of before) {
    const a = await freshStatus(host, runtime, name, after);
    expect(continuityProblems(b, a), `${name} on ${host}`).toEqual([]);
  }
  const sinkBefore = before.get(sink);
  if (!sinkBefore) throw new Error(`no status for ${sink}`);
  const s = await waitStatus(host, runtime, sink, (x) => x.accepted > sinkBefore.accepted + 20, 40_000);
  expect(s.lastSeq, 'every accepted item is the next in sequence').toBe(s.accepted);
  expect(s.upstreamRestarts).toBe(0);
  expect(s.badValues).toBe(0);
}

export async function containerNames(host: string, runtime: Runtime, project: string): Promise<string[]> {
  const r = await ssh(
    host,
    `${runtime} ps -a --filter label=com.docker.compose.project=${project} --format '{{.Names}}'`,
  );
  return r.stdout.split('\n').filter(Boolean).sort();
}
