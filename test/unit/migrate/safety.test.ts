// Nothing lost, nothing duplicated: the journal, recover, rollback, locks and
// deadlines with scripted drivers and hosts. The same promises on the real
// lab: test/integration/crash-points.test.ts.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, recoverCommand, sshFor } from '../../../src/cli/migrate.ts';
import type { RuntimeKind } from '../../../src/inventory/model.ts';
import { PROBE_GIVEN_UP_MS } from '../../../src/migrate/cuts.ts';
import {
  bringSourceBack,
  type ContainerPresence,
  type MigrationContext,
  type MigrationDriver,
  NeedsAttention,
} from '../../../src/migrate/driver.ts';
import type { Clock, JournalSink } from '../../../src/migrate/effects.ts';
import { MigrationRun } from '../../../src/migrate/engine.ts';
import {
  currentOwner,
  Journal,
  type JournalRecord,
  ownerAlive,
  readJournal,
  statesFrom,
} from '../../../src/migrate/journal.ts';
import { defaultDrivers, liveEffects, liveRecoverEffects } from '../../../src/migrate/live.ts';
import {
  acquireLock,
  LOCK_MAX_AGE_MS,
  LockHeld,
  lockDir,
  parseOwner,
  releaseLock,
  staleReason,
} from '../../../src/migrate/locks.ts';
import { PodmanDriver } from '../../../src/migrate/podman.ts';
import { inspectRun, recoverRun, STILL_RUNNING_MS } from '../../../src/migrate/recover.ts';
import type { DriverState, HostSession } from '../../../src/migrate/types.ts';
import { DEFAULT_OPTIONS, type MigrationItem, type Stage } from '../../../src/plan/migration.ts';
import { SshError } from '../../../src/ssh/errors.ts';
import type { ExecOptions, ExecResult } from '../../../src/ssh/index.ts';

/** recover's real effects (system clock, the run's own journal), with these drivers in place of the real ones */
const recoverEffects = (drivers: Partial<Record<RuntimeKind, MigrationDriver>>) => ({
  ...liveRecoverEffects(),
  drivers: { ...defaultDrivers(), ...drivers },
});

const run = promisify(execFile);
const tmp = () => mkdtempSync(join(tmpdir(), 'ferry-safety-'));
const item = (name: string, runtime: 'podman' | 'docker' = 'podman'): MigrationItem => ({
  id: `alpha/${runtime}/${name}`,
  container: { host: 'alpha', runtime, name },
  destination: 'beta',
});

type Script = (argv: string[], opts: ExecOptions) => Promise<ExecResult> | ExecResult;

/** A host whose answers a test writes; every command is recorded. */
function scriptedHost(name: string, script: Script = () => ok('')) {
  const calls: string[] = [];
  const session: HostSession = {
    host: name,
    exec: async (argv, opts = {}) => {
      calls.push(argv.join(' '));
      return script(argv, opts);
    },
    spawn: async () => {
      throw new Error('no streams here');
    },
  };
  return { session, calls };
}
const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, signal: null });
const fail = (stderr: string, code = 125): ExecResult => ({ stdout: '', stderr, code, signal: null });

/** A host that runs commands on this machine: the lock scripts for real. */
const localHost = (name: string): HostSession => ({
  host: name,
  exec: async (argv) => {
    try {
      const r = await run(argv[0] as string, argv.slice(1));
      return { stdout: r.stdout, stderr: r.stderr, code: 0, signal: null };
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string; code?: number };
      return { stdout: x.stdout ?? '', stderr: x.stderr ?? '', code: x.code ?? 1, signal: null };
    }
  },
  spawn: async () => {
    throw new Error('no streams here');
  },
});

function ctxFor(
  src: HostSession,
  dst: HostSession,
  state: DriverState,
  warnings: string[] = [],
): MigrationContext {
  return {
    item: item('web'),
    runId: '20260101T000000-abcdef',
    src,
    dst,
    options: DEFAULT_OPTIONS,
    state,
    zstd: false,
    onProgress: () => undefined,
    warn: (m) => warnings.push(m),
    once: (_k, fn) => fn(),
  };
}

function writeJournal(dir: string, runId: string, records: JournalRecord[], tail = ''): string {
  const path = join(dir, `${runId}.jsonl`);
  writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join('') + tail);
  return path;
}

/** A stage record of container `name` in run `runId`, with the state it journaled. */
const stageRecord = (
  runId: string,
  name: string,
  stage: Stage,
  status: 'started' | 'finished' | 'failed',
  state: DriverState,
): JournalRecord => ({ kind: 'stage', runId, at: 1, id: item(name).id, stage, status, state });

const runRecord = (runId: string, items: MigrationItem[], extra: object = {}): JournalRecord => ({
  kind: 'run',
  runId,
  at: Date.now(),
  items,
  options: DEFAULT_OPTIONS,
  ...extra,
});

/** A driver that reports where the container is, reading by reading, and records what it is asked. */
class LocatingDriver implements MigrationDriver {
  readonly kind = 'podman' as const;
  readonly calls: string[] = [];
  readonly states: DriverState[] = [];
  private readonly readings: { source: ContainerPresence; destination: ContainerPresence }[];
  constructor(readings: { source: ContainerPresence; destination: ContainerPresence }[]) {
    this.readings = readings;
  }
  async prestage() {}
  async pause() {}
  async checkpoint() {}
  async transfer() {
    return { bytes: 0 };
  }
  async restore() {
    return {};
  }
  async verify() {}
  async finalize(ctx: MigrationContext) {
    this.calls.push('finalize');
    this.states.push({ ...ctx.state });
  }
  async rollback(ctx: MigrationContext) {
    this.calls.push('rollback');
    this.states.push({ ...ctx.state });
  }
  async locate(_ctx: MigrationContext) {
    const r = this.readings.length > 1 ? this.readings.shift() : this.readings[0];
    return r ?? { source: 'running', destination: 'missing' };
  }
}

describe('the journal', () => {
  it('a line torn by a crash neither swallows the next record nor makes the journal unreadable', () => {
    const dir = tmp();
    const path = writeJournal(dir, 'r1', [runRecord('r1', [])], '{"kind":"stage","runId":"r1","at":1,"id');
    const j = new Journal('r1', dir);
    j.write({ kind: 'end', runId: 'r1', at: 2 });
    j.close();
    expect(readJournal(path).map((r) => r.kind)).toEqual(['run', 'end']);
  });

  it('a done record with an empty state does not wipe what the stages recorded', () => {
    const states = statesFrom([
      {
        kind: 'stage',
        runId: 'r',
        at: 1,
        id: 'a',
        stage: 'prestage',
        status: 'finished',
        state: { dstId: 'x' },
      },
      { kind: 'done', runId: 'r', at: 2, id: 'a', outcome: 'recover:failed', state: {} },
    ]);
    expect(states.get('a')).toEqual({ dstId: 'x' });
  });
});

describe('ferry recover', () => {
  it('an empty journal is skipped with a warning naming it; the other runs are recovered', async () => {
    const state = tmp();
    const dir = join(state, 'ferry', 'runs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a-empty.jsonl'), '');
    const good = writeJournal(dir, 'b-good', [runRecord('b-good', [])]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = state;
    try {
      const code = await recoverCommand({ configFile: undefined, jump: undefined, journal: undefined }, out);
      expect(code).toBe(5);
    } finally {
      if (saved === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved;
    }
    expect(text).toMatch(/warning: .*a-empty\.jsonl: skipped: empty journal/);
    expect(text).toContain(`recovering ${good}`);
    expect(readJournal(good).some((r) => r.kind === 'end')).toBe(true);
  });

  it('a run that is still alive is left alone, and said so', async () => {
    const dir = tmp();
    const path = writeJournal(dir, 'live', [runRecord('live', [item('web')], { owner: currentOwner() })]);
    const d = new LocatingDriver([{ source: 'stopped', destination: 'stopped' }]);
    await expect(
      recoverRun(path, { session: (h) => scriptedHost(h).session, ...recoverEffects({ podman: d }) }),
    ).rejects.toThrow(/in flight .*left alone/);
    expect(d.calls).toEqual([]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => {
      text += b.toString();
    });
    expect(await recoverCommand({ configFile: undefined, jump: undefined, journal: path }, out)).toBe(0);
    expect(text).toMatch(/run live is in flight \(pid \d+ on this machine\): left alone/);
  });

  it('uses the state the stages recorded even after an earlier recover wrote an empty one', async () => {
    const dir = tmp();
    const path = writeJournal(dir, 'r2', [
      runRecord('r2', [item('web')]),
      stageRecord('r2', 'web', 'checkpoint', 'finished', { dstId: 'copy1', frozen: true }),
      { kind: 'done', runId: 'r2', at: 2, id: item('web').id, outcome: 'recover:failed', state: {} },
    ]);
    const d = new LocatingDriver([{ source: 'stopped', destination: 'stopped' }]);
    const r = await recoverRun(path, {
      session: (h) => scriptedHost(h).session,
      ...recoverEffects({ podman: d }),
    });
    expect(r.map((x) => x.action)).toEqual(['rolled-back']);
    expect(d.states[0]?.dstId).toBe('copy1');
  });

  it('does not remove the source after one "running" reading of the copy: it must still run a moment later', async () => {
    const dir = tmp();
    const path = writeJournal(dir, 'r3', [
      runRecord('r3', [item('web')]),
      stageRecord('r3', 'web', 'restore', 'started', { dstId: 'copy1', frozen: true, restoring: true }),
    ]);
    // the copy runs, then dies (a restore that crashes right after start)
    const d = new LocatingDriver([
      { source: 'stopped', destination: 'running' },
      { source: 'stopped', destination: 'stopped' },
    ]);
    const dst = scriptedHost('beta', (argv) => ok(argv.includes('{{.Id}}') ? 'copy1\n' : ''));
    const r = await recoverRun(path, {
      session: (h) => (h === 'beta' ? dst.session : scriptedHost(h).session),
      ...recoverEffects({ podman: d }),
      stillRunningMs: 10,
    });
    expect(d.calls).toEqual(['rollback']);
    expect(r.map((x) => x.action)).toEqual(['rolled-back']);
  });

  it('does not remove the source for a copy it did not make', async () => {
    const dir = tmp();
    const path = writeJournal(dir, 'r4', [
      runRecord('r4', [item('web')]),
      stageRecord('r4', 'web', 'restore', 'started', { dstId: 'copy1', frozen: true, restoring: true }),
    ]);
    const d = new LocatingDriver([{ source: 'stopped', destination: 'running' }]);
    const dst = scriptedHost('beta', (argv) => ok(argv.includes('{{.Id}}') ? 'someone-else\n' : ''));
    const r = await recoverRun(path, {
      session: (h) => (h === 'beta' ? dst.session : scriptedHost(h).session),
      ...recoverEffects({ podman: d }),
      stillRunningMs: 10,
    });
    expect(d.calls).toEqual([]);
    expect(r[0]?.action).toBe('failed');
    expect(r[0]?.message).toMatch(/did not make/);
  });

  it("honours the run's -F and -J, and refuses others", () => {
    const info = { ssh: { configFile: '/etc/ferry/lab_config', jump: 'bastion' } };
    expect(sshFor(info, { configFile: undefined, jump: undefined })).toEqual({
      configFile: '/etc/ferry/lab_config',
      jump: 'bastion',
    });
    expect(sshFor(info, { configFile: '/etc/ferry/lab_config', jump: 'bastion' })).toEqual({
      configFile: '/etc/ferry/lab_config',
      jump: 'bastion',
    });
    expect(sshFor(info, { configFile: '/home/me/.ssh/config', jump: undefined })).toEqual({
      error: expect.stringMatching(
        /the run used -F \/etc\/ferry\/lab_config, not -F \/home\/me\/.ssh\/config/,
      ),
    });
    expect(sshFor(info, { configFile: undefined, jump: 'other' })).toEqual({
      error: expect.stringMatching(/the run used -J bastion, not -J other/),
    });
    expect(sshFor({ ssh: { configFile: null, jump: null } }, { configFile: '/x', jump: undefined })).toEqual({
      error: expect.stringMatching(/the run used no -F/),
    });
  });
});

/** Where each member is, by name; records every call with its member's name. */
class CutDriver extends LocatingDriver {
  private readonly at: Record<string, { source: ContainerPresence; destination: ContainerPresence }>;
  constructor(at: Record<string, { source: ContainerPresence; destination: ContainerPresence }>) {
    super([]);
    this.at = at;
  }
  override async finalize(ctx: MigrationContext) {
    this.calls.push(`finalize ${ctx.item.container.name}`);
  }
  override async rollback(ctx: MigrationContext) {
    this.calls.push(`rollback ${ctx.item.container.name}`);
  }
  override async locate(ctx: MigrationContext) {
    return (
      this.at[ctx.item.container.name] ?? { source: 'running' as const, destination: 'missing' as const }
    );
  }
}

describe('ferry recover of a cut (members sharing kept TCP connections)', () => {
  // store listens, client is connected to it; web shares nothing with them
  const members = [item('store'), item('client'), item('web')];
  const restoreAfter: [string, string][] = [[item('store').id, item('client').id]];
  const stage = (
    name: string,
    stageName: 'restore' | 'finalize',
    status: 'started' | 'finished' | 'failed',
  ) =>
    ({
      kind: 'stage',
      runId: 'cut',
      at: 1,
      id: item(name).id,
      stage: stageName,
      status,
      state: { dstId: `copy-${name}`, frozen: true, restoring: true },
    }) as JournalRecord;
  const recoverWith = (path: string, d: CutDriver) =>
    recoverRun(path, {
      session: (h) =>
        h === 'beta'
          ? scriptedHost(h, (argv) => ok(`copy-${argv[argv.length - 1]}\n`)).session
          : scriptedHost(h).session,
      ...recoverEffects({ podman: d }),
      stillRunningMs: 5,
      probeGivenUpMs: 5,
    });

  it('one copy runs and the other failed: both go back, the listening end first; the rest settles alone', async () => {
    const path = writeJournal(tmp(), 'cut', [
      runRecord('cut', members, { restoreAfter }),
      stage('store', 'restore', 'finished'),
      stage('client', 'restore', 'failed'),
      stage('web', 'restore', 'finished'),
    ]);
    const d = new CutDriver({
      store: { source: 'stopped', destination: 'running' },
      client: { source: 'stopped', destination: 'stopped' },
      web: { source: 'stopped', destination: 'running' },
    });
    const r = await recoverWith(path, d);
    expect(r.map((x) => `${x.id.split('/')[2]}:${x.action}`)).toEqual([
      'store:rolled-back',
      'client:rolled-back',
      'web:finished',
    ]);
    expect(d.calls.filter((c) => /store|client/.test(c))).toEqual(['rollback store', 'rollback client']);
    expect(r[0]?.message).toMatch(/back with client: they share kept TCP connections/);
  });

  it('every copy runs (made by this run): all go forward', async () => {
    const path = writeJournal(tmp(), 'cut', [
      runRecord('cut', members.slice(0, 2), { restoreAfter }),
      stage('store', 'restore', 'finished'),
      stage('client', 'restore', 'finished'),
    ]);
    const d = new CutDriver({
      store: { source: 'stopped', destination: 'running' },
      client: { source: 'stopped', destination: 'running' },
    });
    const r = await recoverWith(path, d);
    expect(r.map((x) => x.action)).toEqual(['finished', 'finished']);
    expect(d.calls.sort()).toEqual(['finalize client', 'finalize store']);
  });

  it('a source already being removed: the run had verified the whole cut, so it goes forward', async () => {
    const path = writeJournal(tmp(), 'cut', [
      runRecord('cut', members.slice(0, 2), { restoreAfter }),
      stage('client', 'restore', 'finished'),
      stage('store', 'finalize', 'started'),
    ]);
    const d = new CutDriver({
      store: { source: 'missing', destination: 'running' },
      client: { source: 'stopped', destination: 'running' },
    });
    const r = await recoverWith(path, d);
    expect(r.map((x) => x.action)).toEqual(['already-done', 'finished']);
    expect(d.calls).toEqual(['finalize client']);
  });
});

/** A clock that moves only when slept on: every wait is recorded, none is real. */
function fakeClock(startMs = 10_000, wallAt = 1_700_000_000_000) {
  let t = startMs;
  const slept: number[] = [];
  const clock: Clock = {
    now: () => t,
    wall: () => wallAt + t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
  return { clock, slept };
}

/** recover's effects on a fake clock and an in-memory journal: what it waited for, and what it appended where. */
function fakeRecoverEffects(drivers: Partial<Record<RuntimeKind, MigrationDriver>>) {
  const { clock, slept } = fakeClock();
  const opened: string[] = [];
  const records: JournalRecord[] = [];
  const openJournal = (runId: string, dir: string): JournalSink => {
    opened.push(join(dir, `${runId}.jsonl`));
    return { path: join(dir, `${runId}.jsonl`), write: (r) => records.push(r), close: () => undefined };
  };
  return {
    effects: { drivers: { ...defaultDrivers(), ...drivers }, clock, openJournal },
    slept,
    opened,
    records,
  };
}

describe('ferry recover on its injected clock and journal', () => {
  it("a running copy is read again after STILL_RUNNING_MS on its clock; its records carry the clock's wall time", async () => {
    const path = writeJournal(tmp(), 'rc', [
      runRecord('rc', [item('web')]),
      stageRecord('rc', 'web', 'restore', 'finished', { dstId: 'copy1', frozen: true, restored: true }),
    ]);
    const d = new LocatingDriver([{ source: 'stopped', destination: 'running' }]);
    const dst = scriptedHost('beta', (argv) => ok(argv.includes('{{.Id}}') ? 'copy1\n' : ''));
    const fake = fakeRecoverEffects({ podman: d });
    const r = await recoverRun(path, {
      ...fake.effects,
      session: (h) => (h === 'beta' ? dst.session : scriptedHost(h).session),
    });
    expect(r.map((x) => x.action)).toEqual(['finished']);
    expect(d.calls).toEqual(['finalize']);
    // one wait, on the clock, of the default length: nothing slept for real
    expect(fake.slept).toEqual([STILL_RUNNING_MS]);
    // appended to the run's own journal, stamped by the clock
    expect(fake.opened).toEqual([path]);
    const at = 1_700_000_000_000 + 10_000 + STILL_RUNNING_MS;
    expect(fake.records.map((x) => [x.kind, x.at])).toEqual([
      ['done', at],
      ['end', at],
    ]);
    expect(readJournal(path).map((x) => x.kind)).toEqual(['run', 'stage']);
  });

  it('a cut going back: the member after a listening end waits out its window probes on the clock', async () => {
    const restoreAfter: [string, string][] = [[item('store').id, item('client').id]];
    const path = writeJournal(tmp(), 'rcut', [
      runRecord('rcut', [item('store'), item('client')], { restoreAfter }),
      stageRecord('rcut', 'client', 'restore', 'failed', {
        dstId: 'copy-client',
        frozen: true,
        restoring: true,
      }),
    ]);
    const d = new CutDriver({
      store: { source: 'stopped', destination: 'running' },
      client: { source: 'stopped', destination: 'stopped' },
    });
    const fake = fakeRecoverEffects({ podman: d });
    const r = await recoverRun(path, { ...fake.effects, session: (h) => scriptedHost(h).session });
    expect(r.map((x) => x.action)).toEqual(['rolled-back', 'rolled-back']);
    expect(d.calls).toEqual(['rollback store', 'rollback client']);
    // store came back at the clock's now; client waited the probes' whole life after it
    expect(fake.slept).toEqual([PROBE_GIVEN_UP_MS]);
  });
});

describe('rollback', () => {
  it('a checkpoint that fails after CRIU stopped the process: the source is restored (freezing, not frozen)', async () => {
    const src = scriptedHost('alpha', (argv) => {
      if (argv.includes('{{.State.Status}}'))
        return ok(src.calls.some((c) => c.includes('restore')) ? 'running' : 'exited');
      return ok('');
    });
    await bringSourceBack(ctxFor(src.session, scriptedHost('beta').session, { freezing: true }), 'podman', [
      'podman',
      'container',
      'restore',
      'web',
    ]);
    expect(src.calls).toContain('podman container restore web');
  });

  it('the copy cannot be removed and may run: the source is NOT restored, and the message says what to check', async () => {
    const src = scriptedHost('alpha', (argv) => ok(argv.includes('{{.State.Status}}') ? 'exited' : ''));
    const dst = scriptedHost('beta', (argv) =>
      argv[1] === 'rm' ? fail('Error: container state improper') : ok('running'),
    );
    const ctx = ctxFor(src.session, dst.session, { dstId: 'copy1', frozen: true, restoring: true });
    await expect(new PodmanDriver().rollback(ctx)).rejects.toThrow(NeedsAttention);
    await expect(new PodmanDriver().rollback(ctx)).rejects.toThrow(
      /was NOT restored on alpha; check on beta/,
    );
    expect(src.calls.some((c) => c.includes('restore'))).toBe(false);
  });

  it('the destination is unreachable after the freeze but its restore never started: the source is restored', async () => {
    const src = scriptedHost('alpha', (argv) => {
      if (argv.includes('{{.State.Status}}'))
        return ok(src.calls.some((c) => c.includes('restore')) ? 'running' : 'exited');
      return ok('');
    });
    const dst = scriptedHost('beta', () => {
      throw new Error('beta: connection lost');
    });
    const warnings: string[] = [];
    await new PodmanDriver().rollback(
      ctxFor(src.session, dst.session, { dstId: 'copy1', frozen: true }, warnings),
    );
    expect(src.calls).toContain('podman container restore web');
    expect(warnings.join('\n')).toMatch(/unstarted copy of web .* could not be removed/);
  });

  it('the destination is unreachable and its restore had started: needs attention, the source stays', async () => {
    const src = scriptedHost('alpha', (argv) => ok(argv.includes('{{.State.Status}}') ? 'exited' : ''));
    const dst = scriptedHost('beta', () => {
      throw new Error('beta: connection lost');
    });
    await expect(
      new PodmanDriver().rollback(
        ctxFor(src.session, dst.session, { dstId: 'copy1', frozen: true, restoring: true }),
      ),
    ).rejects.toThrow(/could not be removed .*NOT restored/);
    expect(src.calls.some((c) => c.includes('restore'))).toBe(false);
  });
});

/** A driver whose every stage is one remote command: what the engine's deadlines bound. */
class RemoteDriver implements MigrationDriver {
  readonly kind = 'podman' as const;
  readonly calls: string[] = [];
  readonly states: DriverState[] = [];
  private readonly failCheckpointAfterStop: boolean;
  constructor(failCheckpointAfterStop = false) {
    this.failCheckpointAfterStop = failCheckpointAfterStop;
  }
  async prestage(ctx: MigrationContext) {
    await ctx.src.exec(['prestage']);
  }
  async pause() {}
  async checkpoint(ctx: MigrationContext) {
    this.calls.push('checkpoint');
    const r = await ctx.src.exec(['checkpoint']);
    if (this.failCheckpointAfterStop) throw new Error('criu: dump failed after the tasks were frozen');
    if (r.code === 0) ctx.state.frozen = true;
  }
  async transfer() {
    return { bytes: 0 };
  }
  async restore() {
    return {};
  }
  async verify() {}
  async finalize() {}
  async rollback(ctx: MigrationContext) {
    this.calls.push('rollback');
    this.states.push({ ...ctx.state });
    await ctx.src.exec(['rollback']);
  }
  async locate() {
    return { source: 'running' as const, destination: 'missing' as const };
  }
}

describe('the engine', () => {
  const plan = (names: string[]) => ({
    items: names.map((n) => item(n)),
    options: { ...DEFAULT_OPTIONS, compress: 'none' as const },
    links: { 'alpha->beta': { bytesPerSec: 100e6, zstd: false } },
  });

  it('a checkpoint that fails after the freeze started is rolled back, not left as a plain failure', async () => {
    const d = new RemoteDriver(true);
    const r = new MigrationRun(plan(['web']), {
      ...liveEffects({ journalDir: tmp() }),
      session: (h) => scriptedHost(h).session,
      drivers: { ...defaultDrivers(), podman: d },
      locks: false,
    });
    const s = await r.done;
    expect(s.results.map((x) => x.outcome)).toEqual(['rolled-back']);
    expect(d.states[0]?.freezing).toBe(true);
    // journaled before the command ran
    const started = readJournal(r.journalPath).find(
      (x) => x.kind === 'stage' && x.stage === 'checkpoint' && x.status === 'started',
    );
    expect(started?.kind === 'stage' && started.state.freezing).toBe(true);
  });

  it('every remote step has a deadline: a hung checkpoint ends, and the container is rolled back', async () => {
    const d = new RemoteDriver();
    const seen: { argv: string; timeoutMs: number | undefined }[] = [];
    const session = (h: string) =>
      scriptedHost(h, (argv, opts) => {
        seen.push({ argv: argv.join(' '), timeoutMs: opts.timeoutMs });
        if (argv[0] !== 'checkpoint') return ok('');
        // a hung podman: answers only when its deadline kills it
        return new Promise<ExecResult>((_, reject) => {
          if (opts.timeoutMs !== undefined)
            setTimeout(
              () => reject(new Error(`${h}: did not finish within ${opts.timeoutMs} ms`)),
              opts.timeoutMs,
            );
        });
      }).session;
    const r = new MigrationRun(plan(['web']), {
      ...liveEffects({ journalDir: tmp() }),
      session,
      drivers: { ...defaultDrivers(), podman: d },
      locks: false,
      deadlines: { checkpoint: 50, rollback: 70 },
    });
    const s = await r.done;
    expect(s.results[0]?.outcome).toBe('rolled-back');
    expect(s.results[0]?.message).toMatch(/did not finish within 50 ms/);
    expect(seen.find((x) => x.argv === 'rollback')?.timeoutMs).toBe(70);
    expect(seen.find((x) => x.argv === 'prestage')?.timeoutMs).toBeGreaterThan(0);
  });

  it('a container being migrated by another run: the second run refuses, naming it, and touches nothing', async () => {
    const name = `ferry-unit-${process.pid}-${Date.now()}`;
    const host = localHost('alpha');
    const journalDir = tmp();
    await acquireLock(host, item(name), 'other-run', { journalDir });
    // the other run is alive: its journal names this process
    writeJournal(journalDir, 'other-run', [runRecord('other-run', [item(name)], { owner: currentOwner() })]);
    try {
      const d = new RemoteDriver();
      const r = new MigrationRun(plan([name]), {
        ...liveEffects({ journalDir }),
        session: () => host,
        drivers: { ...defaultDrivers(), podman: d },
      });
      const s = await r.done;
      expect(s.refused).toMatch(
        new RegExp(`${name} on alpha is being migrated by run other-run .*wait for it`),
      );
      expect(s.results.map((x) => x.outcome)).toEqual(['skipped']);
      expect(exitCodeFor(s)).toBe(1);
      expect(d.calls).toEqual([]);
    } finally {
      await releaseLock(host, item(name), 'other-run');
    }
  });

  it('locks: one holder at a time; a stale lock (its run ended) is taken over; release leaves others alone', async () => {
    const name = `ferry-unit-${process.pid}-${Date.now()}-b`;
    const host = localHost('alpha');
    const journalDir = tmp();
    await acquireLock(host, item(name), 'run-a', { journalDir });
    // run-a's journal: interrupted (no end), its process gone
    const journal = writeJournal(journalDir, 'run-a', [
      runRecord('run-a', [item(name)], {
        owner: { operator: currentOwner().operator, pid: 999999999, pidStart: '1' },
      }),
    ]);
    await expect(acquireLock(host, item(name), 'run-b', { journalDir })).rejects.toThrow(
      /being migrated by run run-a .*interrupted: run ferry recover first/,
    );
    await expect(acquireLock(host, item(name), 'run-b', { journalDir })).rejects.toBeInstanceOf(LockHeld);
    // another run's release does nothing
    await releaseLock(host, item(name), 'run-b');
    await expect(acquireLock(host, item(name), 'run-b', { journalDir })).rejects.toThrow(/run-a/);
    // run-a ends (recover settled it): its lock is stale
    appendFileSync(journal, `${JSON.stringify({ kind: 'end', runId: 'run-a', at: Date.now() })}\n`);
    const stale: string[] = [];
    await acquireLock(host, item(name), 'run-b', { journalDir, onStale: (m) => stale.push(m) });
    expect(stale.join()).toMatch(/stale lock \(its run run-a has ended\)/);
    await releaseLock(host, item(name), 'run-b');
    // free again
    await acquireLock(host, item(name), 'run-c', { journalDir });
    await releaseLock(host, item(name), 'run-c');
  });

  it('a run ends by releasing its locks; a rollback that failed keeps the lock and leaves the run open for recover', async () => {
    const name = `ferry-unit-${process.pid}-${Date.now()}-c`;
    const host = localHost('alpha');
    const journalDir = tmp();
    const d = new RemoteDriver(true);
    d.rollback = async () => {
      throw new Error('alpha: connection lost');
    };
    // prestage, checkpoint and rollback go to a scripted alpha; the lock to this machine
    const r = new MigrationRun(plan([name]), {
      ...liveEffects({ journalDir }),
      session: () => ({
        ...host,
        exec: (argv, opts) => (argv[0] === 'sh' ? host.exec(argv, opts) : Promise.resolve(ok(''))),
      }),
      drivers: { ...defaultDrivers(), podman: d },
    });
    const s = await r.done;
    expect(s.results[0]?.outcome).toBe('failed');
    expect(readJournal(r.journalPath).some((x) => x.kind === 'end')).toBe(false);
    // the process lives on (a TUI stays open) but is done with the run: recover may take it
    expect(inspectRun(r.journalPath).alive).toBe(false);
    await expect(acquireLock(host, item(name), 'next', { journalDir })).rejects.toThrow(
      new RegExp(`being migrated by run ${r.runId} .*interrupted: run ferry recover first`),
    );
    await releaseLock(host, item(name), r.runId);
  });
});

// Each decision of the locks and of recover, alone: every one of these was
// seen failing with the behaviour it names broken.
describe('locks, one decision at a time', () => {
  const me = hostname();
  const dead = { operator: me, pid: 999999999, pidStart: '1' };

  it('a container name that is not a plain name gets no lock path', () => {
    expect(lockDir(item('web'))).toBe('/var/tmp/ferry-locks/podman-web');
    for (const bad of ['../etc', 'a b', '-rf', 'x/y', ''])
      expect(() => lockDir(item(bad)), bad).toThrow(LockHeld);
  });

  it('an owner record is read whole or not at all', () => {
    expect(parseOwner('r1 op 42 1700000000000\n')).toEqual({
      runId: 'r1',
      operator: 'op',
      pid: 42,
      at: 1700000000000,
    });
    expect(parseOwner('r1 op')).toBeUndefined();
    expect(parseOwner('r1 op x 1')).toBeUndefined();
    expect(parseOwner('r1 op 42 soon')).toBeUndefined();
  });

  it('a lock is stale when unreadable, too old, or its run is over; another operator’s fresh lock and a live run’s are not', () => {
    const dir = tmp();
    const now = Date.now();
    const owner = (runId: string, operator = me, pid = process.pid, at = now) => ({
      runId,
      operator,
      pid,
      at,
    });
    expect(staleReason(undefined, dir)).toMatch(/unreadable/);
    expect(staleReason(owner('old', 'elsewhere', 1, now - LOCK_MAX_AGE_MS - 1000), dir, now)).toMatch(
      /12 h old/,
    );
    expect(staleReason(owner('theirs', 'elsewhere', 1), dir, now)).toBeUndefined();
    // no journal here: the process decides
    expect(staleReason(owner('gone', me, 999999999), dir, now)).toMatch(
      /process is gone and it left no journal/,
    );
    expect(staleReason(owner('alive', me, process.pid), dir, now)).toBeUndefined();
    // a journal: only its end makes the lock stale (an interrupted run waits for recover)
    const j = writeJournal(dir, 'interrupted', [runRecord('interrupted', [item('web')], { owner: dead })]);
    expect(staleReason(owner('interrupted', me, 999999999), dir, now)).toBeUndefined();
    appendFileSync(j, `${JSON.stringify({ kind: 'end', runId: 'interrupted', at: now })}\n`);
    expect(staleReason(owner('interrupted', me, 999999999), dir, now)).toMatch(/has ended/);
  });

  it('a run that holds the lock takes it again; a stale lock that changed hands meanwhile is not taken', async () => {
    const name = `ferry-unit-${process.pid}-${Date.now()}-d`;
    const host = localHost('alpha');
    const journalDir = tmp();
    try {
      await acquireLock(host, item(name), 'run-a', { journalDir });
      await acquireLock(host, item(name), 'run-a', { journalDir });
      // run-a is over; while ferry judges it stale, run-z (alive) takes the container
      writeJournal(journalDir, 'run-a', [
        runRecord('run-a', [item(name)], { owner: dead }),
        { kind: 'end', runId: 'run-a', at: 1 },
      ]);
      writeJournal(journalDir, 'run-z', [runRecord('run-z', [item(name)], { owner: currentOwner() })]);
      const dirOf = lockDir(item(name));
      await expect(
        acquireLock(host, item(name), 'run-b', {
          journalDir,
          onStale: () => writeFileSync(`${dirOf}/owner`, `run-z ${me} ${process.pid} ${Date.now()}\n`),
        }),
      ).rejects.toThrow(/being migrated by run run-z/);
    } finally {
      await releaseLock(host, item(name), 'run-a');
      await releaseLock(host, item(name), 'run-z');
    }
  });

  it('a lock that cannot be taken or released is an error naming the host, never a silent pass', async () => {
    const broken = scriptedHost('alpha', () =>
      fail('mkdir: cannot create directory: Read-only file system', 3),
    );
    await expect(acquireLock(broken.session, item('web'), 'run-a', { journalDir: tmp() })).rejects.toThrow(
      /alpha: cannot lock web in \/var\/tmp\/ferry-locks: mkdir: cannot create/,
    );
    await expect(releaseLock(broken.session, item('web'), 'run-a')).rejects.toThrow(
      /alpha: releasing the lock of web/,
    );
  });

  it('a run is alive only as the same process on this machine: a reused pid or another operator is not it', () => {
    const mine = currentOwner();
    expect(ownerAlive(mine)).toBe(true);
    expect(ownerAlive({ ...mine, pidStart: `${mine.pidStart}0` })).toBe(false);
    expect(ownerAlive({ ...mine, operator: `${me}-other` })).toBe(false);
  });
});

describe('recover, one decision at a time', () => {
  const RUN = '20261129T000000-abcdef';
  const stageAt = (state: DriverState, id = item('web').id): JournalRecord => ({
    kind: 'stage',
    runId: RUN,
    at: 1,
    id,
    stage: 'transfer',
    status: 'started',
    state,
  });
  /** recover of one container whose driver says where it is; the hosts answer `ids` to inspect */
  async function recoverOne(
    state: DriverState,
    d: LocatingDriver,
    runtime: 'podman' | 'docker' = 'podman',
    copyId = 'copy1',
  ) {
    const dir = tmp();
    const path = writeJournal(dir, RUN, [
      runRecord(RUN, [item('web', runtime)]),
      stageAt(state, item('web', runtime).id),
    ]);
    const alpha = scriptedHost('alpha');
    const beta = scriptedHost('beta', (argv) => ok(argv.includes('{{.Id}}') ? `${copyId}\n` : ''));
    const r = await recoverRun(path, {
      session: (h) => (h === 'beta' ? beta.session : alpha.session),
      ...recoverEffects({ [runtime]: d }),
      stillRunningMs: 5,
    });
    return { r: r[0] as NonNullable<(typeof r)[0]>, path, alpha: alpha.calls, beta: beta.calls };
  }
  const unreachableBeta = (readings: { source: ContainerPresence; destination: ContainerPresence }[]) =>
    new (class extends LocatingDriver {
      override async locate(): Promise<{ source: ContainerPresence; destination: ContainerPresence }> {
        throw new SshError('UNREACHABLE', 'beta', 'connect ECONNREFUSED');
      }
    })(readings);

  it('a settled container leaves nothing: temp dirs, the docker checkpoint named after the run and the lock go; done and end are journaled', async () => {
    const d = new LocatingDriver([{ source: 'stopped', destination: 'missing' }]);
    const { r, path, alpha, beta } = await recoverOne(
      {
        tmpSrc: '/tmp/ferry.src1',
        tmpDst: '/tmp/ferry.dst1',
        checkpointName: `ferry-${RUN}`,
        dstId: 'copy1',
      },
      d,
      'docker',
    );
    expect(r.action).toBe('rolled-back');
    expect(alpha).toContain('rm -rf /tmp/ferry.src1');
    expect(beta).toContain('rm -rf /tmp/ferry.dst1');
    expect(alpha).toContain(`docker checkpoint rm web ferry-${RUN}`);
    expect(alpha.some((c) => c.startsWith('sh -c o=$(cat') && c.includes('docker-web'))).toBe(true);
    const records = readJournal(path);
    expect(records.find((x) => x.kind === 'done')).toMatchObject({ outcome: 'recover:rolled-back' });
    expect(records.at(-1)?.kind).toBe('end');
  });

  it('a container it cannot settle keeps its lock and its files, and the run stays open for the next recover', async () => {
    const d = new LocatingDriver([{ source: 'stopped', destination: 'running' }]);
    const { r, path, alpha } = await recoverOne(
      { tmpSrc: '/tmp/ferry.src1', dstId: 'copy1', restoring: true },
      d,
      'podman',
      'not-ours',
    );
    expect(r.action).toBe('failed');
    expect(alpha).toEqual([]);
    const records = readJournal(path);
    expect(records.find((x) => x.kind === 'done')).toMatchObject({ outcome: 'recover:failed' });
    expect(records.some((x) => x.kind === 'end')).toBe(false);
  });

  it('the destination cannot be reached: the source comes back if the copy never started, else recover waits for it', async () => {
    const never = unreachableBeta([]);
    const a = await recoverOne({ dstId: 'copy1', frozen: true }, never);
    expect(a.r).toMatchObject({ action: 'rolled-back', runningOn: 'alpha' });
    expect(a.r.message).toMatch(/beta cannot be reached; its copy was never started/);
    expect(never.calls).toEqual(['rollback']);
    const started = unreachableBeta([]);
    const b = await recoverOne({ dstId: 'copy1', frozen: true, restoring: true }, started);
    expect(b.r.action).toBe('failed');
    expect(b.r.message).toMatch(
      /waiting for beta \(the destination\), which cannot be reached: .*run ferry recover again once beta answers/,
    );
    expect(started.calls).toEqual([]);
  });

  it('where it runs decides: both -> a person decides; the copy -> the stopped source goes; the source untouched -> nothing; a stopped source -> restored', async () => {
    const both = new LocatingDriver([{ source: 'running', destination: 'running' }]);
    const r1 = await recoverOne({ dstId: 'copy1', restoring: true }, both);
    expect(r1.r.action).toBe('failed');
    expect(r1.r.message).toMatch(/runs on both alpha and beta/);
    expect(both.calls).toEqual([]);

    const copy = new LocatingDriver([{ source: 'stopped', destination: 'running' }]);
    const r2 = await recoverOne({ dstId: 'copy1', restoring: true }, copy);
    expect(r2.r).toMatchObject({ action: 'finished', runningOn: 'beta' });
    expect(copy.calls).toEqual(['finalize']);

    const untouched = new LocatingDriver([{ source: 'running', destination: 'missing' }]);
    const r3 = await recoverOne({ tmpSrc: '/tmp/ferry.src1' }, untouched);
    expect(r3.r).toMatchObject({ action: 'nothing-to-do', runningOn: 'alpha' });
    expect(untouched.calls).toEqual([]);
    // a copy was made: it must go, even though the source runs
    const made = new LocatingDriver([{ source: 'running', destination: 'stopped' }]);
    expect((await recoverOne({ dstId: 'copy1' }, made)).r.action).toBe('rolled-back');
    expect(made.calls).toEqual(['rollback']);

    // stopped with no record of the freeze (killed before it was journaled): restored all the same
    const stopped = new LocatingDriver([{ source: 'stopped', destination: 'missing' }]);
    await recoverOne({ dstId: 'copy1' }, stopped);
    expect(stopped.states[0]?.frozen).toBe(true);
  });
});
