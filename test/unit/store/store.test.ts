import { describe, expect, it, vi } from 'vitest';
import { optionsFrom } from '../../../src/cli/request.ts';
import { type AppStore, createAppStore, currentRow, visibleRows } from '../../../src/store/store.ts';
import type { PlanRequest } from '../../../src/store/types.ts';
import { messageLine } from '../../../src/ui/keymap.ts';
import { cliArgs } from '../support/cli.ts';
import { badHost, FakeBackend, labInventory, okHost, planFor, row } from '../ui/fakes.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));
/** The message as the footer shows it: the keys it names from the keymap. */
const shown = (store: AppStore) => messageLine(store.getState().message?.text ?? '');

async function loaded(backend = new FakeBackend()): Promise<{ store: AppStore; backend: FakeBackend }> {
  const store = createAppStore(backend, { version: '9.9.9' });
  await store.getState().refresh();
  return { store, backend };
}

const names = (store: AppStore) => visibleRows(store.getState()).map((r) => r.name);

describe('inventory', () => {
  it('every host starts connecting, then shows its containers in host order', async () => {
    const backend = new FakeBackend();
    const store = createAppStore(backend, { version: '1' });
    expect(Object.values(store.getState().hosts).map((h) => h.state)).toEqual([
      'connecting',
      'connecting',
      'connecting',
    ]);
    backend.holdHosts.add('alpha');
    const done = store.getState().refresh();
    await tick();
    // beta and gamma answered; alpha is still in flight
    expect(store.getState().refreshing).toEqual(['alpha']);
    expect(names(store)).toEqual(['t5-gamma']);
    backend.release('alpha');
    await done;
    expect(store.getState().refreshing).toEqual([]);
    expect(store.getState().refreshes).toBe(1);
    expect(names(store)[0]).toBe('wfd-enrich-1');
    expect(names(store).at(-1)).toBe('t5-gamma');
    expect(store.getState().containers).toHaveLength(10);
  });

  it('a refresh never overlaps the previous one: a second call joins it, the timer waits for its end', async () => {
    vi.useFakeTimers();
    try {
      const backend = new FakeBackend();
      const store = createAppStore(backend, { version: '1' });
      backend.holdHosts.add('alpha');
      const stop = store.getState().autoRefresh(1000);
      await vi.advanceTimersByTimeAsync(0);
      expect(backend.refreshCalls.sort()).toEqual(['alpha', 'beta', 'gamma']);
      // alpha hangs for 10 refresh periods: nothing else is started meanwhile
      void store.getState().refresh();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(backend.refreshCalls).toHaveLength(3);
      expect(store.getState().refreshing).toEqual(['alpha']);
      backend.release('alpha');
      await vi.advanceTimersByTimeAsync(0);
      expect(store.getState().refreshes).toBe(1);
      // the next one comes a full period after the end of the last
      await vi.advanceTimersByTimeAsync(999);
      expect(backend.refreshCalls).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(1);
      expect(backend.refreshCalls).toHaveLength(6);
      stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(backend.refreshCalls).toHaveLength(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an unreachable host keeps its reason; a backend that rejects becomes a host problem, not a crash', async () => {
    const inv = labInventory();
    inv.gamma = badHost('gamma', 'refused', 'gamma: REMOTE HOST IDENTIFICATION HAS CHANGED for gamma');
    const backend = new FakeBackend(inv);
    backend.refreshHost = async (h) => {
      if (h === 'beta') throw new Error('beta: connection refused');
      return structuredClone(inv[h] ?? badHost(h, 'unreachable', '?'));
    };
    const { store } = await loaded(backend);
    const hosts = store.getState().hosts;
    expect(hosts.gamma?.state).toBe('refused');
    expect(hosts.gamma?.reason).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(hosts.beta).toMatchObject({ state: 'unreachable', reason: 'beta: connection refused' });
    expect(hosts.alpha?.state).toBe('ok');
  });

  it('the cursor stays on its container when a refresh adds rows above it', async () => {
    const { store, backend } = await loaded();
    store.getState().moveTo(5);
    const before = currentRow(store.getState())?.key;
    backend.inventory.alpha = okHost('alpha', [
      row('alpha', 'aaa-new'),
      row('alpha', 'aab-new'),
      ...(backend.inventory.alpha?.containers ?? []),
    ]);
    await store.getState().refresh();
    expect(currentRow(store.getState())?.key).toBe(before);
    expect(store.getState().cursor).toBe(7);
  });
});

describe('navigation and filter', () => {
  it('moves within bounds', async () => {
    const { store } = await loaded();
    store.getState().move(-5);
    expect(store.getState().cursor).toBe(0);
    store.getState().move(100);
    expect(store.getState().cursor).toBe(9);
    store.getState().moveTo(3);
    expect(currentRow(store.getState())?.name).toBe('wfd-sink-1');
  });

  it('filters by any column, every word must match; esc clears', async () => {
    const { store } = await loaded();
    store.getState().startFilter();
    store.getState().setFilter('wfd');
    expect(names(store)).toEqual(['wfd-enrich-1', 'wfd-parse-1', 'wfd-producer-1', 'wfd-sink-1']);
    store.getState().setFilter('podman running wf');
    expect(names(store)).toEqual(['wf-enrich-1', 'wf-parse-1', 'wf-producer-1', 'wf-sink-1']);
    store.getState().setFilter('gamma');
    expect(names(store)).toEqual(['t5-gamma']);
    store.getState().setFilter('exited');
    expect(names(store)).toEqual(['lonely']);
    store.getState().endFilter(true);
    expect(store.getState()).toMatchObject({ filter: 'exited', filterEditing: false });
    store.getState().back();
    expect(store.getState().filter).toBe('');
    expect(names(store)).toHaveLength(10);
  });
});

describe('marks and groups', () => {
  it('space toggles a mark and moves down; a marks the compose group on that host and runtime; c clears', async () => {
    const { store } = await loaded();
    store.getState().toggleMark();
    expect([...store.getState().marked]).toEqual(['alpha/docker/wfd-enrich-1']);
    expect(store.getState().cursor).toBe(1);
    store.getState().moveTo(0);
    store.getState().toggleMark();
    expect(store.getState().marked.size).toBe(0);
    store.getState().moveTo(6); // wf-parse-1
    store.getState().markGroup();
    expect([...store.getState().marked].sort()).toEqual([
      'alpha/podman/wf-enrich-1',
      'alpha/podman/wf-parse-1',
      'alpha/podman/wf-producer-1',
      'alpha/podman/wf-sink-1',
    ]);
    store.getState().clearMarks();
    expect(store.getState().marked.size).toBe(0);
  });

  it('saves the marked as host:runtime/name; refuses with nothing marked or no name', async () => {
    const { store, backend } = await loaded();
    store.getState().startSave();
    expect(store.getState().screen.kind).toBe('main');
    expect(store.getState().message?.level).toBe('warning');
    expect(shown(store)).toBe('nothing marked: mark containers with space or a first');
    store.getState().moveTo(6);
    store.getState().markGroup();
    store.getState().startSave();
    await store.getState().submitSave();
    expect(backend.saved).toEqual([]);
    store.getState().setInput('pipeline');
    await store.getState().submitSave();
    expect(backend.saved).toEqual([
      {
        name: 'pipeline',
        members: [
          'alpha:podman/wf-enrich-1',
          'alpha:podman/wf-parse-1',
          'alpha:podman/wf-producer-1',
          'alpha:podman/wf-sink-1',
        ],
      },
    ]);
    expect(store.getState().message?.text).toContain('saved group pipeline');
  });

  it("opening a saved group marks its members, naming those it can't find", async () => {
    const backend = new FakeBackend();
    backend.groups = [
      { name: 'a', members: ['alpha:wf-sink-1', 'gamma:podman/t5-gamma'] },
      { name: 'b', members: ['alpha:docker/wfd-sink-1', 'beta:gone'] },
    ];
    const { store } = await loaded(backend);
    await store.getState().openGroups();
    store.getState().listMove(1);
    store.getState().applyGroup();
    expect([...store.getState().marked]).toEqual(['alpha/docker/wfd-sink-1']);
    expect(store.getState().message).toMatchObject({ level: 'warning' });
    expect(store.getState().message?.text).toContain('beta:gone');
    await store.getState().openGroups();
    store.getState().applyGroup();
    expect([...store.getState().marked].sort()).toEqual(['alpha/podman/wf-sink-1', 'gamma/podman/t5-gamma']);
  });
});

describe('migration', () => {
  async function planned(over: Partial<import('../../../src/store/types.ts').PlanView> = {}) {
    const { store, backend } = await loaded();
    backend.planOver = over;
    store.getState().moveTo(6);
    store.getState().markGroup();
    store.getState().startMigrate();
    return { store, backend };
  }

  it('offers every host but the sources; tab cycles the strategy; enter plans with the marked members', async () => {
    const { store, backend } = await planned();
    const sc = store.getState().screen;
    expect(sc).toMatchObject({ kind: 'destination', candidates: ['beta', 'gamma'], strategy: 'auto' });
    store.getState().cycleStrategy();
    store.getState().cycleStrategy();
    store.getState().listMove(1);
    store.getState().pickDestination();
    await tick();
    expect(backend.planRequests[0]?.to).toBe('gamma');
    expect(backend.planRequests[0]?.options.strategy).toBe('sequential');
    expect(backend.planRequests[0]?.members.map((m) => m.name)).toEqual([
      'wf-enrich-1',
      'wf-parse-1',
      'wf-producer-1',
      'wf-sink-1',
    ]);
    expect(store.getState().screen).toMatchObject({ kind: 'plan', status: 'ready', to: 'gamma' });
  });

  it('a plan with blockers refuses to run', async () => {
    const { store, backend } = await planned({
      blocked: true,
      findings: [{ id: 'alpha/podman/wf-sink-1', severity: 'blocker', code: 'criu', message: 'criu broken' }],
    });
    store.getState().pickDestination();
    await tick();
    store.getState().confirmRun();
    expect(backend.runs).toHaveLength(0);
    expect(store.getState().screen.kind).toBe('plan');
    expect(store.getState().message).toMatchObject({ level: 'error' });
  });

  it('connections to peers outside the group: t keeps, then closes them, planning again as the command-line flags do', async () => {
    // the planner's verdict: a blocker until a choice is made, then a warning
    const outside = (req: PlanRequest) =>
      planFor(req, {
        blocked: !req.options.tcpEstablished && !req.options.tcpClose,
        findings: [
          {
            id: 'alpha/podman/wf-sink-1',
            severity: req.options.tcpEstablished || req.options.tcpClose ? 'warning' : 'blocker',
            code: 'tcp-established',
            message: 'wf-sink-1 has 1 established TCP connection(s) to peers outside the group',
          },
        ],
      });
    const { store, backend } = await planned();
    backend.planOver = outside;
    store.getState().pickDestination();
    await tick();
    expect(store.getState().screen).toMatchObject({ kind: 'plan', tcp: null, plan: { blocked: true } });
    store.getState().confirmRun();
    expect(backend.runs).toHaveLength(0);

    const flags = (tcpEstablished: boolean, tcpClose: boolean) => {
      const o = optionsFrom(cliArgs({ tcpEstablished, tcpClose }));
      return { tcpEstablished: o.tcpEstablished, tcpClose: o.tcpClose };
    };
    store.getState().cycleTcp();
    expect(store.getState().screen).toMatchObject({ kind: 'plan', tcp: 'keep', status: 'planning' });
    await tick();
    expect(backend.planRequests[1]?.options).toMatchObject(flags(true, false));
    expect(store.getState().screen).toMatchObject({ kind: 'plan', tcp: 'keep', plan: { blocked: false } });
    store.getState().cycleTcp();
    await tick();
    expect(backend.planRequests[2]?.options).toMatchObject(flags(false, true));
    // the choice stays with the strategy, and across a trip back to the hosts
    store.getState().cycleStrategy();
    await tick();
    expect(backend.planRequests[3]?.options).toMatchObject({ strategy: 'pipelined', ...flags(false, true) });
    store.getState().back();
    store.getState().pickDestination();
    await tick();
    expect(backend.planRequests[4]?.options).toMatchObject(flags(false, true));
    // and the plan that runs is the one made with it
    store.getState().confirmRun();
    expect(backend.runs).toHaveLength(1);
    expect(store.getState().run).not.toBeNull();
  });

  it('an answer for a plan the person left is dropped, its probes aborted', async () => {
    const { store, backend } = await planned();
    let release: () => void = () => {};
    const slow = new Promise<void>((r) => {
      release = r;
    });
    const plan = backend.plan.bind(backend);
    let signal: AbortSignal | undefined;
    backend.plan = async (req) => {
      signal = req.signal;
      await slow;
      return plan(req);
    };
    store.getState().pickDestination();
    expect(signal?.aborted).toBe(false);
    store.getState().back();
    // the probes of a plan no one waits for are stopped
    expect(signal?.aborted).toBe(true);
    release();
    await tick();
    await tick();
    expect(store.getState().screen.kind).toBe('destination');
  });

  it('y runs; events fold into the run; ctrl-c cancels safely; esc waits for the end, then refreshes', async () => {
    const { store, backend } = await planned();
    store.getState().pickDestination();
    await tick();
    store.getState().confirmRun();
    expect(store.getState().screen.kind).toBe('run');
    const run = backend.runs[0];
    if (!run) throw new Error('no run');
    run.emit({ type: 'run-started', runId: 'r1', strategy: 'auto', order: [], items: [] });
    run.emit({ type: 'stage-started', id: 'alpha/podman/wf-sink-1', stage: 'transfer' });
    run.emit({ type: 'bytes', id: 'alpha/podman/wf-sink-1', bytes: 32 * 1024 * 1024, rateBytesPerSec: 80e6 });
    await tick();
    const item = store.getState().run?.items['alpha/podman/wf-sink-1'];
    expect(item).toMatchObject({ phase: 'transfer', bytes: 32 * 1024 * 1024, rate: 80e6 });
    store.getState().quit();
    expect(store.getState().quitRequested).toBe(false);
    expect(shown(store)).toBe('a migration is running: ctrl-c stops it safely, then esc and q');
    store.getState().back();
    expect(store.getState().screen.kind).toBe('run');
    expect(shown(store)).toBe('a migration is running: ctrl-c stops it safely');
    expect(store.getState().cancelRun()).toBe(true);
    expect(run.cancel).toHaveBeenCalledTimes(1);
    expect(store.getState().run?.cancelling).toBe(true);
    run.finish({
      strategy: 'auto',
      makespanMs: 4200,
      results: [{ id: 'alpha/podman/wf-sink-1', outcome: 'migrated', downtimeMs: 900 }],
    });
    await tick();
    expect(store.getState().run?.summary?.makespanMs).toBe(4200);
    expect(store.getState().cancelRun()).toBe(false);
    const calls = backend.refreshCalls.length;
    store.getState().back();
    expect(store.getState().screen.kind).toBe('main');
    expect(store.getState().marked.size).toBe(0);
    expect(backend.refreshCalls.length).toBe(calls + 3);
  });
});
