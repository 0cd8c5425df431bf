// `ferry recover`: settles an interrupted run from its journal, so that every
// container of the group runs on exactly one host with its state, or says
// precisely what could not be done and why.

import type { RuntimeKind } from '../inventory/model.ts';
import type { MigrationItem } from '../plan/migration.ts';
import { SshError } from '../ssh/errors.ts';
import { errorText } from '../text/error.ts';
import { cutGroups, probesGivenUp } from './cuts.ts';
import { removeRunCheckpoint } from './docker.ts';
import { type MigrationContext, type MigrationDriver, removeTempDirs } from './driver.ts';
import type { Clock, JournalSink } from './effects.ts';
import { type RunOwner, readJournalLines, runInFlight, statesFrom } from './journal.ts';
import { releaseLock } from './locks.ts';
import type { DriverState, HostSession } from './types.ts';

export type RecoverAction = 'already-done' | 'finished' | 'rolled-back' | 'nothing-to-do' | 'failed';

export interface RecoverResult {
  id: string;
  action: RecoverAction;
  /** where the container runs now */
  runningOn?: string;
  message: string;
}

/** What recover does to the world besides the hosts (the real ones: live.ts). */
export interface RecoverEffects {
  drivers: Record<RuntimeKind, MigrationDriver>;
  clock: Clock;
  /** opens the run's journal in `dir` again, to append what recover settled */
  openJournal(runId: string, dir: string): JournalSink;
}

export interface RecoverDeps extends RecoverEffects {
  session(host: string): HostSession;
  /** between the two readings of a running copy (tests shorten it) */
  stillRunningMs?: number;
  /** how long a restored listening end's window probes last (tests shorten it) */
  probeGivenUpMs?: number;
}

/** how long the copy must keep running before the source goes */
export const STILL_RUNNING_MS = 1500;

/** What a journal says about its run, before anything is touched. */
export function inspectRun(path: string): {
  runId: string;
  owner: RunOwner | undefined;
  alive: boolean;
  ssh: { configFile: string | null; jump: string | null } | undefined;
  configFile: string | undefined;
  damaged: number[];
} {
  const { records, damaged } = readJournalLines(path);
  const run = records.find((r) => r.kind === 'run');
  if (run?.kind !== 'run')
    throw new Error(records.length === 0 ? 'empty journal' : 'no run record; not a ferry journal');
  return {
    runId: run.runId,
    owner: run.owner,
    alive: runInFlight(records),
    ssh: run.ssh,
    configFile: run.configFile,
    damaged,
  };
}

export async function recoverRun(journalPath: string, deps: RecoverDeps): Promise<RecoverResult[]> {
  const { records } = readJournalLines(journalPath);
  const run = records.find((r) => r.kind === 'run');
  if (run?.kind !== 'run')
    throw new Error(
      `${journalPath}: ${records.length === 0 ? 'empty journal' : 'no run record; not a ferry journal'}`,
    );
  if (runInFlight(records))
    throw new Error(`${journalPath}: run ${run.runId} is in flight (pid ${run.owner?.pid}): left alone`);
  const { drivers, clock } = deps;
  const lastState = statesFrom(records);
  const restoreAfter = run.restoreAfter ?? [];
  const cuts = cutGroups(
    run.items.map((i) => i.id),
    restoreAfter,
  );
  const finalizing = new Set(
    records.flatMap((r) => (r.kind === 'stage' && r.stage === 'finalize' ? [r.id] : [])),
  );
  const contexts = new Map(
    run.items.map((item) => [
      item.id,
      contextFor(item, lastState.get(item.id) ?? {}, run.runId, run.options, deps),
    ]),
  );
  const byId = new Map<string, Settled>();
  await Promise.all([
    ...run.items
      .filter((item) => !cuts.some((c) => c.includes(item.id)))
      .map(async (item) => {
        byId.set(item.id, await recoverItem(contexts.get(item.id) as Recovering, drivers, deps));
      }),
    ...cuts.map(async (cut) => {
      const members = cut.map((id) => contexts.get(id) as Recovering);
      for (const [i, s] of (await recoverCut(members, restoreAfter, finalizing, drivers, deps)).entries())
        byId.set(cut[i] as string, s);
    }),
  ]);
  const settled = run.items.map((item) => byId.get(item.id) as Settled);
  // the run is settled: recover will not look at it again
  const journal = deps.openJournal(run.runId, journalPath.slice(0, journalPath.lastIndexOf('/')));
  for (const { result: r, state } of settled)
    journal.write({
      kind: 'done',
      runId: run.runId,
      at: clock.wall(),
      id: r.id,
      outcome: `recover:${r.action}`,
      state,
      message: r.message,
    });
  const results = settled.map((x) => x.result);
  if (results.every((r) => r.action !== 'failed'))
    journal.write({ kind: 'end', runId: run.runId, at: clock.wall() });
  journal.close();
  return results;
}

type Settled = { result: RecoverResult; state: DriverState };
/** A member as recover handles it, with what its steps warned about. */
type Recovering = { item: MigrationItem; ctx: MigrationContext; warnings: string[] };

function contextFor(
  item: MigrationItem,
  state: DriverState,
  runId: string,
  options: MigrationContext['options'],
  deps: RecoverDeps,
): Recovering {
  const warnings: string[] = [];
  const ctx: MigrationContext = {
    item,
    runId,
    src: deps.session(item.container.host),
    dst: deps.session(item.destination),
    options,
    state: { ...state },
    zstd: false,
    onProgress: () => undefined,
    warn: (m) => warnings.push(m),
    once: (_key, fn) => fn(),
  };
  return { item, ctx, warnings };
}

/**
 * A cut (members sharing kept TCP connections) settles as one: forward if a
 * member's source was already being removed (the run had verified them all)
 * or every copy runs, made by this run, and still runs a moment later;
 * otherwise every member goes back to its source, listening ends first.
 */
async function recoverCut(
  members: Recovering[],
  restoreAfter: [string, string][],
  finalizing: Set<string>,
  drivers: Record<RuntimeKind, MigrationDriver>,
  deps: RecoverDeps,
): Promise<Settled[]> {
  const driverOf = (m: Recovering) => drivers[m.item.container.runtime];
  const allRun = async () =>
    (
      await Promise.all(
        members.map((m) =>
          driverOf(m)
            .locate(m.ctx)
            .catch(() => undefined),
        ),
      )
    ).every((w) => w?.destination === 'running');
  let forward = members.some((m) => finalizing.has(m.item.id));
  if (!forward && (await allRun())) {
    const ours = await Promise.all(members.map((m) => copyIsOurs(m.ctx).catch(() => false)));
    if (ours.every(Boolean)) {
      await deps.clock.sleep(deps.stillRunningMs ?? STILL_RUNNING_MS);
      forward = await allRun();
    }
  }
  if (forward) return Promise.all(members.map((m) => recoverItem(m, drivers, deps)));
  const out: Settled[] = [];
  const backAt = new Map<string, number>();
  for (const m of members) {
    // as the engine restores them: the listening ends run, and their window probes are given up, first
    await probesGivenUp(m.item.id, restoreAfter, backAt, deps.probeGivenUpMs, deps.clock);
    const s = await recoverItem(m, drivers, deps, 'back');
    if (s.result.action === 'rolled-back') backAt.set(m.item.id, deps.clock.now());
    const others = members.filter((o) => o !== m).map((o) => o.item.container.name);
    s.result.message += ` (back with ${others.join(', ')}: they share kept TCP connections and move all or nothing)`;
    out.push(s);
  }
  return out;
}

async function recoverItem(
  m: Recovering,
  drivers: Record<RuntimeKind, MigrationDriver>,
  deps: RecoverDeps,
  way: 'either' | 'back' = 'either',
): Promise<Settled> {
  const { item, warnings } = m;
  const ctx = m.ctx;
  const result = await settleItem(ctx, drivers[item.container.runtime], deps, way);
  if (warnings.length > 0) result.message += `; ${warnings.join('; ')}`;
  if (result.action !== 'failed') {
    // this run's leftovers: temp dirs, the docker checkpoint named after it, the lock
    await removeTempDirs(ctx).catch(() => undefined);
    if (item.container.runtime === 'docker' && result.runningOn)
      await removeRunCheckpoint(ctx, result.runningOn === item.container.host ? 'src' : 'dst');
    await releaseLock(ctx.src, item, ctx.runId).catch(() => undefined);
  }
  return { result, state: ctx.state };
}

/** The copy on the destination is the one this run made (not a namesake). */
async function copyIsOurs(ctx: MigrationContext): Promise<boolean> {
  const s = ctx.state;
  const expected = s.dstId ?? (s.path === 'import' ? s.srcId : undefined);
  if (typeof expected !== 'string' || !expected) return false;
  const r = await ctx.dst.exec([
    ctx.item.container.runtime,
    'container',
    'inspect',
    '--format',
    '{{.Id}}',
    ctx.item.container.name,
  ]);
  return r.code === 0 && r.stdout.trim() === expected;
}

async function settleItem(
  ctx: MigrationContext,
  driver: MigrationDriver,
  deps: RecoverDeps,
  way: 'either' | 'back',
): Promise<RecoverResult> {
  const { item } = ctx;
  const src = item.container.host;
  const dst = item.destination;
  const name = item.container.name;
  try {
    let where: Awaited<ReturnType<MigrationDriver['locate']>>;
    try {
      where = await driver.locate(ctx);
    } catch (err) {
      // the destination is gone, but its restore never started: the copy
      // cannot run, so the source comes back without waiting for it
      if (unreachable(err) !== dst || ctx.state.restoring || ctx.state.restored) throw err;
      await driver.rollback(ctx);
      return {
        id: item.id,
        action: 'rolled-back',
        runningOn: src,
        message: `runs on ${src} again (${dst} cannot be reached; its copy was never started)`,
      };
    }
    if (way === 'back' && where.destination === 'running') {
      // its cut goes back: the copy is removed and the source restored, unless there is no source to restore
      if (where.source === 'running')
        return {
          id: item.id,
          action: 'failed',
          message: `runs on both ${src} and ${dst}: left as is, decide which to keep`,
        };
      if (where.source === 'missing' && !ctx.state.autoRemove)
        return {
          id: item.id,
          action: 'failed',
          message: `runs on ${dst}, but its source on ${src} is gone while a member it shares TCP connections with could not move: left as is`,
        };
    } else if (where.destination === 'running' && where.source !== 'running') {
      // before the source goes: the copy is the one this run made, and it keeps running
      if (!(await copyIsOurs(ctx)))
        return {
          id: item.id,
          action: 'failed',
          message: `a container ${name} runs on ${dst} that this run did not make, and ${name} is ${where.source} on ${src}: left as is, decide which to keep`,
        };
      await deps.clock.sleep(deps.stillRunningMs ?? STILL_RUNNING_MS);
      where = await driver.locate(ctx);
    }
    // a copy that runs was restored from the final checkpoint and may have moved on
    // since: it wins over the stopped source, whatever the journal got to record
    if (where.destination === 'running' && way === 'either') {
      // the copy runs: the source goes (never before this check)
      if (where.source !== 'missing' && where.source !== 'running') {
        await driver.finalize(ctx);
        return {
          id: item.id,
          action: 'finished',
          runningOn: dst,
          message: `runs on ${dst}; removed the stopped source on ${src}`,
        };
      }
      if (where.source === 'running') {
        return {
          id: item.id,
          action: 'failed',
          message: `runs on both ${src} and ${dst}: left as is, decide which to keep`,
        };
      }
      return { id: item.id, action: 'already-done', runningOn: dst, message: `runs on ${dst}` };
    }
    if (where.source === 'running' && !ctx.state.dstId && !ctx.state.restoring && !ctx.state.restored) {
      return {
        id: item.id,
        action: 'nothing-to-do',
        runningOn: src,
        message: `runs on ${src}; nothing was left on ${dst}`,
      };
    }
    // anything else goes back to the source: partial copy removed, source restored from its checkpoint
    if (where.source === 'stopped' || where.source === 'paused') ctx.state.frozen = true;
    await driver.rollback(ctx);
    return {
      id: item.id,
      action: 'rolled-back',
      runningOn: src,
      message: `runs on ${src} again; the partial copy on ${dst} was removed`,
    };
  } catch (err) {
    return { id: item.id, action: 'failed', message: recoverError(err, src, dst) };
  }
}

/** Says what recover is waiting for when a host cannot be reached. */
function recoverError(err: unknown, src: string, dst: string): string {
  const text = errorText(err);
  const host = unreachable(err);
  if (host === src || host === dst)
    return `waiting for ${host} (${host === src ? 'the source' : 'the destination'}), which cannot be reached: ${text}; run ferry recover again once ${host} answers`;
  return text;
}

/** The host an error says cannot be reached, if that is what it says. */
function unreachable(err: unknown): string | undefined {
  return err instanceof SshError &&
    ['UNREACHABLE', 'REFUSED', 'TIMEOUT', 'CONNECTION_LOST'].includes(err.code)
    ? err.host
    : undefined;
}
