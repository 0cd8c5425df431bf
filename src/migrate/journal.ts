// The run journal: one JSON line per step, fsynced, on the operator's
// machine (XDG state dir, 0600), so that `ferry recover` can finish or undo
// a run after ferry was killed, the link dropped or the machine rebooted.
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ferryDir } from '../config/paths.ts';
import type { MigrateOptions, MigrationItem, Stage } from '../plan/migration.ts';
import type { DriverState } from './types.ts';

export type JournalRecord =
  | {
      kind: 'run';
      runId: string;
      at: number;
      items: MigrationItem[];
      options: MigrateOptions;
      /** [first, then] pairs of kept TCP connections: their members move all or nothing (src/migrate/cuts.ts) */
      restoreAfter?: [string, string][];
      /** the run's -F and -J (null: none given), so that recover reaches the same machines */
      configFile?: string;
      ssh?: { configFile: string | null; jump: string | null };
      /** who runs it: recover leaves a live run alone */
      owner?: RunOwner;
    }
  | {
      kind: 'stage';
      runId: string;
      at: number;
      id: string;
      stage: Stage;
      status: 'started' | 'finished' | 'failed';
      state: DriverState;
      message?: string;
    }
  | {
      kind: 'done';
      runId: string;
      at: number;
      id: string;
      outcome: string;
      state: DriverState;
      message?: string;
    }
  | { kind: 'end'; runId: string; at: number }
  /** the run's process is done with it, but these containers need recover */
  | { kind: 'stopped'; runId: string; at: number; attention: string[] };

/** A process on the operator's machine: its pid and start time (pids are reused). */
export interface RunOwner {
  operator: string;
  pid: number;
  /** /proc/PID/stat's start time, in clock ticks since boot */
  pidStart: string | null;
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: count from the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function currentOwner(): RunOwner {
  return { operator: hostname(), pid: process.pid, pidStart: startTimeOf(process.pid) };
}

/** The owner still runs on this machine (same pid, same start time); false when it is another machine's. */
export function ownerAlive(owner: RunOwner | undefined): boolean {
  if (!owner || owner.operator !== hostname()) return false;
  const start = startTimeOf(owner.pid);
  return start !== null && (owner.pidStart === null || start === owner.pidStart);
}

/** The run is still being executed: its process lives and has not let go of it. */
export function runInFlight(records: JournalRecord[]): boolean {
  const run = records.find((r) => r.kind === 'run');
  if (run?.kind !== 'run' || records.some((r) => r.kind === 'end' || r.kind === 'stopped')) return false;
  return ownerAlive(run.owner);
}

/**
 * Test hooks, at a POINT (run, STAGE:started|finished|failed, done, end),
 * right after writing that record. The CLI reads them from the environment
 * (src/cli/environment.ts).
 */
export interface JournalHooks {
  /** SIGKILL ferry itself: the crash-point tests kill it at a real, journaled step */
  killAt?: string;
  /** hold ferry while `pauseFile` exists (at most a minute): a test acts while a run is in flight at a known step */
  pauseAt?: string;
  pauseFile?: string;
}

/** The point a record marks, as the hooks name it. */
export const hookPoint = (record: JournalRecord): string =>
  record.kind === 'stage' ? `${record.stage}:${record.status}` : record.kind;

function runHooks(hooks: JournalHooks, record: JournalRecord): void {
  if (!hooks.killAt && !hooks.pauseAt) return;
  const point = hookPoint(record);
  if (point === hooks.killAt) process.kill(process.pid, 'SIGKILL');
  const file = hooks.pauseFile;
  if (!file || point !== hooks.pauseAt) return;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + 60_000;
  while (existsSync(file) && Date.now() < until) Atomics.wait(cell, 0, 0, 100);
}

/** Where the journals live: `runs` in ferry's XDG state dir, as `env` sets it. */
export function journalDir(env: NodeJS.ProcessEnv): string {
  return join(ferryDir('state', env), 'runs');
}

export class Journal {
  readonly path: string;
  private fd: number;
  private readonly hooks: JournalHooks;

  constructor(runId: string, dir: string, hooks: JournalHooks = {}) {
    this.hooks = hooks;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, `${runId}.jsonl`);
    this.fd = openSync(this.path, 'a', 0o600);
    // a line torn by a crash must not swallow the next record
    const size = fstatSync(this.fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      const r = openSync(this.path, 'r');
      try {
        readSync(r, last, 0, 1, size - 1);
      } finally {
        closeSync(r);
      }
      if (last.toString() !== '\n') writeSync(this.fd, '\n');
    }
  }

  write(record: JournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    // durable before the next remote step runs
    fsyncSync(this.fd);
    runHooks(this.hooks, record);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The records of a journal, and the lines that could not be read: a line cut
 * short by a crash (recover appends after it) is skipped, not fatal.
 */
export function readJournalLines(path: string): { records: JournalRecord[]; damaged: number[] } {
  const records: JournalRecord[] = [];
  const damaged: number[] = [];
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as JournalRecord;
      if (r && typeof r === 'object' && typeof r.kind === 'string') records.push(r);
      else damaged.push(i + 1);
    } catch {
      damaged.push(i + 1);
    }
  }
  return { records, damaged };
}

export function readJournal(path: string): JournalRecord[] {
  return readJournalLines(path).records;
}

/** The journal of a run id in dir, if there is one. */
export function journalOf(runId: string, dir: string): string | undefined {
  if (!/^[A-Za-z0-9-]+$/.test(runId)) return undefined;
  const p = join(dir, `${runId}.jsonl`);
  return existsSync(p) ? p : undefined;
}

/** Runs that have no 'end' record: what `ferry recover` looks at. */
export function unfinishedRuns(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  } catch {
    return [];
  }
  return names
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return !readJournal(p).some((r) => r.kind === 'end');
      } catch {
        return true;
      }
    })
    .sort();
}

/** Each container's state as the journal last knew it: later records add to it, never wipe it. */
export function statesFrom(records: JournalRecord[]): Map<string, DriverState> {
  const m = new Map<string, DriverState>();
  for (const r of records) {
    if (r.kind !== 'stage' && r.kind !== 'done') continue;
    m.set(r.id, { ...m.get(r.id), ...(r.state ?? {}) });
  }
  return m;
}
