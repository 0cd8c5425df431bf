// The real drivers, the relay and the engine against scripted hosts that
// answer as podman, docker, CRIU and the shell answered on the lab
// (test/fixtures/migrate/*.json, captured by capture.ts): the commands ferry
// sends, what it journals, and what it does when a step fails, without a lab.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuntimeKind } from '../../../src/inventory/model.ts';
import type { JournalSink } from '../../../src/migrate/effects.ts';
import { MigrationRun } from '../../../src/migrate/engine.ts';
import { Journal, type JournalRecord, readJournal } from '../../../src/migrate/journal.ts';
import { defaultDrivers, liveRecoverEffects, systemClock } from '../../../src/migrate/live.ts';
import { recoverRun } from '../../../src/migrate/recover.ts';
import {
  fails,
  type MigrationCapture,
  ok,
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
    sweep: false,
    newRunId: () => capture.runId,
    owner: () => ({ operator: 'scripted', pid: 1, pidStart: null }),
  });
  const summary = await run.done;
  return { summary, alpha, beta, records: readJournal(run.journalPath), journalPath: run.journalPath, dir };
}

describe.each(['podman', 'docker'] as const)('%s against hosts that answer as on the lab', (runtime) => {
  it('moves the container with the same commands, and journals the same records in the same order', async () => {
    const capture = load(runtime);
    const { summary, alpha, beta, records } = await replay(capture);
    expect(summary.results.map((r) => r.outcome)).toEqual(['migrated']);
    // every command the lab run sent was sent again, and nothing else
    expect(alpha.unscripted).toEqual([]);
    expect(beta.unscripted).toEqual([]);
    expect(alpha.leftover()).toEqual([]);
    expect(beta.leftover()).toEqual([]);
    expect(records.map(line)).toEqual(capture.journal.map(line));
    // the driver state recover reads, record by record, holds all the lab run wrote (and may hold more)
    expect(records.map((r) => ('state' in r ? r.state : {}))).toMatchObject(
      capture.journal.map((r) => ('state' in r ? r.state : {})),
    );
  });
});

/** A source that is stopped after its checkpoint until `restore` runs on it, then runs. */
function sourceComesBack(
  alpha: ScriptedSession,
  runtime: RuntimeKind,
  name: string,
  restore: RegExp,
  log: string[],
) {
  let restored = false;
  alpha.on(new RegExp(`^${runtime} container inspect --format \\{\\{\\.State\\.Status\\}\\} ${name}$`), () =>
    ok(restored ? 'running\n' : 'exited\n'),
  );
  alpha.on(restore, () => {
    log.push(`alpha: restore ${name}`);
    restored = true;
    return ok(`${name}\n`);
  });
}

describe('podman, when a step fails on the scripted hosts', () => {
  it('a restore that fails on beta: the copy goes first, then the source is restored from its checkpoint on alpha', async () => {
    const capture = load('podman');
    const dstId = String(capture.journal.findLast((r) => r.kind === 'done')?.state.dstId);
    const log: string[] = [];
    const { summary, alpha, beta, records } = await replay(capture, ({ alpha, beta }) => {
      beta.on(/^podman container restore fxcap-p$/, () => {
        log.push('beta: restore fails');
        return fails(
          'Error: a CRIU restore failed: criu failed: type RESTORE errno 0\nlog file: .../restore.log',
        );
      });
      beta.on(new RegExp(`^podman rm -f ${dstId}$`), () => {
        log.push('beta: copy removed');
        return ok(`${dstId}\n`);
      });
      beta.on(new RegExp(`^podman container inspect --format \\{\\{\\.State\\.Status\\}\\} ${dstId}$`), () =>
        fails(`Error: no such container ${dstId}`),
      );
      sourceComesBack(alpha, 'podman', 'fxcap-p', /^podman container restore fxcap-p$/, log);
    });
    expect(summary.results[0]).toMatchObject({
      outcome: 'rolled-back',
      message: expect.stringMatching(
        /^beta: restore of fxcap-p failed \(exit 125\): Error: a CRIU restore failed/,
      ),
    });
    expect(log).toEqual(['beta: restore fails', 'beta: copy removed', 'alpha: restore fxcap-p']);
    expect(records.map(line).slice(-4)).toEqual([
      'restore:started',
      'restore:failed',
      'done:rolled-back',
      'end',
    ]);
    // the source was never removed; both temp dirs were
    expect(alpha.calls.some((c) => c.startsWith('podman rm'))).toBe(false);
    expect(alpha.calls.at(-1)).toMatch(/^rm -rf \/tmp\/ferry\./);
    expect(beta.calls).toContain(
      `rm -rf ${capture.journal.findLast((r) => r.kind === 'done')?.state.tmpDst}`,
    );
    expect([...alpha.unscripted, ...beta.unscripted]).toEqual([]);
  });

  it('recover after ferry was killed once the transfer was done: the copy goes and the source runs again', async () => {
    const capture = load('podman');
    // the journal as a SIGKILL right after transfer:finished leaves it
    const cut = capture.journal.findIndex(
      (r) => r.kind === 'stage' && r.stage === 'transfer' && r.status === 'finished',
    );
    const dir = mkdtempSync(join(tmpdir(), 'ferry-scripted-'));
    const journal = new Journal(capture.runId, dir);
    for (const r of capture.journal.slice(0, cut + 1))
      journal.write(
        r.kind === 'run' ? { ...r, owner: { operator: 'elsewhere', pid: 1, pidStart: null } } : r,
      );
    journal.close();
    const state = capture.journal[cut]?.kind === 'stage' ? capture.journal[cut].state : {};
    const log: string[] = [];
    const { session } = replayHosts({ ...capture, hosts: {} });
    const alpha = session('alpha');
    const beta = session('beta');
    const status = /^podman container inspect --format \{\{\.State\.Status\}\} /;
    // the copy was created but never started; the source is stopped, checkpointed
    beta.on(status, (argv) =>
      log.includes('beta: copy removed') ? fails(`Error: no such container ${argv.at(-1)}`) : ok('created\n'),
    );
    beta.on(/^podman rm -f /, (argv) => {
      log.push('beta: copy removed');
      return ok(`${argv.at(-1)}\n`);
    });
    beta.on(/^rm -rf /, ok());
    alpha.on(/^rm -rf /, ok());
    sourceComesBack(alpha, 'podman', 'fxcap-p', /^podman container restore fxcap-p$/, log);
    // the run's lock on the source goes once the container is settled
    alpha.on(/ferry-locks\/podman-fxcap-p/, () => {
      log.push('alpha: lock released');
      return ok();
    });
    const results = await recoverRun(join(dir, `${capture.runId}.jsonl`), {
      ...liveRecoverEffects(),
      session,
      stillRunningMs: 5,
    });
    expect(results).toMatchObject([
      { id: 'alpha/podman/fxcap-p', action: 'rolled-back', runningOn: 'alpha' },
    ]);
    expect(log).toEqual(['beta: copy removed', 'alpha: restore fxcap-p', 'alpha: lock released']);
    expect(beta.calls).toContain(`podman rm -f ${state.dstId}`);
    // recover settled the run: its last records say so
    expect(
      readJournal(join(dir, `${capture.runId}.jsonl`))
        .map(line)
        .slice(-2),
    ).toEqual(['done:recover:rolled-back', 'end']);
    expect([...alpha.unscripted, ...beta.unscripted]).toEqual([]);
  });
});

describe('docker, when a step fails on the scripted hosts', () => {
  it('dockerd started the copy again after its restore died (a restart policy): not taken as moved, the source comes back', async () => {
    const capture = load('docker');
    const dstId = String(capture.journal.findLast((r) => r.kind === 'done')?.state.dstId);
    const checkpoint = String(capture.journal.findLast((r) => r.kind === 'done')?.state.checkpointName);
    const log: string[] = [];
    const { summary, alpha, beta } = await replay(capture, ({ alpha, beta }) => {
      let removed = false;
      beta.on(
        new RegExp(
          `^docker container inspect --format \\{\\{\\.State\\.Status\\}\\} \\{\\{\\.RestartCount\\}\\} ${dstId}$`,
        ),
        ok('running 1\n'),
      );
      beta.on(new RegExp(`^docker rm -f ${dstId}$`), () => {
        log.push('beta: copy removed');
        removed = true;
        return ok(`${dstId}\n`);
      });
      beta.on(new RegExp(`^docker container inspect --format \\{\\{\\.State\\.Status\\}\\} ${dstId}$`), () =>
        removed ? fails(`Error: No such container: ${dstId}`, 1) : ok('running\n'),
      );
      sourceComesBack(
        alpha,
        'docker',
        'fxcap-d',
        new RegExp(`^docker start --checkpoint ${checkpoint} fxcap-d$`),
        log,
      );
      alpha.on(new RegExp(`^docker checkpoint rm fxcap-d ${checkpoint}$`), ok());
      alpha.on(/^sh -c \[ -f "\$1\/inventory\.img" \]/, ok());
    });
    expect(summary.results[0]?.outcome).toBe('rolled-back');
    expect(summary.results[0]?.message).toMatch(/dockerd started it again, without its state/);
    expect(log).toEqual(['beta: copy removed', 'alpha: restore fxcap-d']);
    expect(alpha.calls.some((c) => c.startsWith('docker rm'))).toBe(false);
    expect([...alpha.unscripted, ...beta.unscripted]).toEqual([]);
  });

  it('the receiver on beta dies before the first byte: nothing restored there, the source starts from its checkpoint', async () => {
    const capture = load('docker');
    const dstId = String(capture.journal.findLast((r) => r.kind === 'done')?.state.dstId);
    const checkpoint = String(capture.journal.findLast((r) => r.kind === 'done')?.state.checkpointName);
    const log: string[] = [];
    const { summary, alpha, beta, records } = await replay(capture, ({ alpha, beta }) => {
      beta.receiveFails = { code: 2, stderr: 'tar: /var/tmp: Cannot write: No space left on device' };
      beta.on(new RegExp(`^docker rm -f ${dstId}$`), () => {
        log.push('beta: copy removed');
        return ok(`${dstId}\n`);
      });
      beta.on(new RegExp(`^docker container inspect --format \\{\\{\\.State\\.Status\\}\\} ${dstId}$`), () =>
        fails(`Error: No such container: ${dstId}`, 1),
      );
      sourceComesBack(
        alpha,
        'docker',
        'fxcap-d',
        new RegExp(`^docker start --checkpoint ${checkpoint} fxcap-d$`),
        log,
      );
      alpha.on(new RegExp(`^docker checkpoint rm fxcap-d ${checkpoint}$`), () => {
        log.push('alpha: checkpoint removed');
        return ok();
      });
      alpha.on(/^sh -c \[ -f "\$1\/inventory\.img" \]/, ok());
    });
    expect(summary.results[0]?.outcome).toBe('rolled-back');
    expect(summary.results[0]?.message).toMatch(
      /receiving side beta exited 2: tar: \/var\/tmp: Cannot write: No space left on device/,
    );
    expect(records.map(line).slice(-4)).toEqual([
      'transfer:started',
      'transfer:failed',
      'done:rolled-back',
      'end',
    ]);
    expect(log).toEqual(['beta: copy removed', 'alpha: restore fxcap-d', 'alpha: checkpoint removed']);
    expect(beta.calls.some((c) => c.startsWith('docker start'))).toBe(false);
    expect([...alpha.unscripted, ...beta.unscripted]).toEqual([]);
  });
});
