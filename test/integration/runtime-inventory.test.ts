// Issue 5 against the real lab, over real OpenSSH: inventory of every host
// (gamma through the bastion, beta through sudo and without it), group
// suggestions, robustness, and the cost of a refresh with 50 containers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.ts';
import type { Container, HostInventory } from '../../src/inventory/model.ts';
import { groupDag, groupFromSuggestion } from '../../src/plan/dag.ts';
import { suggestGroupsFromInventory } from '../../src/plan/groups.ts';
import { dockerRuntime } from '../../src/runtime/docker.ts';
import { podmanRuntime } from '../../src/runtime/podman.ts';
import { SKIP_LAB, ssh, sshOk } from '../support/lab.ts';
import { labTarget } from '../support/ssh-exec.ts';

const IMG = 'localhost/ferry-workload:latest';
const STAGES = ['producer', 'parse', 'enrich', 'sink'];

const containersOf = (h: HostInventory | undefined, kind: 'podman' | 'docker'): Container[] =>
  h?.runtimes.find((r) => r.kind === kind)?.containers ?? [];

async function cleanup() {
  await Promise.all([
    ssh('beta', 'podman rm -f -t 0 t5-op-probe >/dev/null 2>&1; true'),
    ssh('gamma', 'podman rm -f -t 0 t5-gamma >/dev/null 2>&1; rm -rf /tmp/t5-rootfs /tmp/t5-bin; true'),
  ]);
}

describe.skipIf(SKIP_LAB)('inventory of the lab', () => {
  beforeAll(async () => {
    await cleanup();
    // gamma has no image on purpose: a container from a bare rootfs keeps it that way
    await sshOk(
      'gamma',
      'mkdir -p /tmp/t5-rootfs/bin && cp /bin/busybox /tmp/t5-rootfs/bin/ && podman run -d --name t5-gamma --label com.docker.compose.project=t5g --rootfs /tmp/t5-rootfs /bin/busybox sleep 3600',
    );
    await sshOk('beta', `podman run -d --name t5-op-probe --network none -e IN_PORT=7520 ${IMG} sink`);
  });
  afterAll(cleanup);

  it('every host in one round trip each; the sample workflow with its labels; the suggested group is the workflow', async () => {
    const hosts = ['alpha', 'beta', 'gamma', 'bastion'].map((h) => labTarget(h));
    const inv = new Inventory(hosts.map((h) => h.target));
    // other test runs may be moving or restarting the workflow right now: refresh
    // until each runtime's four stages are up together on one host
    const deadline = Date.now() + 120_000;
    const timings: number[] = [];
    const complete = (kind: 'podman' | 'docker') =>
      inv.hosts().find(
        (h) =>
          containersOf(h, kind).filter(
            // running, with the ballast allocated (a stage just started shows 0 bytes)
            (c) =>
              c.labels['io.ferry.lab'] === 'workflow' && c.state === 'running' && (c.memoryBytes ?? 0) > 30e6,
          ).length === STAGES.length,
      );
    for (;;) {
      for (const h of hosts) h.reset();
      const t0 = performance.now();
      await inv.refresh();
      timings.push(performance.now() - t0);
      expect(hosts.map((h) => h.calls())).toEqual([1, 1, 1, 1]);
      if ((complete('podman') && complete('docker')) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    console.log(
      `[t5] refresh of all lab hosts (alpha, beta, gamma via bastion, bastion), in parallel: ${timings[0]?.toFixed(0)} ms; per host: ${inv
        .hosts()
        .map((h) => `${h.host} ${h.durationMs?.toFixed(0)} ms`)
        .join(
          ', ',
        )}${timings.length > 1 ? ` (${timings.length} refreshes while the workflow was moving)` : ''}`,
    );
    for (const h of inv.hosts()) {
      expect(h.stale, `${h.host}: ${JSON.stringify(h.problems)}`).toBe(false);
      expect(h.facts?.criu.status).toBe('ok');
      expect(h.problems.filter((p) => p.severity === 'error')).toEqual([]);
    }

    for (const [kind, project] of [
      ['podman', 'wf'],
      ['docker', 'wfd'],
    ] as const) {
      const home = complete(kind);
      expect(home, `the ${project} workflow is not running on any one host`).toBeDefined();
      const wf = containersOf(home, kind).filter((c) => c.labels['io.ferry.lab'] === 'workflow');
      expect(wf.map((c) => c.name).sort()).toEqual(STAGES.map((s) => `${project}-${s}-1`).sort());
      for (const [i, stage] of STAGES.entries()) {
        const c = wf.find((x) => x.name === `${project}-${stage}-1`);
        expect(c).toMatchObject({
          state: 'running',
          networkMode: 'host',
          image: { name: IMG },
          labels: {
            'com.docker.compose.project': project,
            'com.docker.compose.service': stage,
            'com.docker.compose.container-number': '1',
          },
          compose: { project, service: stage },
        });
        // producer depends on parse, parse on enrich, enrich on sink
        const next = STAGES[i + 1];
        expect(c?.compose?.dependsOn).toEqual(
          next ? [{ service: next, condition: 'service_started', restart: false }] : [],
        );
        expect(c?.memoryBytes).toBeGreaterThan(30e6);
      }
      const groups = suggestGroupsFromInventory(inv.hosts());
      const g = groups.find(
        (x) => x.host === home?.host && x.reasons.some((r) => r.kind === 'compose' && r.project === project),
      );
      expect(g?.members).toEqual(wf.map((c) => `${home?.host}/${kind}/${c.name}`).sort());
      const dag = groupDag(
        groupFromSuggestion(g ?? { id: '', label: '', members: [] }),
        inv.containers().map((c) => c.container),
      );
      if (!dag.ok) throw new Error(dag.error.message);
      expect(dag.dag.order.map((k) => k.split('/')[2])).toEqual(
        [...STAGES].reverse().map((s) => `${project}-${s}-1`),
      );
    }
  });

  it('gamma, behind the bastion, is inventoried like any other host', async () => {
    const gamma = labTarget('gamma');
    const inv = new Inventory([gamma.target]);
    const [h] = await inv.refresh();
    expect(gamma.calls()).toBe(1);
    expect(h?.stale).toBe(false);
    expect(h?.facts).toMatchObject({
      user: 'root',
      criu: { status: 'ok', version: expect.stringMatching(/^4\./) },
    });
    expect(h?.facts?.runtimes.map((r) => [r.kind, r.status])).toEqual([
      ['podman', 'ok'],
      ['docker', 'ok'],
    ]);
    const c = containersOf(h, 'podman').find((x) => x.name === 't5-gamma');
    expect(c).toMatchObject({ host: 'gamma', state: 'running', compose: { project: 't5g' } });
    expect(h?.runtimes.find((r) => r.kind === 'podman')?.images).toEqual([]);
  });

  it('beta-op (not root) works through sudo -n; beta-guest gets a clear sudo finding, quickly', async () => {
    const op = labTarget('beta-op');
    const guest = labTarget('beta-guest');
    const inv = new Inventory([op.target, guest.target]);
    const t0 = performance.now();
    await inv.refresh();
    expect(performance.now() - t0).toBeLessThan(20_000);
    const o = inv.host('beta-op');
    expect(o?.facts).toMatchObject({
      user: 'ferryop',
      sudo: { needed: true, used: true, ok: true },
      criu: { status: 'ok' },
    });
    expect(o?.problems).toEqual([]);
    expect(containersOf(o, 'podman').map((c) => c.name)).toContain('t5-op-probe');

    const g = inv.host('beta-guest');
    expect(g?.facts?.sudo).toMatchObject({ needed: true, ok: false });
    const sudo = g?.problems.find((p) => p.code === 'sudo-denied');
    expect(sudo?.message).toMatch(
      /^beta-guest: user ferryguest cannot run sudo -n \(sudo: a password is required\)/,
    );
    // what then failed says which command and why
    expect(g?.problems.filter((p) => p.code === 'permission-denied').map((p) => p.command)).toEqual([
      'podman info --format json',
      "docker info --format '{{json .}}'",
    ]);
    expect(g?.runtimes.every((r) => r.stale && r.containers.length === 0)).toBe(true);
    expect([op.calls(), guest.calls()]).toEqual([1, 1]);
  });

  it('a hanging, a garbage-printing and a missing runtime binary: per-host errors, the other hosts unaffected', async () => {
    await sshOk(
      'gamma',
      [
        'mkdir -p /tmp/t5-bin',
        `printf '#!/bin/sh\\nsleep 60\\n' >/tmp/t5-bin/podman-hang`,
        `printf '#!/bin/sh\\necho "[{ this is not json"\\n' >/tmp/t5-bin/docker-garbage`,
        'chmod +x /tmp/t5-bin/*',
      ].join(' && '),
    );
    const broken = labTarget('gamma', {
      commandTimeoutSec: 2,
      runtimes: [
        podmanRuntime({ binary: '/tmp/t5-bin/podman-hang' }),
        dockerRuntime({ binary: '/tmp/t5-bin/docker-garbage' }),
      ],
    });
    const missing = labTarget('gamma', {
      runtimes: [podmanRuntime({ binary: '/opt/t5/nope/podman', required: true })],
    });
    const alpha = labTarget('alpha');
    const inv = new Inventory([
      alpha.target,
      { ...broken.target, name: 'gamma-broken' },
      { ...missing.target, name: 'gamma-missing' },
    ]);
    const t0 = performance.now();
    await inv.refresh();
    expect(performance.now() - t0).toBeLessThan(15_000);

    const b = inv.host('gamma-broken');
    expect(b?.stale).toBe(false);
    const hang = b?.problems.find((p) => p.runtime === 'podman');
    expect(hang).toMatchObject({ code: 'timeout', command: '/tmp/t5-bin/podman-hang info --format json' });
    expect(hang?.message).toMatch(/^gamma-broken: `\/tmp\/t5-bin\/podman-hang info --format json` timed out/);
    const garbage = b?.problems.find((p) => p.runtime === 'docker');
    expect(garbage).toMatchObject({ code: 'malformed-output' });
    expect(garbage?.message).toContain('[{ this is not json');
    // CRIU and the rest of the facts are still there
    expect(b?.facts?.criu.status).toBe('ok');

    const m = inv.host('gamma-missing');
    expect(m?.problems[0]).toMatchObject({
      code: 'missing-binary',
      command: '/opt/t5/nope/podman info --format json',
    });
    expect(m?.problems[0]?.message).toMatch(/not found/);

    expect(inv.host('alpha')?.stale).toBe(false);
    expect(inv.host('alpha')?.problems).toEqual([]);
    expect(inv.host('alpha')?.runtimes.map((r) => [r.kind, r.facts.status, r.stale])).toEqual([
      ['podman', 'ok', false],
      ['docker', 'ok', false],
    ]);
    expect(alpha.calls()).toBe(1);
  });
});

describe.skipIf(SKIP_LAB)('a host with 50 containers', () => {
  const P = 30;
  const D = 20;
  const clean = () =>
    ssh(
      'beta',
      `podman ps -aq --filter name=^t5-many- | xargs -r podman rm -f -t 0 >/dev/null 2>&1; docker ps -aq --filter name=t5-many- | xargs -r docker rm -f >/dev/null 2>&1; true`,
    );
  beforeAll(async () => {
    await clean();
    const seq = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1).padStart(2, '0')).join(' ');
    await sshOk(
      'beta',
      [
        `printf '%s\\n' ${seq(P)} | xargs -P 6 -I{} podman run -d --name t5-many-p{} --network none --label t5=many --entrypoint /bin/sleep ${IMG} 3600 >/dev/null`,
        `printf '%s\\n' ${seq(D)} | xargs -P 6 -I{} docker run -d --name t5-many-d{} --network none --label t5=many --entrypoint /bin/sleep ${IMG} 3600 >/dev/null`,
      ].join(' && '),
    );
  });
  afterAll(clean);

  it('a refresh costs exactly one round trip, and is timed', async () => {
    const beta = labTarget('beta');
    const inv = new Inventory([beta.target]);
    // the first refresh warms nothing on the host; time a few and keep them all
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      beta.reset();
      const t0 = performance.now();
      const [h] = await inv.refresh();
      times.push(performance.now() - t0);
      expect(beta.calls()).toBe(1);
      expect(h?.problems.filter((p) => p.severity === 'error')).toEqual([]);
    }
    const h = inv.host('beta');
    const many = [...containersOf(h, 'podman'), ...containersOf(h, 'docker')].filter(
      (c) => c.labels.t5 === 'many',
    );
    expect(many).toHaveLength(P + D);
    expect(many.every((c) => c.state === 'running' && c.memoryBytes !== null && c.memoryBytes > 0)).toBe(
      true,
    );
    const total = containersOf(h, 'podman').length + containersOf(h, 'docker').length;
    console.log(
      `[t5] refresh of beta with ${total} containers (${P} podman + ${D} docker of ours): ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (1 round trip each)`,
    );
  });
});
