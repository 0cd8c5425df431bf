// The engine's bookkeeping with a scripted driver: who is frozen, who is
// skipped, and that a run always ends with a result for every container.
// The real drivers, transfers and CRIU are tested on the lab
// (test/integration/migrate.test.ts); here only the engine's own logic.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MigrationContext, MigrationDriver } from '../../../src/migrate/driver.ts';
import { type EngineDeps, MigrationRun } from '../../../src/migrate/engine.ts';
import { defaultDrivers, liveEffects } from '../../../src/migrate/live.ts';
import type { HostSession } from '../../../src/migrate/types.ts';
import {
  DEFAULT_OPTIONS,
  type EngineEvent,
  type MigrateOptions,
  type Plan,
} from '../../../src/plan/migration.ts';
import { podmanItems, quietHost } from '../support/engine.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Hooks {
  onCheckpoint?: (id: string) => void;
  onTransfer?: (id: string) => void;
}

/** Records every call; each stage takes a few ms. */
class ScriptedDriver implements MigrationDriver {
  readonly kind = 'podman' as const;
  readonly calls: string[] = [];
  private readonly hooks: Hooks;
  constructor(hooks: Hooks = {}) {
    this.hooks = hooks;
  }
  private note(stage: string, ctx: MigrationContext) {
    this.calls.push(`${stage} ${ctx.item.container.name}`);
  }
  async prestage(ctx: MigrationContext) {
    this.note('prestage', ctx);
    ctx.state.memBytes = 1_000_000;
    await sleep(2);
  }
  async pause(ctx: MigrationContext) {
    this.note('pause', ctx);
  }
  async checkpoint(ctx: MigrationContext) {
    this.note('checkpoint', ctx);
    this.hooks.onCheckpoint?.(ctx.item.id);
    ctx.state.frozen = true;
    await sleep(5);
  }
  async transfer(ctx: MigrationContext) {
    this.note('transfer', ctx);
    this.hooks.onTransfer?.(ctx.item.id);
    await sleep(20);
    return { bytes: 1_000_000 };
  }
  async restore(ctx: MigrationContext) {
    this.note('restore', ctx);
    await sleep(5);
    return {};
  }
  async verify(ctx: MigrationContext) {
    this.note('verify', ctx);
  }
  async finalize(ctx: MigrationContext) {
    this.note('finalize', ctx);
  }
  async rollback(ctx: MigrationContext) {
    this.note('rollback', ctx);
  }
  async locate() {
    return { source: 'running' as const, destination: 'missing' as const };
  }
}

const host = quietHost;
const items = podmanItems;

async function run(
  plan: Omit<Plan, 'options'> & { options?: Partial<MigrateOptions> },
  driver: ScriptedDriver,
  deps: Partial<EngineDeps> = {},
) {
  const journalDir = await mkdtemp(join(tmpdir(), 'ferry-engine-'));
  const r = new MigrationRun(
    {
      ...plan,
      options: { ...DEFAULT_OPTIONS, compress: 'none', ...plan.options },
      // known links: no measurement over the (absent) network
      links: { 'alpha->beta': { bytesPerSec: 100e6, zstd: false } },
    },
    {
      ...liveEffects({ journalDir }),
      session: host,
      drivers: { ...defaultDrivers(), podman: driver },
      locks: false,
      // the scripted hosts hold no leftovers: the sweep has its own tests
      sweep: false,
      ...deps,
    },
  );
  const events: EngineEvent[] = [];
  r.on((e) => events.push(e));
  return { r, events };
}

const outcomes = (s: Awaited<MigrationRun['done']>) =>
  s.results.map((x) => `${x.id.split('/')[2]}:${x.outcome}`);

describe('the engine with a scripted driver', () => {
  it('migrates every container, each frozen once, in the plan order', async () => {
    const d = new ScriptedDriver();
    const { r } = await run({ items: items('a', 'b', 'c') }, d);
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:migrated', 'c:migrated']);
    expect(d.calls.filter((c) => c.startsWith('checkpoint'))).toEqual([
      'checkpoint a',
      'checkpoint b',
      'checkpoint c',
    ]);
    expect(d.calls.some((c) => c.startsWith('rollback'))).toBe(false);
  });

  it('a blocker leaves its container untouched; the others go', async () => {
    const d = new ScriptedDriver();
    const { r } = await run(
      {
        items: items('a', 'b', 'c'),
        findings: [{ id: 'alpha/podman/b', severity: 'blocker', code: 'name-conflict', message: 'taken' }],
      },
      d,
    );
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:skipped', 'c:migrated']);
    expect(d.calls.filter((c) => c.endsWith(' b'))).toEqual([]);
  });

  it('under a consistent cut, one blocker keeps the whole group untouched', async () => {
    const d = new ScriptedDriver();
    const { r } = await run(
      {
        items: items('a', 'b'),
        options: { consistentCut: true },
        findings: [{ id: 'alpha/podman/b', severity: 'blocker', code: 'criu-broken', message: 'no criu' }],
      },
      d,
    );
    const s = await r.done;
    expect(outcomes(s)).toEqual(['a:skipped', 'b:skipped']);
    expect(s.results[0]?.message).toMatch(/consistent cut takes the whole group/);
    expect(d.calls).toEqual([]);
  });

  it('a consistent cut pauses everyone before the first checkpoint', async () => {
    const d = new ScriptedDriver();
    const { r } = await run({ items: items('a', 'b', 'c'), options: { consistentCut: true } }, d);
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:migrated', 'c:migrated']);
    const firstCheckpoint = d.calls.findIndex((c) => c.startsWith('checkpoint'));
    expect(d.calls.filter((c) => c.startsWith('pause')).length).toBe(3);
    expect(d.calls.findLastIndex((c) => c.startsWith('pause'))).toBeLessThan(firstCheckpoint);
  });

  it('a stop while the next one waits for the link: nothing new is frozen, nothing is rolled back', async () => {
    let r: MigrationRun | undefined;
    // auto: b has its turn and waits for the link while a transfers; the stop comes then
    const d = new ScriptedDriver({ onTransfer: (id) => id.endsWith('/a') && r?.cancel() });
    ({ r } = await run({ items: items('a', 'b', 'c'), options: { strategy: 'auto' } }, d));
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:skipped', 'c:skipped']);
    expect(d.calls.filter((c) => c.startsWith('checkpoint'))).toEqual(['checkpoint a']);
  });

  it('a failure after the freeze rolls back that container only', async () => {
    const d = new ScriptedDriver();
    d.restore = async (ctx) => {
      d.calls.push(`restore ${ctx.item.container.name}`);
      if (ctx.item.container.name === 'b') throw new Error('criu: restore failed');
      return {};
    };
    const { r } = await run({ items: items('a', 'b', 'c') }, d);
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:rolled-back', 'c:migrated']);
    expect(d.calls.filter((c) => c.startsWith('rollback'))).toEqual(['rollback b']);
  });
});

describe('a cut (members sharing kept TCP connections) moves all or nothing', () => {
  // a listens, b is connected to it; c shares nothing with them
  const cutPlan = {
    items: items('a', 'b', 'c'),
    restoreAfter: [['alpha/podman/a', 'alpha/podman/b']] as [string, string][],
  };
  const cutRun = (d: ScriptedDriver) =>
    run({ ...cutPlan, options: { consistentCut: true, tcpEstablished: true, strategy: 'pipelined' } }, d, {
      probeGivenUpMs: 5,
    });

  it('no source of the cut is removed before every member runs verified on the destination', async () => {
    const d = new ScriptedDriver();
    const { r } = await cutRun(d);
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:migrated', 'c:migrated']);
    expect(d.calls.indexOf('verify b')).toBeLessThan(d.calls.indexOf('finalize a'));
    expect(d.calls.indexOf('restore a')).toBeLessThan(d.calls.indexOf('restore b'));
  });

  it('one member fails its restore: every member of the cut goes back, the listening end first; the rest moves', async () => {
    const d = new ScriptedDriver();
    d.restore = async (ctx) => {
      d.calls.push(`restore ${ctx.item.container.name}`);
      if (ctx.item.container.name === 'b') throw new Error('criu: restore failed');
      return {};
    };
    const { r } = await cutRun(d);
    const s = await r.done;
    expect(outcomes(s)).toEqual(['a:rolled-back', 'b:rolled-back', 'c:migrated']);
    // a ran verified on the destination, yet its source stayed: it came back with b
    expect(d.calls).toContain('verify a');
    expect(d.calls.filter((c) => c.startsWith('finalize'))).toEqual(['finalize c']);
    expect(d.calls.filter((c) => c.startsWith('rollback'))).toEqual(['rollback a', 'rollback b']);
    expect(s.results[0]?.message).toMatch(/b failed \(criu: restore failed\).*all or nothing/);
  });

  // seen on the lab: the store's verify outlasted the client's failed restore,
  // and the cut's rollback passed over the store, which stayed on beta
  it('a member still verifying when another fails its restore goes back too, once verified', async () => {
    const d = new ScriptedDriver();
    d.restore = async (ctx) => {
      d.calls.push(`restore ${ctx.item.container.name}`);
      if (ctx.item.container.name === 'b') throw new Error('criu: restore failed');
      return {};
    };
    d.verify = async (ctx) => {
      d.calls.push(`verify ${ctx.item.container.name}`);
      if (ctx.item.container.name === 'a') await sleep(30);
    };
    const { r } = await cutRun(d);
    const s = await r.done;
    expect(outcomes(s)).toEqual(['a:rolled-back', 'b:rolled-back', 'c:migrated']);
    expect(d.calls.filter((c) => c.startsWith('rollback'))).toEqual(['rollback a', 'rollback b']);
    expect(d.calls.indexOf('restore b')).toBeLessThan(d.calls.indexOf('rollback a'));
    expect(s.results[0]?.message).toMatch(/b failed \(criu: restore failed\).*all or nothing/);
  });

  it('one member fails its transfer: the other is not restored, and both go back', async () => {
    const d = new ScriptedDriver();
    d.transfer = async (ctx) => {
      d.calls.push(`transfer ${ctx.item.container.name}`);
      await sleep(5);
      if (ctx.item.container.name === 'a') throw new Error('link down');
      return { bytes: 1 };
    };
    const { r } = await cutRun(d);
    expect(outcomes(await r.done)).toEqual(['a:rolled-back', 'b:rolled-back', 'c:migrated']);
    expect(d.calls.filter((c) => /^(restore|finalize) [ab]$/.test(c))).toEqual([]);
    expect(d.calls.filter((c) => c.startsWith('rollback'))).toEqual(['rollback a', 'rollback b']);
  });

  it("the listening end's window probes are held in its namespace, not waited out; released once the other end runs", async () => {
    const d = new ScriptedDriver();
    // the destination answers: the copy's pid, then one neighbour entry pointed nowhere
    const beta: HostSession = {
      host: 'beta',
      exec: async (argv) => {
        const has = (w: string) => argv.some((a) => a.includes(w));
        d.calls.push(has('neigh del') ? 'release' : has('neigh replace') ? 'hold' : 'pid');
        const out = argv[0] === 'podman' ? '4242\n' : has('neigh replace') ? '10.89.0.3 eth0\n' : '';
        return { stdout: out, stderr: '', code: 0, signal: null };
      },
      spawn: async () => {
        throw new Error('no streams in this test');
      },
    };
    const { r } = await run(
      {
        items: items('a', 'b'),
        restoreAfter: cutPlan.restoreAfter,
        options: { consistentCut: true, tcpEstablished: true },
      },
      d,
      // were it waited out, the run would outlast the test
      { probeGivenUpMs: 60_000, session: (h) => (h === 'beta' ? beta : host(h)) },
    );
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:migrated']);
    const order = d.calls.filter((c) => /^(restore [ab]|pid|hold|release)$/.test(c));
    expect(order).toEqual(['restore a', 'pid', 'hold', 'restore b', 'release']);
  });

  it('a stop once the cut is paused does not split it: the cut moves whole', async () => {
    let r: MigrationRun | undefined;
    const d = new ScriptedDriver({ onCheckpoint: (id) => id.endsWith('/a') && r?.cancel() });
    ({ r } = await run(
      { items: items('a', 'b'), restoreAfter: cutPlan.restoreAfter, options: { consistentCut: true } },
      d,
      { probeGivenUpMs: 5 },
    ));
    expect(outcomes(await r.done)).toEqual(['a:migrated', 'b:migrated']);
  });
});
