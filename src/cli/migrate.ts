// Headless runs: `ferry migrate ... --yes` and `ferry recover`.

import { resolve } from 'node:path';
import { runMigration } from '../migrate/engine.ts';
import { unfinishedRuns } from '../migrate/journal.ts';
import { liveEffects, liveRecoverEffects } from '../migrate/live.ts';
import { inspectRun, recoverRun } from '../migrate/recover.ts';
import { sessionsFor } from '../migrate/session.ts';
import type { EngineEvent, RunSummary } from '../plan/migration.ts';
import { errorText } from '../text/error.ts';
import { runEnvironment } from './environment.ts';
import { type MigrateArgs, planFor, poolFor } from './request.ts';

/** One human line per event, for stderr. */
export function formatEvent(e: EngineEvent): string | undefined {
  const t = `${(e.t / 1000).toFixed(1).padStart(6)}s`;
  switch (e.type) {
    case 'run-started':
      return `${t} run ${e.runId}: ${e.items.length} containers, strategy ${e.strategy}`;
    case 'paused':
      return `${t} ${e.id}: paused for the consistent cut`;
    case 'stage-finished':
      return `${t} ${e.id}: ${e.stage} ${e.ms} ms${e.detail ? ` ${JSON.stringify(e.detail)}` : ''}`;
    case 'warning':
      return `${t} warning${e.id ? ` ${e.id}` : ''}: ${e.message}`;
    case 'error':
      return `${t} ERROR ${e.id} (${e.stage}): ${e.message}`;
    case 'rollback':
      return `${t} ${e.ok ? 'rolled back' : 'ROLLBACK FAILED'} ${e.id}: ${e.message}`;
    case 'container-done':
      return `${t} ${e.id}: ${e.outcome}${e.downtimeMs !== undefined ? ` (downtime ${e.downtimeMs} ms)` : ''}`;
    case 'run-finished':
      return `${t} done in ${e.summary.makespanMs} ms`;
    default:
      return undefined;
  }
}

export function exitCodeFor(summary: RunSummary): number {
  if (summary.refused !== undefined) return 1;
  if (summary.results.every((r) => r.outcome === 'migrated')) return 0;
  if (summary.results.some((r) => r.outcome === 'failed')) return 5;
  return 4;
}

export async function migrateCommand(
  a: MigrateArgs,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  // the plan's text module loads while the hosts answer (its cell widths cost ~15 ms to load)
  const text = a.events === 'ndjson' ? undefined : import('./plan-text.ts');
  const pool = poolFor(a);
  try {
    const plan = await planFor(pool, a);
    if (text) err.write((await text).formatPlan(plan));
    if (plan.blocked) {
      err.write('ferry: preflight found blockers (above): nothing was touched\n');
      return 2;
    }
    const env = runEnvironment(process.env);
    const run = runMigration(plan, {
      ...liveEffects(env),
      deadlines: env.deadlines,
      session: sessionsFor(pool),
      ...(a.configFile ? { configFile: resolve(a.configFile) } : {}),
      ...(a.jump ? { jump: a.jump } : {}),
    });
    // Ctrl-C, kill, or the operator's own ssh session dropping: a safe stop
    const stop = () => run.cancel();
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const s of signals) process.on(s, stop);
    // a reader that went away (`| jq` ended by the same Ctrl-C) must not end
    // ferry while containers are frozen: stop writing, stop safely, go on
    let gone = false;
    const lost = () => {
      gone = true;
      run.cancel();
    };
    out.on('error', lost);
    err.on('error', lost);
    run.on((e) => {
      if (gone) return;
      if (a.events === 'ndjson') out.write(`${JSON.stringify(e)}\n`);
      else {
        const line = formatEvent(e);
        if (line) err.write(`${line}\n`);
      }
    });
    try {
      const summary = await run.done;
      if (summary.refused !== undefined)
        err.write(`ferry: refused, nothing was touched: ${summary.refused}\n`);
      return exitCodeFor(summary);
    } finally {
      for (const s of signals) process.off(s, stop);
      out.off('error', lost);
      err.off('error', lost);
    }
  } finally {
    await pool.close();
  }
}

export async function recoverCommand(
  a: { configFile: string | undefined; jump: string | undefined; journal: string | undefined },
  out: NodeJS.WritableStream,
): Promise<number> {
  const { journal } = a;
  const env = runEnvironment(process.env);
  const runs = journal ? [journal] : unfinishedRuns(env.journalDir);
  if (runs.length === 0) {
    out.write('ferry: no interrupted run to recover\n');
    return 0;
  }
  let failed = false;
  // one run's damaged journal or unreachable host does not keep the others from recovery
  for (const path of runs) {
    let info: ReturnType<typeof inspectRun>;
    try {
      info = inspectRun(path);
    } catch (err) {
      out.write(`ferry: warning: ${path}: skipped: ${errorText(err)}\n`);
      failed = true;
      continue;
    }
    for (const line of info.damaged) out.write(`ferry: warning: ${path}:${line}: unreadable line skipped\n`);
    if (info.alive) {
      out.write(
        `${path}: run ${info.runId} is in flight (pid ${info.owner?.pid} on this machine): left alone\n`,
      );
      continue;
    }
    const ssh = sshFor(info, a);
    if ('error' in ssh) {
      out.write(`ferry: ${path}: ${ssh.error}\n`);
      failed = true;
      continue;
    }
    out.write(`recovering ${path}\n`);
    const pool = poolFor(ssh);
    try {
      for (const r of await recoverRun(path, {
        ...liveRecoverEffects(env),
        session: sessionsFor(pool),
      })) {
        if (r.action === 'failed') failed = true;
        out.write(`  ${r.id}: ${r.action}: ${r.message}\n`);
      }
    } catch (err) {
      out.write(`ferry: warning: ${path}: skipped: ${errorText(err)}\n`);
      failed = true;
    } finally {
      await pool.close();
    }
  }
  return failed ? 5 : 0;
}

/**
 * The run's own -F and -J: a host name must resolve to the machine the run
 * used. Given again on the command line, they must be the same.
 */
export function sshFor(
  info: {
    ssh?: { configFile: string | null; jump: string | null } | undefined;
    configFile?: string | undefined;
  },
  given: { configFile: string | undefined; jump: string | undefined },
): { configFile?: string; jump?: string } | { error: string } {
  const recorded = info.ssh ?? (info.configFile ? { configFile: info.configFile, jump: null } : undefined);
  if (!recorded) {
    // a journal from before ferry recorded them: what the command line says
    return {
      ...(given.configFile ? { configFile: given.configFile } : {}),
      ...(given.jump ? { jump: given.jump } : {}),
    };
  }
  const file = given.configFile === undefined ? undefined : resolve(given.configFile);
  if (file !== undefined && file !== (recorded.configFile ?? undefined))
    return {
      error: `the run used ${recorded.configFile ? `-F ${recorded.configFile}` : 'no -F'}, not -F ${file}: run recover with the run's own -F (or none)`,
    };
  if (given.jump !== undefined && given.jump !== (recorded.jump ?? undefined))
    return {
      error: `the run used ${recorded.jump ? `-J ${recorded.jump}` : 'no -J'}, not -J ${given.jump}: run recover with the run's own -J (or none)`,
    };
  return {
    ...(recorded.configFile ? { configFile: recorded.configFile } : {}),
    ...(recorded.jump ? { jump: recorded.jump } : {}),
  };
}
