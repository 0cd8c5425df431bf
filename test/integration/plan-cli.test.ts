// Issue 7 against the lab, through the built CLI (dist/ferry.mjs): --plan and
// its JSON schema, exit codes (0 plan OK, 2 blockers, 1 error), and a
// headless `migrate --yes --events ndjson` whose state continues on beta.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lab, SKIP_LAB, SSH_CONFIG, ssh, sshOk, WORKFLOW_TO_BETA } from '../support/lab.ts';
import { containerNames, expectContinuity, STAGES, snapshot } from '../support/migrate.ts';

const FERRY = new URL('../../dist/ferry.mjs', import.meta.url).pathname;
const IMG = 'localhost/ferry-workload:latest';

// hosts' facts are cached on disk between runs: in a directory of this file's own
let cacheHome = '/nonexistent';
const ferry = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [FERRY, ...args], {
    reject: false,
    env: { XDG_CONFIG_HOME: '/nonexistent', XDG_CACHE_HOME: cacheHome, ...env },
  });

const ms = z.number().int().nonnegative();
const planSchema = z
  .object({
    schema: z.literal('ferry.plan/v1'),
    strategy: z.enum(['sequential', 'pipelined', 'parallel', 'auto']),
    options: z.object({
      compress: z.string(),
      consistentCut: z.boolean(),
      keepSource: z.boolean(),
      restorePath: z.string(),
      transfer: z.enum(['relay', 'direct', 'auto']),
    }),
    order: z.array(z.string()),
    items: z.array(
      z.object({
        id: z.string(),
        host: z.string(),
        runtime: z.enum(['podman', 'docker']),
        name: z.string(),
        destination: z.string(),
        memoryBytes: z.number().int().positive(),
        estimate: z.object({ checkpointMs: ms, transferMs: ms, restoreMs: ms }),
        predictedDowntimeMs: ms,
        stages: z.array(
          z.object({ stage: z.enum(['checkpoint', 'transfer', 'restore']), startMs: ms, endMs: ms }),
        ),
      }),
    ),
    edges: z.array(z.object({ before: z.string(), after: z.string() })),
    links: z.array(
      z.object({
        from: z.string(),
        to: z.string(),
        bytesPerSec: z.number().positive(),
        compression: z.enum(['zstd', 'none']),
      }),
    ),
    predicted: z.object({ makespanMs: ms, sequentialMs: ms, savedPercent: z.number() }),
    findings: z.array(
      z.object({
        id: z.string(),
        severity: z.enum(['blocker', 'warning']),
        code: z.string(),
        message: z.string(),
      }),
    ),
    blocked: z.boolean(),
    planMs: ms,
  })
  .strict();

async function cleanup() {
  await Promise.all([
    ssh('alpha', 'podman rm -f -t 0 plan-blocked-1 >/dev/null 2>&1; true'),
    ssh('beta', 'podman rm -f -t 0 plan-blocked-1 >/dev/null 2>&1; true'),
  ]);
}

describe.skipIf(SKIP_LAB)('ferry --plan and headless migrate, on the lab', () => {
  beforeAll(async () => {
    cacheHome = await mkdtemp(join(tmpdir(), 'ferry-cache-'));
    await execa(process.execPath, ['scripts/build.mjs', '--quiet']);
    await cleanup();
    await lab(['workflow']);
  });
  afterAll(async () => {
    if (cacheHome.startsWith(tmpdir())) await rm(cacheHome, { recursive: true, force: true });
    await cleanup();
    await ssh(
      'beta',
      'podman rm -f -t 0 $(podman ps -aq --filter label=io.ferry.lab=workflow) 2>/dev/null; true',
    );
    await lab(['workflow']);
  });

  it('--plan --json: the schema holds, the order respects the DAG, and nothing was touched', async () => {
    const before = await containerNames('alpha', 'podman', 'wf');
    const r = await ferry(['--plan', ...WORKFLOW_TO_BETA, '--json'], { FERRY_TIMING: '1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/facts cached/);
    const plan = planSchema.parse(JSON.parse(r.stdout));
    // the next process takes both hosts' CRIU and runtime facts from the cache, and plans the same
    const again = await ferry(['--plan', ...WORKFLOW_TO_BETA, '--json'], { FERRY_TIMING: '1' });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/facts cached: (alpha beta|beta alpha)$/m);
    const replan = planSchema.parse(JSON.parse(again.stdout));
    expect(replan.order).toEqual(plan.order);
    // and the link's rate the first one measured, as it measured it (kept on disk for minutes)
    const estimateOf = (text: string) =>
      (JSON.parse(text) as { links: { bytesPerSec: number; estimate?: { by: string } }[] }).links[0];
    expect(estimateOf(r.stdout)?.estimate?.by).toBe('measured');
    expect(estimateOf(again.stdout)).toMatchObject({
      bytesPerSec: plan.links[0]?.bytesPerSec,
      estimate: { by: 'estimate' },
    });
    expect(replan.findings.map((f) => f.code)).toEqual(plan.findings.map((f) => f.code));
    expect(plan.items.map((i) => i.name).sort()).toEqual(STAGES.map((s) => `wf-${s}-1`).sort());
    expect(plan.order).toEqual(plan.items.map((i) => i.id));
    // producer depends on parse, parse on enrich, enrich on sink: consumers first
    expect(plan.edges.length).toBeGreaterThanOrEqual(3);
    for (const e of plan.edges)
      expect(plan.order.indexOf(e.before)).toBeLessThan(plan.order.indexOf(e.after));
    expect(plan.order[0]).toBe('alpha/podman/wf-sink-1');
    expect(plan.blocked).toBe(false);
    expect(plan.links).toHaveLength(1);
    // overlapping beats one by one, and every stage of the schedule is accounted for
    expect(plan.predicted.makespanMs).toBeLessThan(plan.predicted.sequentialMs);
    for (const i of plan.items)
      expect(i.stages.map((s) => s.stage)).toEqual(['checkpoint', 'transfer', 'restore']);
    console.log(`--plan on the sample workflow: ${plan.planMs} ms (process ${r.durationMs} ms)`);
    expect(await containerNames('alpha', 'podman', 'wf')).toEqual(before);
    expect(await containerNames('beta', 'podman', 'wf')).toEqual([]);
  });

  it('a blocker set up on purpose (the name is taken on the destination) gives exit 2, for --plan and migrate', async () => {
    await sshOk('alpha', `podman run -d --name plan-blocked-1 --network none -e IN_PORT=7530 ${IMG} sink`);
    await sshOk('beta', `podman create --name plan-blocked-1 --network none -e IN_PORT=7530 ${IMG} sink`);
    const args = ['-F', SSH_CONFIG, '--containers', 'alpha:plan-blocked-1', '--to', 'beta'];
    const plan = await ferry(['--plan', ...args, '--json']);
    expect(plan.exitCode, plan.stderr).toBe(2);
    const parsed = planSchema.parse(JSON.parse(plan.stdout));
    expect(parsed.findings.filter((f) => f.severity === 'blocker').map((f) => f.code)).toContain(
      'name-conflict',
    );
    const human = await ferry(['--plan', ...args]);
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toMatch(/BLOCKERS \(1\)[\s\S]*plan-blocked-1/);
    const run = await ferry(['migrate', ...args, '--yes']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/nothing was touched/);
    expect((await sshOk('alpha', "podman inspect -f '{{.State.Status}}' plan-blocked-1")).trim()).toBe(
      'running',
    );
  });

  it('--group from groups.yaml: its members, destination and ordering; a malformed file is file:line:column', async () => {
    const config = await mkdtemp(join(tmpdir(), 'ferry-xdg-'));
    await mkdir(join(config, 'ferry'));
    const file = join(config, 'ferry', 'groups.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'groups:',
        '  pair:',
        '    members: [alpha:podman/wf-sink-1, alpha:wf-producer-1]',
        '    to: beta',
        '    after:',
        '      - { member: alpha:wf-sink-1, after: alpha:wf-producer-1, note: drain first }',
        '',
      ].join('\n'),
    );
    const r = await ferry(['--plan', '-F', SSH_CONFIG, '--group', 'pair', '--json'], {
      XDG_CONFIG_HOME: config,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = planSchema.parse(JSON.parse(r.stdout));
    // the user's edge puts the producer first, against the usual consumers-first order
    expect(plan.order).toEqual(['alpha/podman/wf-producer-1', 'alpha/podman/wf-sink-1']);
    expect(plan.items.map((i) => i.destination)).toEqual(['beta', 'beta']);
    await writeFile(file, 'version: 1\ngroups:\n  pair:\n    members: [alpha:wf-sink-1]\n    too: beta\n');
    const bad = await ferry(['--plan', '-F', SSH_CONFIG, '--group', 'pair'], { XDG_CONFIG_HOME: config });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^ferry: ${file}:5:5: .*too`));
    const missing = await ferry(['--plan', '-F', SSH_CONFIG, '--group', 'nope'], {
      XDG_CONFIG_HOME: '/nonexistent',
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^ferry: no group named nope/);
  });

  it('-J reaches a host through a jump host, as ssh -J does; --map sends members to different hosts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-jump-'));
    const config = join(dir, 'ssh_config');
    // alpha's second address: the operator machine has no route to 10.99.1.0/24
    await writeFile(
      config,
      [
        `Include ${SSH_CONFIG}`,
        'Host alpha-far',
        '  HostName 10.99.1.11',
        '  ConnectTimeout 3',
        '  User root',
        '  IdentityFile /var/lib/ferry-lab/keys/id_ed25519',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /var/lib/ferry-lab/known_hosts',
        '  HostKeyAlias alpha',
        '',
      ].join('\n'),
    );
    const direct = await ferry(['hosts', '-F', config, '--hosts', 'alpha-far']);
    expect(direct.exitCode).toBe(1);
    const jumped = await ferry(['hosts', '-F', config, '--hosts', 'alpha-far', '-J', 'bastion', '--json']);
    expect(jumped.exitCode, jumped.stderr).toBe(0);
    const host = (JSON.parse(jumped.stdout) as { hosts: { reachable: boolean; containers: number }[] })
      .hosts[0];
    expect(host?.reachable).toBe(true);
    expect(host?.containers).toBeGreaterThan(0);

    const mapped = await ferry([
      '--plan',
      '-F',
      SSH_CONFIG,
      '--containers',
      'alpha:wf-sink-1,alpha:wf-enrich-1',
      '--to',
      'beta',
      '--map',
      'alpha:wf-enrich-1=gamma',
      '--json',
    ]);
    expect(mapped.exitCode, mapped.stderr).toBe(0);
    const plan = planSchema.parse(JSON.parse(mapped.stdout));
    expect(Object.fromEntries(plan.items.map((i) => [i.name, i.destination]))).toEqual({
      'wf-sink-1': 'beta',
      'wf-enrich-1': 'gamma',
    });
    expect(plan.links.map((l) => `${l.from}->${l.to}`).sort()).toEqual(['alpha->beta', 'alpha->gamma']);
    // a map key that is no member is an error, not a silent fall-back to --to
    const stray = await ferry([
      '--plan',
      '-F',
      SSH_CONFIG,
      '--containers',
      'alpha:wf-sink-1',
      '--to',
      'beta',
      '--map',
      'alpha:wf-sink-2=gamma',
    ]);
    expect(stray.exitCode).toBe(1);
    expect(stray.stderr).toMatch(
      /^ferry: the destination map names alpha:wf-sink-2, which is not in the group/,
    );
  });

  it('an unreachable host is one line naming it, with a hint, and exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-plan-'));
    const config = join(dir, 'ssh_config');
    await writeFile(
      config,
      `Include ${SSH_CONFIG}\nHost nowhere\n  HostName 10.99.0.99\n  ConnectTimeout 2\n`,
    );
    const r = await ferry(['--plan', '-F', config, '--containers', 'alpha:wf-sink-1', '--to', 'nowhere']);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^ferry: nowhere: /);
    expect(lines[1]).toMatch(/^hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const unknown = await ferry([
      '--plan',
      '-F',
      SSH_CONFIG,
      '--containers',
      'alpha:no-such-thing',
      '--to',
      'beta',
    ]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(
      /^ferry: alpha: no podman or docker container named no-such-thing\nhint: /,
    );
  });

  it('a reader that goes away (| head -n 1) stops the run safely instead of killing ferry mid-migration', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ferry-epipe-'));
    const r = await execa(
      'bash',
      [
        '-c',
        `XDG_STATE_HOME=${state} ${process.execPath} ${FERRY} migrate -F ${SSH_CONFIG} --compose-project wf --host alpha --to beta --yes --events ndjson | head -n 1 >/dev/null; echo "ferry exit \${PIPESTATUS[0]}"`,
      ],
      { reject: false },
    );
    // 4: the container in flight went on (or back), the others were never frozen
    expect(r.stdout.trim()).toMatch(/^ferry exit [04]$/);
    const onAlpha = await containerNames('alpha', 'podman', 'wf');
    const onBeta = await containerNames('beta', 'podman', 'wf');
    expect([...onAlpha, ...onBeta].sort()).toEqual(STAGES.map((s) => `wf-${s}-1`).sort());
    for (const [host, names] of [
      ['alpha', onAlpha],
      ['beta', onBeta],
    ] as const)
      for (const n of names)
        expect(
          (await sshOk(host, `podman inspect -f '{{.State.Status}}' ${n}`)).trim(),
          `${n} on ${host}`,
        ).toBe('running');
    // and the journal says the run ended: nothing for recover to do
    const recover = await ferry(['recover', '-F', SSH_CONFIG], { XDG_STATE_HOME: state });
    expect(recover.stdout).toMatch(/no interrupted run/);
    // back home for the next test
    await ssh(
      'beta',
      'podman rm -f -t 0 $(podman ps -aq --filter label=io.ferry.lab=workflow) 2>/dev/null; true',
    );
    await lab(['workflow']);
  });

  it('migrate --yes --events ndjson: every line is an event, and the workflow continues on beta', async () => {
    const names = STAGES.map((s) => `wf-${s}-1`);
    const before = await snapshot('alpha', 'podman', names);
    const r = await ferry(['migrate', ...WORKFLOW_TO_BETA, '--yes', '--events', 'ndjson']);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            t: number;
            at: number;
            summary?: { results: { outcome: string }[] };
          },
      );
    expect(events[0]?.type).toBe('run-started');
    const last = events.at(-1);
    expect(last?.type).toBe('run-finished');
    expect(last?.summary?.results.map((x) => x.outcome)).toEqual([
      'migrated',
      'migrated',
      'migrated',
      'migrated',
    ]);
    // timestamps for a Gantt chart: never going back
    for (let k = 1; k < events.length; k++)
      expect(events[k]?.t).toBeGreaterThanOrEqual(events[k - 1]?.t ?? 0);
    expect(await containerNames('alpha', 'podman', 'wf')).toEqual([]);
    await expectContinuity('beta', 'podman', before, 'wf-sink-1');
  });
});
