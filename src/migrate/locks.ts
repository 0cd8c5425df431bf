// One migration per container at a time: a lock directory per container on
// its source host (mkdir is atomic), holding who took it. A lock is stale
// when its run is over (its journal says so), its process is gone and no
// journal is left to recover, or it is older than any run can be.
import { hostname } from 'node:os';
import type { MigrationItem } from '../plan/migration.ts';
import { journalOf, ownerAlive, readJournal, runInFlight } from './journal.ts';
import type { HostSession } from './types.ts';

/** On the host: survives ferry, private per lab host (each has its own /var/tmp). */
export const LOCK_ROOT = '/var/tmp/ferry-locks';
/** no run holds a container this long: its lock is stale */
export const LOCK_MAX_AGE_MS = 12 * 3600_000;

export interface LockOwner {
  runId: string;
  operator: string;
  pid: number;
  /** ms since the epoch */
  at: number;
}

export class LockHeld extends Error {
  override name = 'LockHeld';
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** runtime-name: container names are [A-Za-z0-9][A-Za-z0-9_.-]*; anything else is refused. */
export function lockDir(item: MigrationItem): string {
  const { runtime, name } = item.container;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new LockHeld(`bad container name '${name}'`);
  return `${LOCK_ROOT}/${runtime}-${name}`;
}

export function parseOwner(text: string): LockOwner | undefined {
  const [runId, operator, pid, at] = text.trim().split(/\s+/);
  if (!runId || !operator || !/^\d+$/.test(pid ?? '') || !/^\d+$/.test(at ?? '')) return undefined;
  return { runId, operator, pid: Number(pid), at: Number(at) };
}

const ownerLine = (o: LockOwner) => `${o.runId} ${o.operator} ${o.pid} ${o.at}`;

/** Why a held lock no longer counts, or undefined when it does. */
export function staleReason(
  owner: LockOwner | undefined,
  journalDir: string,
  now = Date.now(),
): string | undefined {
  if (!owner) return 'its owner record is unreadable';
  if (now - owner.at > LOCK_MAX_AGE_MS) return `it is ${Math.round((now - owner.at) / 3600_000)} h old`;
  if (owner.operator !== hostname()) return undefined;
  const path = journalOf(owner.runId, journalDir);
  if (!path)
    return ownerAlive({ operator: owner.operator, pid: owner.pid, pidStart: null })
      ? undefined
      : 'its process is gone and it left no journal';
  const records = readJournal(path);
  if (records.some((r) => r.kind === 'end')) return `its run ${owner.runId} has ended`;
  return undefined;
}

/** The message for a lock that another run holds. */
export function heldMessage(item: MigrationItem, owner: LockOwner | undefined, journalDir: string): string {
  const where = `${item.container.name} on ${item.container.host}`;
  if (!owner) return `${where} is locked by another ferry run (${lockDir(item)})`;
  const since = new Date(owner.at).toISOString();
  let how = 'wait for it to finish';
  if (owner.operator === hostname()) {
    const path = journalOf(owner.runId, journalDir);
    const alive = path ? runInFlight(readJournal(path)) : ownerAlive({ ...owner, pidStart: null });
    if (!alive) how = 'it was interrupted: run ferry recover first';
  }
  return `${where} is being migrated by run ${owner.runId} (operator ${owner.operator}, pid ${owner.pid}, since ${since}): ${how}`;
}

/**
 * Takes the container's lock for runId, or throws LockHeld naming the run
 * that holds it. A stale lock is taken over (onStale says why).
 */
export async function acquireLock(
  host: HostSession,
  item: MigrationItem,
  runId: string,
  opts: { journalDir: string; onStale?: (why: string) => void; timeoutMs?: number },
): Promise<void> {
  const dir = lockDir(item);
  const mine: LockOwner = { runId, operator: hostname(), pid: process.pid, at: Date.now() };
  const take = (expect?: string) =>
    [
      `mkdir -p -m 700 ${LOCK_ROOT} || exit 3`,
      `d=${sq(dir)}`,
      // only a lock that still holds what we judged stale is removed
      expect === undefined ? ':' : `[ "$(cat "$d/owner" 2>/dev/null)" = ${sq(expect)} ] && rm -rf "$d"`,
      `if mkdir "$d" 2>/dev/null; then printf '%s\\n' ${sq(ownerLine(mine))} >"$d/owner.tmp" && mv "$d/owner.tmp" "$d/owner" && echo taken; else echo held; cat "$d/owner" 2>/dev/null; fi`,
    ].join('\n');
  const run = async (expect?: string) => {
    const r = await host.exec(['sh', '-c', take(expect)], { timeoutMs: opts.timeoutMs ?? 30_000 });
    if (r.code !== 0)
      throw new LockHeld(
        `${host.host}: cannot lock ${item.container.name} in ${LOCK_ROOT}: ${r.stderr.trim()}`,
      );
    const [first, ...rest] = r.stdout.split('\n');
    return { taken: first?.trim() === 'taken', ownerText: rest.join('\n').trim() };
  };
  const first = await run();
  if (first.taken) return;
  const owner = parseOwner(first.ownerText);
  if (owner?.runId === runId) return;
  const stale = staleReason(owner, opts.journalDir);
  if (stale === undefined) throw new LockHeld(heldMessage(item, owner, opts.journalDir));
  opts.onStale?.(`${item.container.name} on ${host.host}: took over a stale lock (${stale})`);
  const second = await run(first.ownerText.split('\n')[0] ?? '');
  if (second.taken) return;
  throw new LockHeld(heldMessage(item, parseOwner(second.ownerText), opts.journalDir));
}

/** Releases the container's lock if runId holds it; another run's lock is left alone. */
export async function releaseLock(
  host: HostSession,
  item: MigrationItem,
  runId: string,
  timeoutMs = 30_000,
): Promise<void> {
  const d = sq(lockDir(item));
  const script = `o=$(cat ${d}/owner 2>/dev/null) || exit 0; [ "\${o%% *}" = ${sq(runId)} ] && rm -rf ${d}; exit 0`;
  const r = await host.exec(['sh', '-c', script], { timeoutMs });
  if (r.code !== 0)
    throw new Error(`${host.host}: releasing the lock of ${item.container.name}: ${r.stderr.trim()}`);
}
