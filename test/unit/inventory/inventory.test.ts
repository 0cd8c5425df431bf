import { describe, expect, it } from 'vitest';
import { Inventory } from '../../../src/inventory/inventory.ts';
import { countingExec, type HostExec } from '../../../src/runtime/exec.ts';
import { loadScript, replay, withSection } from '../support/fixtures.ts';

/** A host whose answers a test can change between refreshes. */
function scriptedHost(fixture: string) {
  const f = loadScript(fixture);
  let mode: 'ok' | 'reject' | 'hang' | 'ssh255' | 'dockerBroken' = 'ok';
  const exec: HostExec = (argv) => {
    switch (mode) {
      case 'reject':
        return Promise.reject(new Error('connect ECONNREFUSED 10.99.0.12:22'));
      case 'hang':
        return new Promise(() => {});
      case 'ssh255':
        return Promise.resolve({
          stdout: '',
          stderr: 'ssh: connect to host beta port 22: No route to host\n',
          code: 255,
        });
      case 'dockerBroken':
        return Promise.resolve(
          replay(f, argv, (s) => withSection(s, 'docker.containers', 'not json at all')),
        );
      default:
        return Promise.resolve(replay(f, argv));
    }
  };
  const counted = countingExec(exec);
  return { exec: counted.exec, calls: counted.calls, set: (m: typeof mode) => (mode = m) };
}

describe('inventory refresh', () => {
  it('costs one exec per host and lists every host and runtime', async () => {
    const a = scriptedHost('probe-alpha');
    const b = scriptedHost('probe-beta');
    const inv = new Inventory([
      { name: 'alpha', exec: a.exec },
      { name: 'beta', exec: b.exec },
    ]);
    const hosts = await inv.refresh();
    expect([a.calls(), b.calls()]).toEqual([1, 1]);
    expect(hosts.map((h) => [h.host, h.stale, h.runtimes.map((r) => r.kind)])).toEqual([
      ['alpha', false, ['podman', 'docker']],
      ['beta', false, ['podman', 'docker']],
    ]);
    const names = inv.containers().map((c) => c.container.name);
    expect(names).toEqual(expect.arrayContaining(['wf-sink-1', 'wfd-sink-1', 't5-static', 't5-dstatic']));
    expect(inv.find('alpha/podman/wf-sink-1')?.stale).toBe(false);
    expect(inv.host('alpha')?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a failing host keeps its last good data, stale, with the error; the others go on', async () => {
    const a = scriptedHost('probe-alpha');
    const b = scriptedHost('probe-beta');
    const inv = new Inventory([
      { name: 'alpha', exec: a.exec },
      { name: 'beta', exec: b.exec },
    ]);
    await inv.refresh();
    const before = inv.host('beta')?.runtimes[0]?.containers.length;
    b.set('reject');
    await inv.refresh();
    const beta = inv.host('beta');
    expect(beta?.stale).toBe(true);
    expect(beta?.runtimes.every((r) => r.stale)).toBe(true);
    expect(beta?.runtimes[0]?.containers.length).toBe(before);
    expect(beta?.problems).toEqual([
      expect.objectContaining({ code: 'unreachable', message: expect.stringContaining('ECONNREFUSED') }),
    ]);
    expect(inv.find('beta/podman/t5-static')?.stale).toBe(true);
    expect(inv.host('alpha')?.stale).toBe(false);
    expect(inv.find('alpha/podman/wf-sink-1')?.stale).toBe(false);

    b.set('ssh255');
    await inv.refresh(['beta']);
    expect(inv.host('beta')?.problems[0]?.message).toMatch(
      /beta: the probe script could not reach the host \(exit 255\): ssh: connect to host beta/,
    );

    b.set('ok');
    await inv.refresh(['beta']);
    expect(inv.host('beta')?.stale).toBe(false);
  });

  it('a hanging transport is given up after the time limit, not waited on', async () => {
    const b = scriptedHost('probe-beta');
    b.set('hang');
    const inv = new Inventory([{ name: 'beta', exec: b.exec, timeoutMs: 200 }]);
    const t0 = performance.now();
    const [h] = await inv.refresh();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(h?.stale).toBe(true);
    expect(h?.problems[0]?.message).toMatch(/^beta: could not run the probe script: no answer within \d+ s/);
  });

  it('one runtime failing keeps its own last data stale; the other runtime is fresh', async () => {
    const b = scriptedHost('probe-beta');
    const inv = new Inventory([{ name: 'beta', exec: b.exec }]);
    await inv.refresh();
    b.set('dockerBroken');
    const [h] = await inv.refresh();
    const docker = h?.runtimes.find((r) => r.kind === 'docker');
    const podman = h?.runtimes.find((r) => r.kind === 'podman');
    expect(h?.stale).toBe(false);
    expect(docker?.stale).toBe(true);
    expect(docker?.containers.map((c) => c.name)).toContain('t5-dstatic');
    expect(podman?.stale).toBe(false);
    expect(h?.problems).toEqual([
      expect.objectContaining({ code: 'malformed-output', runtime: 'docker', severity: 'error' }),
    ]);
    expect(inv.find('beta/docker/t5-dstatic')?.stale).toBe(true);
    expect(inv.find('beta/podman/t5-static')?.stale).toBe(false);
  });

  it('shares a refresh already running for the same host', async () => {
    const a = scriptedHost('probe-alpha');
    const inv = new Inventory([{ name: 'alpha', exec: a.exec }]);
    await Promise.all([inv.refreshHost('alpha'), inv.refreshHost('alpha'), inv.refresh()]);
    expect(a.calls()).toBe(1);
    await expect(inv.refreshHost('nope')).rejects.toThrow(/unknown host/);
  });
});
