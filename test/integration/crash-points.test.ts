// The crash-point matrix: ferry is SIGKILLed right after each journaled step
// of a migration (FERRY_TEST_KILL_AT: the kill is real, so is the state it
// leaves on the hosts), then `ferry recover` runs. Each time the container
// runs on exactly one host, with its state continued, and nothing of the run
// is left behind. One small container per runtime, moved back and forth, so
// the workload's run id proves it was never restarted across the whole matrix.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lab,
  type Runtime,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  sshOk,
  type WorkloadStatus,
  waitStatus,
} from '../support/lab.ts';

const FERRY = new URL('../../dist/ferry.mjs', import.meta.url).pathname;
const HOSTS = ['alpha', 'beta'] as const;
const NAME: Record<Runtime, string> = { podman: 'crash-p', docker: 'crash-d' };
const PORT: Record<Runtime, number> = { podman: 7391, docker: 7392 };

/** Every record the engine journals for a container, in order (run: before any). */
export const KILL_POINTS = [
  'run',
  'prestage:started',
  'prestage:finished',
  'checkpoint:started',
  'checkpoint:finished',
  'transfer:started',
  'transfer:finished',
  'restore:started',
  'restore:finished',
  'verify:started',
  'verify:finished',
  'finalize:started',
  'finalize:finished',
  'done',
] as const;
/** direct differs from relay only in the transfer */
const DIRECT_POINTS = ['transfer:started', 'transfer:finished'] as const;

const first: Partial<Record<Runtime, WorkloadStatus>> = {};
const last: Partial<Record<Runtime, WorkloadStatus>> = {};

async function stateOn(host: string, runtime: Runtime, name: string): Promise<string> {
  const r = await ssh(host, `${runtime} container inspect --format '{{.State.Status}}' ${name}`);
  return r.exitCode === 0 ? r.stdout.trim() : 'missing';
}

/** Where the container runs; asserts it runs on exactly one host and exists nowhere else. */
async function whereItRuns(runtime: Runtime): Promise<string> {
  const name = NAME[runtime];
  const states = await Promise.all(HOSTS.map((h) => stateOn(h, runtime, name)));
  const text = HOSTS.map((h, i) => `${h} ${states[i]}`).join(', ');
  expect(
    states.filter((s) => s === 'running'),
    text,
  ).toHaveLength(1);
  expect(
    states.filter((s) => s !== 'missing'),
    text,
  ).toHaveLength(1);
  return HOSTS[states.indexOf('running')] as string;
}

/** Same process (run id), counter not gone back, memory intact. */
async function expectContinued(runtime: Runtime, host: string) {
  const before = last[runtime] as WorkloadStatus;
  const now = await waitStatus(host, runtime, NAME[runtime], (s) => s.ticks > before.ticks, 20_000);
  expect(now.runId, 'the workload was restarted').toBe(first[runtime]?.runId);
  expect(now.ballastRecomputed).toBe(first[runtime]?.ballastChecksum);
  last[runtime] = now;
}

/**
 * Nothing of ferry's runs is left: temp dirs, docker checkpoints named after a
 * run, containerd's unpacked copy of one (a memory image per docker restore), locks.
 */
async function expectNoLeftovers(runtime: Runtime) {
  for (const h of HOSTS) {
    const out = await sshOk(
      h,
      `ls -d /tmp/ferry.* /var/tmp/ferry-locks/* 2>/dev/null; ${runtime === 'docker' ? `ls -d /tmp/ctrd-checkpoint* 2>/dev/null; docker checkpoint ls ${NAME.docker} 2>/dev/null | grep ferry-;` : ''} true`,
    );
    expect(out.trim(), `left on ${h}`).toBe('');
  }
}

function startContainer(runtime: Runtime) {
  return sshOk(
    'alpha',
    `${runtime} run -d --name ${NAME[runtime]} --network host --restart no -e BALLAST_MB=8 -e RATE=20 -e IN_PORT=${PORT[runtime]} localhost/ferry-workload:latest sink >/dev/null`,
  );
}

async function removeEverywhere(only?: Runtime) {
  const podman = `podman rm -f -t 0 ${NAME.podman} >/dev/null 2>&1;`;
  const docker = `docker rm -f ${NAME.docker} >/dev/null 2>&1;`;
  for (const h of HOSTS)
    await ssh(
      h,
      `${only !== 'docker' ? podman : ''} ${only !== 'podman' ? docker : ''} rm -rf /tmp/ferry.* /tmp/ctrd-checkpoint* /var/tmp/ferry-locks; true`,
    );
}

interface Ferry {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ferry(args: string[], env: Record<string, string>): Promise<Ferry> {
  return new Promise((resolve) => {
    const child = spawn('node', [FERRY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const migrateArgs = (runtime: Runtime, from: string, transfer: 'relay' | 'direct') => [
  'migrate',
  '-F',
  SSH_CONFIG,
  '--containers',
  `${from}:${runtime}/${NAME[runtime]}`,
  '--to',
  from === 'alpha' ? 'beta' : 'alpha',
  '--yes',
  '--compress',
  'none',
  '--transfer',
  transfer,
];

/**
 * Where the next move starts. A podman copy made by ferry cannot be moved
 * again yet: its recorded create command holds the --env-file ferry created
 * it with, which preflight refuses as an escape (and the file is gone). Until
 * that is fixed, a podman container that ended on beta is started afresh on
 * alpha; docker's moves back and forth, one process through the whole matrix.
 */
async function startOf(runtime: Runtime): Promise<string> {
  const at = await whereItRuns(runtime);
  if (runtime === 'docker' || at === 'alpha') return at;
  await removeEverywhere(runtime);
  await startContainer(runtime);
  first[runtime] = await waitStatus('alpha', runtime, NAME[runtime], (s) => s.ticks >= 3);
  last[runtime] = first[runtime];
  return 'alpha';
}

/** Kills ferry at `point` of a move from wherever the container is; returns its state dir. */
async function killAt(runtime: Runtime, point: string, transfer: 'relay' | 'direct', stateDir?: string) {
  const from = await startOf(runtime);
  const state = stateDir ?? (await mkdtemp(join(tmpdir(), 'ferry-crash-')));
  const r = await ferry(migrateArgs(runtime, from, transfer), {
    XDG_STATE_HOME: state,
    FERRY_TEST_KILL_AT: point,
  });
  expect(r.signal, `ferry was not killed at ${point}: exit ${r.code}\n${r.stderr.slice(-800)}`).toBe(
    'SIGKILL',
  );
  return { state, from };
}

/** Waits until the run's journal in this state dir holds the record of `point` (STAGE:STATUS). */
async function journalReaches(state: string, point: string) {
  const [stage, status] = point.split(':');
  const needle = `"stage":"${stage}","status":"${status}"`;
  const dir = join(state, 'ferry', 'runs');
  for (let i = 0; i < 600; i++) {
    try {
      if (readdirSync(dir).some((f) => readFileSync(join(dir, f), 'utf8').includes(needle))) return;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the run never journaled ${point}`);
}

function recover(state: string): Promise<Ferry> {
  return ferry(['recover', '-F', SSH_CONFIG], { XDG_STATE_HOME: state });
}

const cases = (['podman', 'docker'] as const).flatMap((runtime) => [
  ...KILL_POINTS.map((point) => ({ runtime, point, transfer: 'relay' as const })),
  ...DIRECT_POINTS.map((point) => ({ runtime, point, transfer: 'direct' as const })),
]);

describe.skipIf(SKIP_LAB)('crash points: SIGKILL at every journaled step, then ferry recover', () => {
  const started = Date.now();
  beforeAll(async () => {
    await execa('node', ['scripts/build.mjs', '--quiet']);
    await removeEverywhere();
    for (const runtime of ['podman', 'docker'] as const) {
      await startContainer(runtime);
      first[runtime] = await waitStatus('alpha', runtime, NAME[runtime], (s) => s.ticks >= 3);
      last[runtime] = first[runtime];
    }
  });
  afterAll(async () => {
    console.log(
      `crash-point matrix: ${cases.length} kill points + 4 host-down cases in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    await lab(['sshd', 'alpha', 'start']);
    await lab(['sshd', 'beta', 'start']);
    await lab(['hang', 'alpha', 'off']);
    await removeEverywhere();
  });

  it.each(cases)('$runtime, $transfer: killed after $point', async ({ runtime, point, transfer }) => {
    const { state } = await killAt(runtime, point, transfer);
    const r = await recover(state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // the run was found and settled (a kill before its lock leaves nothing to do)
    expect(r.stdout).toMatch(/recovering .*\n\s+\S+: (already-done|finished|rolled-back|nothing-to-do): /);
    const host = await whereItRuns(runtime);
    await expectContinued(runtime, host);
    await expectNoLeftovers(runtime);
    // settled: a second recover finds nothing
    expect((await recover(state)).stdout).toMatch(/no interrupted run/);
  });

  it('the source sshd is down: recover says it waits for the source, then settles once it is back', async () => {
    const runtime = 'podman';
    const { state, from } = await killAt(runtime, 'checkpoint:finished', 'relay');
    await lab(['sshd', from, 'stop']);
    try {
      const r = await recover(state);
      expect(r.code).toBe(5);
      expect(r.stdout).toMatch(
        new RegExp(`failed: waiting for ${from} \\(the source\\), which cannot be reached`),
      );
    } finally {
      await lab(['sshd', from, 'start']);
    }
    const r = await recover(state);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/rolled-back/);
    expect(await whereItRuns(runtime)).toBe(from);
    await expectContinued(runtime, from);
    await expectNoLeftovers(runtime);
  });

  it.each([
    { point: 'checkpoint:finished', waits: false },
    { point: 'restore:started', waits: true },
  ])(
    'the destination is down, killed after $point: recover restores the source unless the copy may have started',
    async ({ point, waits }) => {
      const runtime = 'docker';
      const { state, from } = await killAt(runtime, point, 'relay');
      const to = from === 'alpha' ? 'beta' : 'alpha';
      await lab(['sshd', to, 'stop']);
      let r: Ferry;
      try {
        r = await recover(state);
      } finally {
        await lab(['sshd', to, 'start']);
      }
      if (waits) {
        expect(r.code).toBe(5);
        expect(r.stdout).toMatch(
          new RegExp(`failed: waiting for ${to} \\(the destination\\), which cannot be reached`),
        );
        r = await recover(state);
      } else {
        expect(r.stdout).toMatch(new RegExp(`rolled-back: runs on ${from} again \\(${to} cannot be reached`));
        // the unstarted copy left on the destination is named, for a person to remove
        expect(r.stdout).toMatch(/could not be removed/);
        await ssh(to, `docker rm -f ${NAME.docker} >/dev/null 2>&1; rm -rf /tmp/ferry.*`);
      }
      expect(r.code, r.stdout).toBe(0);
      expect(await whereItRuns(runtime)).toBeDefined();
      await expectContinued(runtime, await whereItRuns(runtime));
      await expectNoLeftovers(runtime);
    },
  );

  it('recover during a live migration leaves it alone; a second migrate of the same container refuses', async () => {
    const runtime = 'podman';
    const from = await startOf(runtime);
    const state = await mkdtemp(join(tmpdir(), 'ferry-crash-'));
    const pause = join(state, 'pause');
    writeFileSync(pause, '');
    const first = ferry(migrateArgs(runtime, from, 'relay'), {
      XDG_STATE_HOME: state,
      FERRY_TEST_PAUSE_AT: 'prestage:started',
      FERRY_TEST_PAUSE_FILE: pause,
    });
    try {
      await journalReaches(state, 'prestage:started');
      const rec = await recover(state);
      expect(rec.code, rec.stdout).toBe(0);
      expect(rec.stdout).toMatch(/is in flight \(pid \d+ on this machine\): left alone/);
      // another operator's state dir: it sees only the lock on the host
      const other = await ferry(migrateArgs(runtime, from, 'relay'), {
        XDG_STATE_HOME: await mkdtemp(join(tmpdir(), 'ferry-crash-')),
      });
      expect(other.code, other.stderr).toBe(1);
      expect(other.stderr).toMatch(
        new RegExp(
          `refused, nothing was touched: ${NAME[runtime]} on ${from} is being migrated by run \\S+ \\(operator`,
        ),
      );
    } finally {
      rmSync(pause, { force: true });
    }
    const done = await first;
    expect(done.code, done.stderr.slice(-1000)).toBe(0);
    const host = await whereItRuns(runtime);
    expect(host).not.toBe(from);
    await expectContinued(runtime, host);
    await expectNoLeftovers(runtime);
  });

  it("the next run on a host removes a killed run's temp dirs, leaves a live run's files and what recover needs", async () => {
    const runs = (state: string) => join(state, 'ferry', 'runs');
    /** the temp dirs a run's journal names, found by the container it moves */
    const tempsOf = (state: string, name: string) => {
      const files = existsSync(runs(state)) ? readdirSync(runs(state)) : [];
      const text = files
        .map((f) => readFileSync(join(runs(state), f), 'utf8'))
        .find((t) => t.includes(`"name":"${name}"`));
      return [
        ...new Set([...(text ?? '').matchAll(/"tmp(?:Src|Dst)":"([^"]+)"/g)].map((m) => m[1] as string)),
      ];
    };
    const exists = async (p: string) =>
      (await Promise.all(HOSTS.map((h) => ssh(h, `test -d ${p}`)))).some((r) => r.exitCode === 0);
    // every run sweeps as it starts: L goes first, so that K's leftovers are there for N alone
    const state = await mkdtemp(join(tmpdir(), 'ferry-crash-'));
    // K's container on alpha now: starting it over there (rm -rf /tmp/ferry.*) would wipe L's files too
    await startOf('podman');
    // L: live, held after its prestage with its temp dirs made (same operator, same state dir)
    const from = await startOf('docker');
    const pause = join(state, 'pause');
    writeFileSync(pause, '');
    const live = ferry(migrateArgs('docker', from, 'relay'), {
      XDG_STATE_HOME: state,
      FERRY_TEST_PAUSE_AT: 'prestage:finished',
      FERRY_TEST_PAUSE_FILE: pause,
    });
    const spare = 'crash-n';
    try {
      let held: string[] = [];
      for (let i = 0; i < 600 && held.length < 2; i++) {
        held = tempsOf(state, NAME.docker);
        if (held.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(held).toHaveLength(2);
      // K: killed in its transfer, never recovered: its temp dirs stay on both hosts; its own sweep left L's
      await killAt('podman', 'transfer:started', 'relay', state);
      const killed = tempsOf(state, NAME.podman);
      expect(killed).toHaveLength(2);
      for (const t of [...killed, ...held]) expect(await exists(t), t).toBe(true);
      // N: another container between the same hosts, by the same operator
      await sshOk(
        'alpha',
        `podman run -d --name ${spare} --network none -e IN_PORT=7549 -e RATE=20 localhost/ferry-workload:latest sink >/dev/null`,
      );
      const next = await ferry(
        ['migrate', '-F', SSH_CONFIG, '--containers', `alpha:${spare}`, '--to', 'beta', '--yes'],
        { XDG_STATE_HOME: state },
      );
      expect(next.code, next.stderr.slice(-3000)).toBe(0);
      const said = [...next.stderr.matchAll(/removed what earlier runs left behind: ([^\n]*)/g)].flatMap(
        (m) => (m[1] as string).split(', '),
      );
      // (the lab's hosts share /tmp: each may name the same dir)
      expect([...new Set(said)].sort(), next.stderr.slice(-3000)).toEqual([...killed].sort());
      for (const t of killed) expect(await exists(t), t).toBe(false);
      // the live run's are still there while it is held
      if (existsSync(pause)) for (const t of held) expect(await exists(t), t).toBe(true);
    } finally {
      rmSync(pause, { force: true });
      for (const h of HOSTS) await ssh(h, `podman rm -f -t 0 ${spare} >/dev/null 2>&1; true`);
    }
    const done = await live;
    expect(done.code, done.stderr.slice(-1000)).toBe(0);
    await expectContinued('docker', await whereItRuns('docker'));
    // K is recovered from what the sweep left: the source comes back with its state
    const r = await recover(state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rolled-back/);
    expect(await whereItRuns('podman')).toBe('alpha');
    await expectContinued('podman', 'alpha');
    await expectNoLeftovers('podman');
    await expectNoLeftovers('docker');
  });

  it('a hung checkpoint (criu never answers) ends at its deadline and rolls back; Ctrl-C does not wait on it', async () => {
    const runtime = 'podman';
    const from = await startOf(runtime);
    const state = await mkdtemp(join(tmpdir(), 'ferry-crash-'));
    const pause = join(state, 'pause');
    writeFileSync(pause, '');
    const child = spawn('node', [FERRY, ...migrateArgs(runtime, from, 'relay')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        XDG_STATE_HOME: state,
        FERRY_TEST_PAUSE_AT: 'prestage:finished',
        FERRY_TEST_PAUSE_FILE: pause,
        FERRY_STEP_DEADLINE_MS: '10000',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // the plan probed criu before this: hang it only now, while ferry waits after prestage
    await journalReaches(state, 'prestage:finished');
    expect((await lab(['hang', from, 'on'])).exitCode).toBe(0);
    let stoppedAt = 0;
    try {
      rmSync(pause, { force: true });
      await new Promise((r) => setTimeout(r, 2000));
      child.kill('SIGINT');
      stoppedAt = Date.now();
      const code = await exited;
      // the deadline (10 s), then the rollback: not the hung criu's 10 minutes
      expect(Date.now() - stoppedAt).toBeLessThan(60_000);
      expect(code, stderr.slice(-1500)).toBe(4);
      expect(stderr).toMatch(/did not finish within 10000 ms/);
    } finally {
      await lab(['hang', from, 'off']);
    }
    expect(await whereItRuns(runtime)).toBe(from);
    await expectContinued(runtime, from);
    await expectNoLeftovers(runtime);
  });
});
