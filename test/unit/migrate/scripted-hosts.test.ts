// The real drivers, the relay and the engine against scripted hosts that
// answer as podman, docker, CRIU and the shell answered on the lab
// (test/fixtures/migrate/*.json, captured by capture.ts): the commands ferry
// sends, what it journals, and what it does when a step fails, without a lab.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuntimeKind } from '../../../src/inventory/model.ts';
import type { JournalSink } from '../../../src/migrate/effects.ts';
import { MigrationRun } from '../../../src/migrate/engine.ts';
import { Journal, type JournalRecord, readJournal } from '../../../src/migrate/journal.ts';
import { defaultDrivers, systemClock } from '../../../src/migrate/live.ts';
import { recoverRun } from '../../../src/migrate/recover.ts';
import {
  fails,
  type MigrationCapture,
  type ok,
  replayHosts,
  type ScriptedSession,
} from '../../support/scripted-session.ts';

const fixture = (runtime: RuntimeKind) =>
  new URL(`../../fixtures/migrate/${runtime}-alpha-beta.json`, import.meta.url).pathname;
const load = (runtime: RuntimeKind) => JSON.parse(readFileSync(fixture(runtime), 'utf8')) as MigrationCapture;

/** A record as one line: container, stage:status, outcome. */
const line = (r: JournalRecord) =>
  r.kind === 'stage' ? `${r.stage}:${r.status}` : r.kind === 'done' ? `done:${r.outcome}` : r.kind;

/** Runs the capture's plan on hosts that replay it, with the real drivers; the journal goes to a file. */
async function replay(
  capture: MigrationCapture,
  script: (hosts: { alpha: ScriptedSession; beta: ScriptedSession }) => void = () => undefined,
  o: { fallback?: ReturnType<typeof ok> } = {},
) {
  const { session } = replayHosts(capture, o);
  const alpha = session('alpha');
  const beta = session('beta');
  script({ alpha, beta });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-scripted-'));
  let journal: JournalSink | undefined;
  const run = new MigrationRun(capture.plan, {
    session,
    drivers: defaultDrivers(),
    openJournal: (runId) => {
      journal = new Journal(runId, dir);
      return journal;
    },
    clock: systemClock,
    measureLink: async () => {
      throw new Error('the plan knows the link');
    },
    locks: false,
    newRunId: () => capture.runId,
    owner: () => ({ operator: 'scripted', pid: 1, pidStart: null }),
  });
  const summary = await run.done;
  return { summary, alpha, beta, records: readJournal(run.journalPath), journalPath: run.journalPath, dir };
}

describe.each(['podman', 'docker'] as const)('%s against hosts that answer as on the lab', (runtime) => {
  it.skipIf(!existsSync(fixture(runtime)))(
    'moves the container with the same commands, and journals the same records in the same order',
    async () => {
      const capture = load(runtime);
      const { summary, alpha, beta, records } = await replay(capture);
      expect(summary.results.map((r) => r.outcome)).toEqual(['migrated']);
      // every command the lab run sent was sent again, and nothing else
      expect(alpha.unscripted).toEqual([]);
      expect(beta.unscripted).toEqual([]);
      expect(alpha.leftover()).toEqual([]);
      expect(beta.leftover()).toEqual([]);
      expect(records.map(line)).toEqual(capture.journal.map(line));
      // the driver state recover reads, record by record, as the lab run wrote it
      expect(records.map((r) => ('state' in r ? r.state : undefined))).toEqual(
        capture.journal.map((r) => ('state' in r ? r.state : undefined)),
      );
    },
  );
});
