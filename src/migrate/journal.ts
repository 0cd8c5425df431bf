// The run journal: one JSON line per step, fsynced, on the operator's
// machine (XDG state dir, 0600), so that `ferry recover` can finish or undo
// a run after ferry was killed, the link dropped or the machine rebooted.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ferryDir } from '../config/paths.ts';
import type { DriverState, MigrateOptions, MigrationItem, Stage } from './types.ts';

export type JournalRecord =
  | {
      kind: 'run';
      runId: string;
      at: number;
      items: MigrationItem[];
      options: MigrateOptions;
      configFile?: string;
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
  | { kind: 'end'; runId: string; at: number };

export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(ferryDir('state', env), 'runs');
}

export class Journal {
  readonly path: string;
  private fd: number;

  constructor(runId: string, dir = journalDir()) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, `${runId}.jsonl`);
    this.fd = openSync(this.path, 'a', 0o600);
  }

  write(record: JournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    // durable before the next remote step runs
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function readJournal(path: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      // a line cut short by a crash is the last one; anything else is damage
      if (i < lines.length - 2) throw new Error(`${path}:${i + 1}: unreadable journal line`);
    }
  }
  return out;
}

/** Runs that have no 'end' record: what `ferry recover` looks at. */
export function unfinishedRuns(dir = journalDir()): string[] {
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
