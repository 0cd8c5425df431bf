// Preflight against the real lab: each problem set up on purpose, found
// before anything is frozen. Two round trips per (container, destination).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeProbe } from '../../src/inventory/inventory.ts';
import type { Container } from '../../src/inventory/model.ts';
import { type Finding, type PreflightReport, preflight, preflightGroup } from '../../src/plan/preflight.ts';
import { probeHost } from '../../src/runtime/probe.ts';
import { lab, SKIP_LAB, ssh, sshOk } from '../support/lab.ts';
import { LAB_ALLOW } from '../support/migrate.ts';
import { labTarget } from '../support/ssh-exec.ts';

const IMG = 'localhost/ferry-workload:latest';
// UDP 7510: the host-network sink's port; TCP 7610: a published port
const ALPHA_SETUP = [
  'mkdir -p /tmp/t5-pf-bind',
  `podman run -d --name t5-pf-a --network host -v /tmp/t5-pf-bind:/data -e IN_PORT=7510 ${IMG} sink`,
  `podman run -d --name t5-pf-pub -p 7610:7600 -e IN_PORT=7511 ${IMG} sink`,
].join(' && ');
const BETA_SETUP = [
  // same name as alpha's container, not started: a name conflict and nothing else
  `podman create --name t5-pf-a ${IMG} sink`,
  // holds UDP 7510 in beta's host network
  `podman run -d --name t5-pf-udp --network host -e IN_PORT=7510 ${IMG} sink`,
  // holds TCP 7610
  `podman run -d --name t5-pf-tcp -p 7610:7600 -e IN_PORT=7512 ${IMG} sink`,
].join(' && ');

async function cleanup() {
  await Promise.all([
    ssh('alpha', 'podman rm -f -t 0 t5-pf-a t5-pf-pub >/dev/null 2>&1; rm -rf /tmp/t5-pf-bind; true'),
    ssh('beta', 'podman rm -f -t 0 t5-pf-a t5-pf-udp t5-pf-tcp >/dev/null 2>&1; true'),
  ]);
}

async function container(host: string, name: string): Promise<Container> {
  const inv = mergeProbe(undefined, await probeHost(labTarget(host).target));
  const c = inv.runtimes.flatMap((r) => r.containers).find((x) => x.name === name);
  if (!c) throw new Error(`${name} is not on ${host}`);
  return c;
}

const codes = (r: PreflightReport) => r.findings.map((f) => `${f.severity}:${f.code}`).sort();
const find = (r: PreflightReport, code: string): Finding | undefined =>
  r.findings.find((f) => f.code === code);

async function run(c: Container, from: string, to: string) {
  const src = labTarget(from);
  const dst = labTarget(to);
  const r = await preflight({ container: c, source: src.target, destination: dst.target, ...LAB_ALLOW });
  // one round trip to each side
  expect([src.calls(), dst.calls()]).toEqual([1, 1]);
  console.log(
    `[t5] preflight ${c.name} ${from} -> ${to}: ${r.durationMs.toFixed(0)} ms, ${codes(r).join(' ') || 'no findings'}`,
  );
  return r;
}

describe.skipIf(SKIP_LAB)('preflight on the lab', () => {
  let a: Container;
  let pub: Container;
  beforeAll(async () => {
    await cleanup();
    await sshOk('alpha', ALPHA_SETUP);
    await sshOk('beta', BETA_SETUP);
    [a, pub] = await Promise.all([container('alpha', 't5-pf-a'), container('alpha', 't5-pf-pub')]);
    // the sink binds its UDP port a moment after start
    await sshOk(
      'beta',
      'for i in $(seq 50); do ss -lunH | grep -q ":7510 " && exit 0; sleep 0.2; done; exit 1',
    );
    await sshOk(
      'alpha',
      'for i in $(seq 50); do ss -lunH | grep -q ":7510 " && exit 0; sleep 0.2; done; exit 1',
    );
  });
  afterAll(async () => {
    await lab(['criu', 'gamma', 'ok']);
    await cleanup();
  });

  it('alpha -> beta: name conflict, UDP port in use, missing bind path; CPU checked on beta', async () => {
    const r = await run(a, 'alpha', 'beta');
    expect(r.ok).toBe(false);
    expect(find(r, 'name-conflict')?.message).toMatch(
      /^beta already has a podman container named t5-pf-a \([0-9a-f]{12}, created\)$/,
    );
    expect(find(r, 'port-in-use')?.message).toBe(
      'udp port 7510 is already in use on beta (127.0.0.1:7510); t5-pf-a listens on udp 127.0.0.1:7510 (host network)',
    );
    expect(find(r, 'bind-source-missing')?.message).toBe(
      'bind mount /tmp/t5-pf-bind (-> /data) does not exist on beta',
    );
    // beta has the image, CRIU works, the CPU check ran on beta and passed
    expect(codes(r)).not.toContain('warning:image-missing');
    expect(r.input?.destinationEvidence.cpuCheck).toEqual({ ok: true, output: expect.any(String) });
    expect(codes(r)).toEqual([
      'blocker:bind-source-missing',
      'blocker:name-conflict',
      'blocker:port-in-use',
      // t5-pf-a runs on the host network: allowed (LAB_ALLOW, as FERRY_ALLOW does for the CLI)
      'warning:escape',
    ]);
  });

  it('a group shares its two round trips, and each member still gets its own findings', async () => {
    const src = labTarget('alpha');
    const dst = labTarget('beta');
    const [ra, rpub] = await preflightGroup(
      [a, pub].map((c) => ({ container: c, source: src.target, destination: dst.target, ...LAB_ALLOW })),
    );
    expect([src.calls(), dst.calls()]).toEqual([1, 1]);
    // the same verdicts as one at a time
    expect(ra && codes(ra)).toEqual([
      'blocker:bind-source-missing',
      'blocker:name-conflict',
      'blocker:port-in-use',
      'warning:escape',
    ]);
    expect(rpub && find(rpub, 'port-in-use')?.message).toMatch(/^tcp port 7610 is already in use on beta/);
    expect(rpub && codes(rpub)).not.toContain('blocker:name-conflict');
    // each read its own processes
    expect(ra?.input?.sourceEvidence.pid).not.toBe(rpub?.input?.sourceEvidence.pid);
    expect(ra?.input?.destinationEvidence.cpuCheck).toEqual({ ok: true, output: expect.any(String) });
  });

  it('a published TCP port in use on the destination', async () => {
    const r = await run(pub, 'alpha', 'beta');
    expect(find(r, 'port-in-use')?.message).toMatch(
      /^tcp port 7610 is already in use on beta \(.*:7610\); t5-pf-pub published 7610\/tcp$/,
    );
  });

  it('alpha -> gamma (through the bastion): the image is missing there, a warning', async () => {
    const r = await run(a, 'alpha', 'gamma');
    expect(find(r, 'image-missing')).toMatchObject({
      severity: 'warning',
      host: 'gamma',
      message: expect.stringMatching(
        /^image localhost\/ferry-workload:latest \([0-9a-f]{12}\) is not on gamma: it will be transferred$/,
      ),
    });
    expect(codes(r)).toEqual(['blocker:bind-source-missing', 'warning:escape', 'warning:image-missing']);
  });

  it('through sudo (beta-op) the same conflicts are found', async () => {
    const r = await run(a, 'alpha', 'beta-op');
    expect(r.input?.destination.facts?.sudo).toMatchObject({ used: true, ok: true });
    expect(r.input?.destinationEvidence.cpuCheck?.ok).toBe(true);
    expect(codes(r)).toEqual([
      'blocker:bind-source-missing',
      'blocker:name-conflict',
      'blocker:port-in-use',
      // t5-pf-a runs on the host network: allowed (LAB_ALLOW, as FERRY_ALLOW does for the CLI)
      'warning:escape',
    ]);
  });

  it('a broken CRIU on the destination (lab criu gamma broken)', async () => {
    const broken = await lab(['criu', 'gamma', 'broken']);
    expect(broken.exitCode, broken.stderr).toBe(0);
    try {
      const r = await run(a, 'alpha', 'gamma');
      expect(find(r, 'criu-broken')).toMatchObject({ severity: 'blocker', host: 'gamma' });
      expect(find(r, 'criu-broken')?.message).toContain('criu: simulated failure');
      expect(codes(r)).not.toContain('blocker:cpu-incompatible');
      expect(codes(r)).toEqual([
        'blocker:bind-source-missing',
        'blocker:criu-broken',
        'warning:escape',
        'warning:image-missing',
      ]);
    } finally {
      await lab(['criu', 'gamma', 'ok']);
    }
  });
});
