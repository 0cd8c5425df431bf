// The engine against the real lab: CRIU checkpoints, real transfers over
// ssh, restores on other hosts; state continuity proven on the workload.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { liveRecoverEffects } from '../../src/migrate/live.ts';
import { recoverRun } from '../../src/migrate/recover.ts';
import { sessionsFor } from '../../src/migrate/session.ts';
import type { MigrateOptions, RunSummary } from '../../src/plan/migration.ts';
import { createSshPool } from '../../src/ssh/index.ts';
import {
  continuityProblems,
  freshStatus,
  lab,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  sshOk,
  WORKFLOW_TO_BETA,
  workloadStatus,
} from '../support/lab.ts';
import {
  containerNames,
  expectContinuity,
  migrate,
  planAndMigrate,
  STAGES,
  snapshot,
  workflowItems,
} from '../support/migrate.ts';

const names = (p: string) => STAGES.map((s) => `${p}-${s}-1`);
const outcomes = (s: RunSummary) => s.results.map((r) => r.outcome);
const FERRY = new URL('../../dist/ferry.mjs', import.meta.url).pathname;

function writtenBytes(): number {
  const m = /write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(m?.[1] ?? 0);
}

async function resetLab() {
  for (const h of ['beta', 'gamma']) {
    await ssh(
      h,
      'podman rm -f -t 0 $(podman ps -aq --filter label=io.ferry.lab=workflow) 2>/dev/null; docker rm -f $(docker ps -aq --filter label=io.ferry.lab=workflow) 2>/dev/null; rm -rf /tmp/ferry.*',
    );
  }
  // gamma stays without the image, as the lab promises
  await ssh(
    'gamma',
    'podman rmi -f localhost/ferry-workload:latest >/dev/null 2>&1; docker rmi -f localhost/ferry-workload:latest >/dev/null 2>&1; true',
  );
  await lab(['workflow']);
}

async function moveGroup(
  runtime: 'podman' | 'docker',
  from: string,
  to: string,
  strategy: 'sequential' | 'pipelined' | 'parallel' | 'auto',
  extra: Partial<MigrateOptions> = {},
) {
  const project = runtime === 'podman' ? 'wf' : 'wfd';
  const before = await snapshot(from, runtime, names(project));
  const { plan, summary, events } = await planAndMigrate(
    { members: [], compose: { host: from, project }, to },
    { strategy, ...extra },
  );
  // the plan: nothing blocks, and consumers go first (producer depends on parse ...)
  expect(plan.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
  const order = plan.items.map((i) => i.container.name);
  for (const [before, after] of plan.edges)
    expect(order.indexOf(before.split('/')[2] ?? '')).toBeLessThan(order.indexOf(after.split('/')[2] ?? ''));
  expect(plan.edges.length).toBeGreaterThanOrEqual(3);
  // the run went in the planned order, or (auto) one the refined estimates chose, dependencies first
  const frozen = events.flatMap((e) =>
    e.type === 'stage-started' && e.stage === 'checkpoint' ? [e.id.split('/')[2] ?? ''] : [],
  );
  for (const [before, after] of plan.edges)
    expect(frozen.indexOf(before.split('/')[2] ?? '')).toBeLessThan(
      frozen.indexOf(after.split('/')[2] ?? ''),
    );
  if (strategy === 'auto') expect(events.some((e) => e.type === 'estimate')).toBe(true);
  const errors = events.filter((e) => e.type === 'error').map((e) => ('message' in e ? e.message : ''));
  expect(outcomes(summary), errors.join('\n')).toEqual(['migrated', 'migrated', 'migrated', 'migrated']);
  expect(await containerNames(from, runtime, project)).toEqual([]);
  expect(await containerNames(to, runtime, project)).toEqual(names(project).sort());
  await expectContinuity(to, runtime, before, `${project}-sink-1`);
  const restores = events.flatMap((e) =>
    e.type === 'stage-finished' && e.stage === 'restore' ? [JSON.stringify(e.detail)] : [],
  );
  console.log(
    `${runtime} ${from} -> ${to} ${strategy}: makespan ${summary.makespanMs} ms, downtime ${summary.results.map((r) => r.downtimeMs).join('/')} ms; restore ${restores.join(' ')}`,
  );
  return { summary, events, plan };
}

describe.skipIf(SKIP_LAB)('migrating the sample workflow', () => {
  beforeAll(async () => {
    await execa('node', ['scripts/build.mjs', '--quiet']);
    await resetLab();
  });
  afterAll(resetLab);

  it('podman: alpha -> beta (auto), nothing of the stream written on the operator machine', async () => {
    const before = writtenBytes();
    const { events } = await moveGroup('podman', 'alpha', 'beta', 'auto');
    const moved = events.reduce(
      (n, e) =>
        n + (e.type === 'stage-finished' && e.stage === 'transfer' ? Number(e.detail?.bytes ?? 0) : 0),
      0,
    );
    expect(moved).toBeGreaterThan(4 * 60_000_000);
    // the relay passes the archives through memory only
    expect(writtenBytes() - before).toBeLessThan(16_000_000);
    // the optimized path ran, with its breakdown in the events
    const restore = events.find((e) => e.type === 'stage-finished' && e.stage === 'restore');
    expect(restore && 'detail' in restore ? Object.keys(restore.detail ?? {}) : []).toEqual([
      'prepareMs',
      'criuRestoreMs',
    ]);
  });

  // Through the bastion every byte is encrypted twice by ferry's pure-JS ssh2
  // (the jump's channel carries the inner connection): CPU-bound, so on a
  // busy machine a 4 x 64 MB group move takes several times longer. One move
  // per test, with room for it.
  const THROUGH_BASTION = 300_000;

  it(
    'podman: beta -> gamma through the bastion, copying the missing image (sequential)',
    async () => {
      expect((await ssh('gamma', 'podman image exists localhost/ferry-workload:latest')).exitCode).toBe(1);
      const { events } = await moveGroup('podman', 'beta', 'gamma', 'sequential');
      expect(events.some((e) => e.type === 'warning' && /no image/.test(e.message))).toBe(true);
    },
    THROUGH_BASTION,
  );

  it(
    'podman: gamma -> alpha (pipelined)',
    async () => {
      await moveGroup('podman', 'gamma', 'alpha', 'pipelined');
    },
    THROUGH_BASTION,
  );

  it('podman: alpha -> beta (parallel) and back (auto)', async () => {
    await moveGroup('podman', 'alpha', 'beta', 'parallel');
    await moveGroup('podman', 'beta', 'alpha', 'auto');
  }, 240_000);

  it('docker: alpha -> beta (auto), carrying the writable layer', async () => {
    await sshOk('alpha', 'docker exec wfd-enrich-1 sh -c "echo carried > /state/marker"');
    await moveGroup('docker', 'alpha', 'beta', 'auto');
    expect((await sshOk('beta', 'docker exec wfd-enrich-1 cat /state/marker')).trim()).toBe('carried');
  });

  it(
    'docker: beta -> gamma through the bastion with the image copied (pipelined)',
    async () => {
      await moveGroup('docker', 'beta', 'gamma', 'pipelined');
    },
    THROUGH_BASTION,
  );

  it(
    'docker: gamma -> alpha through the bastion (sequential)',
    async () => {
      await moveGroup('docker', 'gamma', 'alpha', 'sequential');
    },
    THROUGH_BASTION,
  );

  it('podman: a consistent cut pauses every member before the first checkpoint, and all continue on beta', async () => {
    await resetLab();
    const { events, summary } = await moveGroup('podman', 'alpha', 'beta', 'auto', { consistentCut: true });
    const at = (pred: (e: (typeof events)[number]) => boolean) => events.findIndex(pred);
    const pauses = events.filter((e) => e.type === 'paused');
    expect(pauses).toHaveLength(4);
    const lastPause = events.lastIndexOf(pauses[3] as (typeof events)[number]);
    expect(lastPause).toBeLessThan(at((e) => e.type === 'stage-started' && e.stage === 'checkpoint'));
    // downtime is counted from the pause: the last to be checkpointed waited longest
    expect(Math.max(...summary.results.map((r) => r.downtimeMs ?? 0))).toBeGreaterThan(
      Math.min(...summary.results.map((r) => r.downtimeMs ?? 0)),
    );
  });

  it('docker: direct transfer, the source sends to beta with its own ssh; nothing passes through ferry', async () => {
    await resetLab();
    const before = writtenBytes();
    const { plan, events } = await moveGroup('docker', 'alpha', 'beta', 'auto', { transfer: 'direct' });
    expect(plan.links['alpha->beta']?.direct).toMatchObject({ target: 'root@10.99.0.12', port: 22 });
    const moved = events.reduce(
      (n, e) =>
        n + (e.type === 'stage-finished' && e.stage === 'transfer' ? Number(e.detail?.bytes ?? 0) : 0),
      0,
    );
    expect(moved).toBeGreaterThan(4 * 60_000_000);
    expect(writtenBytes() - before).toBeLessThan(16_000_000);
  });

  it('Ctrl-C (SIGINT) mid-run is a safe stop: nothing new is frozen, none is stopped on both sides', async () => {
    await resetLab();
    const before = await snapshot('alpha', 'podman', names('wf'));
    const child = execa(
      process.execPath,
      [FERRY, 'migrate', ...WORKFLOW_TO_BETA, '--strategy', 'sequential', '--yes', '--events', 'ndjson'],
      { reject: false, env: { XDG_STATE_HOME: await mkdtemp(join(tmpdir(), 'ferry-int-')) } },
    );
    let sent = false;
    child.stdout?.on('data', (d: Buffer) => {
      if (!sent && /"stage":"checkpoint"/.test(d.toString())) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const r = await child;
    expect(sent).toBe(true);
    const results = (JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { summary?: RunSummary })
      .summary?.results;
    // the one frozen when Ctrl-C came finished (or rolled back); the rest were never frozen
    expect(results?.filter((x) => x.outcome === 'skipped').length).toBe(3);
    expect(r.exitCode).toBe(4);
    const onBeta = await containerNames('beta', 'podman', 'wf');
    const onAlpha = await containerNames('alpha', 'podman', 'wf');
    expect([...onAlpha, ...onBeta].sort()).toEqual(names('wf').sort());
    for (const n of onBeta)
      expect((await sshOk('beta', `podman inspect -f '{{.State.Status}}' ${n}`)).trim()).toBe('running');
    for (const n of onAlpha)
      expect((await sshOk('alpha', `podman inspect -f '{{.State.Status}}' ${n}`)).trim()).toBe('running');
    // the sink went first (consumers first) and kept its state wherever it is now
    const sinkHost = onBeta.includes('wf-sink-1') ? 'beta' : 'alpha';
    expect((await workloadStatus(sinkHost, 'podman', 'wf-sink-1')).runId).toBe(
      before.get('wf-sink-1')?.runId,
    );
  });

  describe('faults: every container ends on exactly one host with its state', () => {
    beforeEach(resetLab);

    async function expectHomeOnly(
      name: string,
      before: Awaited<ReturnType<typeof snapshot>>,
      runtime: 'podman' | 'docker' = 'podman',
    ) {
      const gone =
        runtime === 'podman'
          ? `podman container exists ${name}`
          : `docker container inspect ${name} >/dev/null 2>&1`;
      expect((await ssh('beta', gone)).exitCode, `${name} left on beta`).toBe(1);
      await expectContinuity('alpha', runtime, before, runtime === 'podman' ? 'wf-sink-1' : 'wfd-sink-1');
    }

    const runtimes = [
      { runtime: 'podman', project: 'wf' },
      { runtime: 'docker', project: 'wfd' },
    ] as const;

    it.each(runtimes)('$runtime: the transfer stream is killed midway', async ({ runtime, project }) => {
      const before = await snapshot('alpha', runtime, names(project));
      let killer: Promise<{ exitCode: number }> | undefined;
      const { summary } = await migrate(
        workflowItems(runtime, project, 'alpha', 'beta', [`${project}-sink-1`]),
        { strategy: 'auto' },
        (run) =>
          run.on((e) => {
            if (e.type === 'stage-started' && e.stage === 'transfer' && !killer) {
              // the sending tar, as soon as it exists
              killer = ssh(
                'alpha',
                "for i in $(seq 200); do pkill -KILL -f '^tar --numeric-owner .*-cf -' && exit 0; sleep 0.01; done; exit 1",
              );
            }
          }),
      );
      expect((await killer)?.exitCode).toBe(0);
      expect(outcomes(summary)).toEqual(['rolled-back']);
      await expectHomeOnly(`${project}-sink-1`, before, runtime);
    });

    it.each(runtimes)('$runtime: restore fails on the destination', async ({ runtime, project }) => {
      const before = await snapshot('alpha', runtime, names(project));
      expect((await lab(['criu', 'beta', 'broken'])).exitCode).toBe(0);
      try {
        const { summary } = await migrate(
          workflowItems(runtime, project, 'alpha', 'beta', [`${project}-enrich-1`]),
        );
        expect(outcomes(summary)).toEqual(['rolled-back']);
        expect(summary.results[0]?.message).toMatch(/restore|start/);
      } finally {
        await lab(['criu', 'beta', 'ok']);
      }
      await expectHomeOnly(`${project}-enrich-1`, before, runtime);
    });

    // dockerd starts a container with a restart policy again, fresh, once its checkpoint stops it
    it('docker: a container with a restart policy is never started again on alpha; back after a failed restore, it has its policy; moved, the copy has it', async () => {
      const name = 'wfd-enrich-1';
      const policy = async (host: string) =>
        (
          await sshOk(
            host,
            `docker inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.RestartCount}}' ${name}`,
          )
        ).trim();
      await sshOk('alpha', `docker update --restart unless-stopped ${name}`);
      try {
        const before = await snapshot('alpha', 'docker', names('wfd'));
        expect((await lab(['criu', 'beta', 'broken'])).exitCode).toBe(0);
        try {
          const { summary } = await migrate(workflowItems('docker', 'wfd', 'alpha', 'beta', [name]));
          expect(outcomes(summary), summary.results[0]?.message).toEqual(['rolled-back']);
        } finally {
          await lab(['criu', 'beta', 'ok']);
        }
        expect(await policy('alpha')).toBe('unless-stopped 0');
        await expectHomeOnly(name, before, 'docker');

        const was = await workloadStatus('alpha', 'docker', name);
        const started = Date.now();
        const { summary } = await migrate(workflowItems('docker', 'wfd', 'alpha', 'beta', [name]));
        expect(outcomes(summary), summary.results[0]?.message).toEqual(['migrated']);
        expect(await policy('beta')).toBe('unless-stopped 0');
        expect(
          (await ssh('alpha', `docker container inspect ${name}`)).exitCode,
          `${name} left on alpha`,
        ).toBe(1);
        expect(continuityProblems(was, await freshStatus('beta', 'docker', name, started))).toEqual([]);
      } finally {
        for (const h of ['alpha', 'beta']) await ssh(h, `docker update --restart no ${name}`);
      }
    });

    it('the destination disk is too small', async () => {
      const before = await snapshot('alpha', 'podman', names('wf'));
      await lab(['exec', 'beta', '--', 'mount', '-t', 'tmpfs', '-o', 'size=16m', 'ferry-small', '/tmp']);
      try {
        const { summary } = await migrate(workflowItems('podman', 'wf', 'alpha', 'beta', ['wf-parse-1']), {
          restorePath: 'import',
        });
        expect(outcomes(summary)).toEqual(['rolled-back']);
        // the receiver's own words reach the operator
        expect(summary.results[0]?.message).toMatch(/No space left on device/);
      } finally {
        await lab([
          'exec',
          'beta',
          '--',
          'sh',
          '-c',
          'while findmnt -n -o SOURCE /tmp | grep -q ferry-small; do umount /tmp; done',
        ]);
      }
      await expectHomeOnly('wf-parse-1', before);
    });

    it('ferry is killed with SIGKILL during the transfer, then ferry recover settles it', async () => {
      const before = await snapshot('alpha', 'podman', names('wf'));
      // a journal dir of its own: recover must find this run, and only this one
      const stateHome = await mkdtemp(join(tmpdir(), 'ferry-state-'));
      const child = spawn(
        'node',
        [
          FERRY,
          'migrate',
          '-F',
          SSH_CONFIG,
          '--containers',
          'alpha:wf-sink-1,alpha:wf-producer-1',
          '--to',
          'beta',
          '--yes',
          '--events',
          'ndjson',
          '--strategy',
          'pipelined',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_STATE_HOME: stateHome } },
      );
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('"type":"bytes"')) child.kill('SIGKILL');
        });
        child.on('exit', (code, signal) =>
          signal === 'SIGKILL'
            ? resolve()
            : reject(new Error(`ferry exited (${code}) before the transfer: ${buf.slice(-500)}`)),
        );
      });
      const rec = await execa('node', [FERRY, 'recover', '-F', SSH_CONFIG], {
        reject: false,
        env: { XDG_STATE_HOME: stateHome },
      });
      expect(rec.exitCode, rec.stdout + rec.stderr).toBe(0);
      expect(rec.stdout).toContain(stateHome);
      expect(rec.stdout).toMatch(/rolled-back|finished|nothing-to-do|already-done/);
      for (const n of ['wf-sink-1', 'wf-producer-1']) {
        const onAlpha = (
          await ssh('alpha', `podman container inspect --format '{{.State.Status}}' ${n}`)
        ).stdout.trim();
        const onBeta = (
          await ssh('beta', `podman container inspect --format '{{.State.Status}}' ${n}`)
        ).stdout.trim();
        expect(
          [onAlpha, onBeta].filter((s) => s === 'running'),
          `${n}: alpha ${onAlpha}, beta ${onBeta}`,
        ).toHaveLength(1);
        expect([onAlpha, onBeta].filter((s) => s !== '')).toHaveLength(1);
      }
      // bring any moved one home for the continuity check
      const moved = [];
      for (const n of ['wf-sink-1', 'wf-producer-1'])
        if ((await ssh('beta', `podman container exists ${n}`)).exitCode === 0) moved.push(n);
      if (moved.length > 0) {
        const back = await migrate(workflowItems('podman', 'wf', 'beta', 'alpha', moved));
        expect(outcomes(back.summary).every((o) => o === 'migrated')).toBe(true);
      }
      await expectContinuity('alpha', 'podman', before, 'wf-sink-1');
    });

    it("the source's sshd dies after the checkpoint, and recover restores the source", async () => {
      const before = await snapshot('alpha', 'podman', names('wf'));
      let stopped = false;
      const { summary, journalPath } = await migrate(
        workflowItems('podman', 'wf', 'alpha', 'beta', ['wf-sink-1']),
        { strategy: 'auto' },
        (run) =>
          run.on((e) => {
            if (e.type === 'stage-finished' && e.stage === 'checkpoint' && !stopped) {
              stopped = true;
              void lab(['sshd', 'alpha', 'stop']);
            }
          }),
      ).finally(() => lab(['sshd', 'alpha', 'start']));
      expect(stopped).toBe(true);
      // with the source unreachable, nothing could be rolled back yet: said loudly
      expect(outcomes(summary)).toEqual(['failed']);
      expect(summary.results[0]?.message).toMatch(/ROLLBACK FAILED|alpha/);
      await lab(['sshd', 'alpha', 'start']);
      const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
      try {
        const results = await recoverRun(journalPath, {
          ...liveRecoverEffects(),
          session: sessionsFor(pool),
        });
        expect(results.map((r) => r.action)).toEqual(['rolled-back']);
      } finally {
        await pool.close();
      }
      await expectHomeOnly('wf-sink-1', before);
    });
  });
});
