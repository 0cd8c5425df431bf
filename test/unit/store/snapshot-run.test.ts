import { describe, expect, it } from 'vitest';
import type { HostInventory, RuntimeInventory } from '../../../src/inventory/model.ts';
import { initialRun, reduceRun, runFinished } from '../../../src/store/run.ts';
import { hostRefresh } from '../../../src/store/snapshot.ts';
import { svc } from '../support/containers.ts';
import { FakeRun, planFor } from '../ui/fakes.ts';

function host(over: Partial<HostInventory> = {}): HostInventory {
  const rt: RuntimeInventory = {
    kind: 'podman',
    // biome-ignore lint/suspicious/noExplicitAny: facts are not read by hostRefresh
    facts: {} as any,
    containers: [svc('wf', 'sink', '', { host: 'alpha' }), svc('wf', 'parse', '', { host: 'alpha' })],
    images: [],
    networks: [],
    volumes: [],
    pods: [],
    stale: false,
    refreshedAt: 1,
  };
  return {
    host: 'alpha',
    stale: false,
    facts: null,
    runtimes: [rt],
    problems: [],
    attemptedAt: 1,
    refreshedAt: 1,
    durationMs: 80,
    ...over,
  };
}

describe('hostRefresh', () => {
  it('rows carry the compose project as the group', () => {
    const r = hostRefresh(host());
    expect(r.status).toMatchObject({ state: 'ok', containers: 2, reason: null });
    expect(r.containers.map((c) => [c.key, c.group, c.stale])).toEqual([
      ['alpha/podman/wf-sink-1', 'wf', false],
      ['alpha/podman/wf-parse-1', 'wf', false],
    ]);
  });

  it("a changed host key is refused with the SSH layer's words, not the probe's excerpt", () => {
    const message =
      'alpha: REMOTE HOST IDENTIFICATION HAS CHANGED for alpha (port 22): the server offered ssh-ed25519 SHA256:new, but /k:3 records ssh-ed25519 SHA256:old. Someone could be eavesdropping, or the host was reinstalled; refusing to connect.';
    const r = hostRefresh(
      host({
        stale: true,
        refreshedAt: null,
        runtimes: [],
        problems: [
          { severity: 'error', code: 'unreachable', message: 'alpha: could not run …', host: 'alpha' },
        ],
      }),
      { code: 'HOST_KEY_CHANGED', message, hint: 'ssh-keygen -R alpha' },
    );
    expect(r.status).toMatchObject({ state: 'refused', reason: message, hint: 'ssh-keygen -R alpha' });
  });

  it('a host that answered before and fails now is stale and keeps its rows, marked stale', () => {
    const h = host({
      stale: true,
      problems: [{ severity: 'error', code: 'timeout', message: 'alpha: timed out', host: 'alpha' }],
    });
    const r = hostRefresh(h);
    expect(r.status).toMatchObject({ state: 'stale', reason: 'alpha: timed out' });
    expect(r.containers.every((c) => c.stale)).toBe(true);
  });
});

describe('run state', () => {
  it('folds stages, bytes, rollbacks and the end into per-container rows and a log', () => {
    const plan = planFor({
      members: [
        { host: 'alpha', name: 'a' },
        { host: 'alpha', name: 'b' },
      ],
      to: 'beta',
      // biome-ignore lint/suspicious/noExplicitAny: options are passed through untouched
      options: { strategy: 'pipelined' } as any,
    });
    let s = initialRun(plan, 0);
    const fake = new FakeRun();
    fake.on((e) => {
      s = reduceRun(s, e);
    });
    fake.emit({
      type: 'run-started',
      runId: 'r',
      strategy: 'pipelined',
      order: ['alpha/podman/a'],
      items: [],
    });
    fake.emit({ type: 'stage-started', id: 'alpha/podman/a', stage: 'checkpoint' });
    fake.emit({ type: 'stage-started', id: 'alpha/podman/a', stage: 'transfer' });
    fake.emit({ type: 'bytes', id: 'alpha/podman/a', bytes: 1000, rateBytesPerSec: 500 });
    expect(s.items['alpha/podman/a']).toMatchObject({ phase: 'transfer', bytes: 1000, startT: 200 });
    fake.emit({ type: 'error', id: 'alpha/podman/b', stage: 'restore', message: 'restore failed' });
    fake.emit({ type: 'rollback', id: 'alpha/podman/b', ok: true, message: 'b runs on alpha again' });
    fake.emit({
      type: 'container-done',
      id: 'alpha/podman/b',
      outcome: 'rolled-back',
      message: 'restore failed',
    });
    fake.emit({ type: 'container-done', id: 'alpha/podman/a', outcome: 'migrated', downtimeMs: 700 });
    expect(s.items['alpha/podman/a']).toMatchObject({ phase: 'done', outcome: 'migrated', downtimeMs: 700 });
    expect(s.items['alpha/podman/b']).toMatchObject({ outcome: 'rolled-back' });
    expect(s.log.map((l) => l.level)).toEqual(['info', 'error', 'warning', 'warning']);
    expect(runFinished(s)).toBe(false);
    fake.finish({ strategy: 'pipelined', makespanMs: 900, results: [] });
    expect(runFinished(s)).toBe(true);
  });
});
