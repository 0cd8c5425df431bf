// `ferry recover`: settles an interrupted run from its journal, so that every
// container of the group runs on exactly one host with its state, or says
// precisely what could not be done and why.
import type { MigrationContext, MigrationDriver } from './driver.ts';
import { defaultDrivers, errorText } from './engine.ts';
import { Journal, readJournal } from './journal.ts';
import type { DriverState, HostSession, MigrationItem, RuntimeKind } from './types.ts';

export type RecoverAction = 'already-done' | 'finished' | 'rolled-back' | 'nothing-to-do' | 'failed';

export interface RecoverResult {
  id: string;
  action: RecoverAction;
  /** where the container runs now */
  runningOn?: string;
  message: string;
}

export interface RecoverDeps {
  session(host: string): HostSession;
  drivers?: Partial<Record<RuntimeKind, MigrationDriver>>;
}

export async function recoverRun(journalPath: string, deps: RecoverDeps): Promise<RecoverResult[]> {
  const records = readJournal(journalPath);
  const run = records.find((r) => r.kind === 'run');
  if (run?.kind !== 'run') throw new Error(`${journalPath}: no run record; not a ferry journal`);
  const drivers = { ...defaultDrivers(), ...deps.drivers };
  const lastState = new Map<string, DriverState>();
  for (const r of records) {
    if (r.kind === 'stage' || r.kind === 'done') lastState.set(r.id, r.state);
  }
  const results = await Promise.all(
    run.items.map((item) =>
      recoverItem(item, lastState.get(item.id) ?? {}, run.runId, run.options, drivers, deps),
    ),
  );
  // the run is settled: recover will not look at it again
  const journal = new Journal(run.runId, journalPath.slice(0, journalPath.lastIndexOf('/')));
  for (const r of results)
    journal.write({
      kind: 'done',
      runId: run.runId,
      at: Date.now(),
      id: r.id,
      outcome: `recover:${r.action}`,
      state: {},
      message: r.message,
    });
  if (results.every((r) => r.action !== 'failed'))
    journal.write({ kind: 'end', runId: run.runId, at: Date.now() });
  journal.close();
  return results;
}

async function recoverItem(
  item: MigrationItem,
  state: DriverState,
  runId: string,
  options: MigrationContext['options'],
  drivers: Record<RuntimeKind, MigrationDriver>,
  deps: RecoverDeps,
): Promise<RecoverResult> {
  const driver = drivers[item.container.runtime];
  const ctx: MigrationContext = {
    item,
    runId,
    src: deps.session(item.container.host),
    dst: deps.session(item.destination),
    options,
    state: { ...state },
    zstd: false,
    onProgress: () => undefined,
    warn: () => undefined,
    once: (_key, fn) => fn(),
  };
  const src = item.container.host;
  const dst = item.destination;
  try {
    const where = await driver.locate(ctx);
    // a copy that runs was restored from the final checkpoint and may have moved on
    // since: it wins over the stopped source, whatever the journal got to record
    if (where.destination === 'running') {
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
    if (where.source === 'running' && !ctx.state.dstId && !ctx.state.restored) {
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
    return { id: item.id, action: 'failed', message: errorText(err) };
  }
}
