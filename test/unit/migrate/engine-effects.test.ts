// The engine reaches the world only through its effects (effects.ts): here a
// journal in memory, a clock that moves only when told, scripted drivers, a
// scripted link measurement and scripted locks. What it journals, and in
// which order, is what `ferry recover` reads: pinned here record by record.
import { describe, expect, it } from 'vitest';
import type { MigrationContext, MigrationDriver } from '../../../src/migrate/driver.ts';
import type { Clock, EngineEffects, JournalSink, RunLocks } from '../../../src/migrate/effects.ts';
import { MigrationRun } from '../../../src/migrate/engine.ts';
import type { JournalRecord } from '../../../src/migrate/journal.ts';
import { STAGE_ORDER } from '../../../src/migrate/phases.ts';
import {
  DEFAULT_OPTIONS,
  type EngineEvent,
  type MigrateOptions,
  type Plan,
} from '../../../src/plan/migration.ts';
import { podmanItems, quietHost } from '../support/engine.ts';

/** A clock that moves only when a stage says how long it took (or the engine sleeps). */
class ManualClock implements Clock {
  t = 1000;
  readonly epoch = 1_800_000_000_000;
  now = () => this.t;
  wall = () => this.epoch + this.t;
  sleep = (ms: number) => {
    this.t += ms;
    return new Promise<void>((r) => setImmediate(r));
  };
}

class MemoryJournal implements JournalSink {
  readonly path = '/nowhere/run.jsonl';
  readonly records: JournalRecord[] = [];
  closed = false;
  write(r: JournalRecord) {
    // what a file would hold: the state as it was when written
    this.records.push(JSON.parse(JSON.stringify(r)) as JournalRecord);
  }
  close() {
    this.closed = true;
  }
}

/** Each stage takes the given ms on the manual clock; `fail` throws in that stage. */
function timedDriver(
  clock: ManualClock,
  fail?: { stage: string; name: string },
): MigrationDriver & { calls: string[] } {
  const calls: string[] = [];
  const step =
    (stage: string, ms: number, then?: (ctx: MigrationContext) => void) => async (ctx: MigrationContext) => {
      calls.push(`${stage} ${ctx.item.container.name}`);
      await new Promise((r) => setImmediate(r));
      clock.t += ms;
      if (fail?.stage === stage && fail.name === ctx.item.container.name) throw new Error(`${stage} broke`);
      then?.(ctx);
    };
  return {
    kind: 'podman',
    calls,
    prestage: step('prestage', 300, (ctx) => {
      ctx.state.memBytes = 1_000_000;
    }),
    pause: step('pause', 10),
    checkpoint: step('checkpoint', 700, (ctx) => {
      ctx.state.frozen = true;
    }),
    transfer: async (ctx) => {
      await step('transfer', 400)(ctx);
      return { bytes: 1_000_000 };
    },
    restore: async (ctx) => {
      await step('restore', 200)(ctx);
      return {};
    },
    verify: step('verify', 50),
    finalize: step('finalize', 30),
    rollback: step('rollback', 100),
    locate: async () => ({ source: 'running' as const, destination: 'missing' as const }),
  };
}

const host = quietHost;
const items = podmanItems;

function start(
  plan: Omit<Plan, 'options'> & { options?: Partial<MigrateOptions> },
  o: { fail?: { stage: string; name: string }; effects?: Partial<EngineEffects> } = {},
) {
  const clock = new ManualClock();
  const journal = new MemoryJournal();
  const driver = timedDriver(clock, o.fail);
  const r = new MigrationRun(
    {
      links: { 'alpha->beta': { bytesPerSec: 100e6, zstd: false } },
      ...plan,
      options: { ...DEFAULT_OPTIONS, compress: 'none', ...plan.options },
    },
    {
      session: host,
      drivers: { podman: driver, docker: driver },
      openJournal: () => journal,
      clock,
      measureLink: async () => {
        throw new Error('the link is known: not measured');
      },
      locks: false,
      sweep: false,
      newRunId: (wall) => `run-${wall}`,
      owner: () => ({ operator: 'op', pid: 1, pidStart: '1' }),
      ...o.effects,
    },
  );
  const events: EngineEvent[] = [];
  r.on((e) => events.push(e));
  return { r, clock, journal, driver, events };
}

/** Container a's records of a move, each stage started then finished, in order. */
const EVERY_STAGE = STAGE_ORDER.flatMap((s) => [`a ${s}:started`, `a ${s}:finished`]);

/** A record as one line: kind, container, stage:status, outcome. */
const line = (r: JournalRecord) =>
  r.kind === 'stage'
    ? `${r.id.split('/')[2]} ${r.stage}:${r.status}`
    : r.kind === 'done'
      ? `${r.id.split('/')[2]} done:${r.outcome}`
      : r.kind;

describe('the engine through its effects', () => {
  it('journals one container step by step, in order, and ends the run; the id and times come from its clock', async () => {
    const { r, journal } = start({ items: items('a') });
    const s = await r.done;
    expect(r.runId).toBe('run-1800000001000');
    expect(journal.records.map(line)).toEqual(['run', ...EVERY_STAGE, 'a done:migrated', 'end']);
    expect(journal.closed).toBe(true);
    // the freeze is journaled before CRIU runs, the frozen state after
    const ck = journal.records.filter((x) => x.kind === 'stage' && x.stage === 'checkpoint');
    expect(ck.map((x) => x.kind === 'stage' && [x.state.freezing, x.state.frozen])).toEqual([
      [true, undefined],
      [true, true],
    ]);
    expect(journal.records[0]).toMatchObject({
      kind: 'run',
      at: 1_800_000_001_000,
      owner: { operator: 'op' },
    });
    // downtime on the injected clock: checkpoint 700 + transfer 400 + restore 200
    expect(s.results[0]).toMatchObject({ outcome: 'migrated', downtimeMs: 1300 });
    expect(s.makespanMs).toBe(300 + 1300 + 50 + 30);
  });

  it('a failure after the freeze: the failed step, the rollback, then done', async () => {
    const { r, journal, driver } = start({ items: items('a') }, { fail: { stage: 'transfer', name: 'a' } });
    const s = await r.done;
    expect(s.results[0]?.outcome).toBe('rolled-back');
    expect(journal.records.map(line)).toEqual([
      'run',
      'a prestage:started',
      'a prestage:finished',
      'a checkpoint:started',
      'a checkpoint:finished',
      'a transfer:started',
      'a transfer:failed',
      'a done:rolled-back',
      'end',
    ]);
    expect(driver.calls).toEqual(['prestage a', 'checkpoint a', 'transfer a', 'rollback a']);
  });

  it('a rollback that fails leaves the run open for recover, naming the container', async () => {
    const { r, journal, driver } = start({ items: items('a') }, { fail: { stage: 'restore', name: 'a' } });
    driver.rollback = async () => {
      throw new Error('alpha: connection lost');
    };
    const s = await r.done;
    expect(s.results[0]?.outcome).toBe('failed');
    expect(journal.records.map(line).slice(-3)).toEqual(['a restore:failed', 'a done:failed', 'stopped']);
    expect(journal.records.at(-1)).toMatchObject({ kind: 'stopped', attention: ['alpha/podman/a'] });
  });

  it('each container keeps its own order of records; a consistent cut pauses both before either is checkpointed', async () => {
    const { r, journal, driver } = start({ items: items('a', 'b'), options: { consistentCut: true } });
    const s = await r.done;
    expect(s.results.map((x) => x.outcome)).toEqual(['migrated', 'migrated']);
    for (const n of ['a', 'b'])
      expect(
        journal.records
          .map(line)
          .filter((x) => x.startsWith(`${n} `))
          .map((x) => x.slice(2)),
      ).toEqual([...EVERY_STAGE.map((x) => x.slice(2)), 'done:migrated']);
    expect(driver.calls.slice(0, 4)).toEqual(['prestage a', 'prestage b', 'pause a', 'pause b']);
    // downtime counts from the pause
    expect(s.results[0]?.downtimeMs).toBeGreaterThan(1300);
  });

  it('an unknown link is measured once through the injected measurement, and its verdict sets compression', async () => {
    const measured: string[] = [];
    const zstdSeen: boolean[] = [];
    const { r, driver } = start(
      { items: items('a', 'b'), links: {}, options: { compress: 'auto' } },
      {
        effects: {
          measureLink: async (from, to, compress) => {
            measured.push(`${from.host}->${to.host} ${compress}`);
            return { bytesPerSec: 5e6, zstd: true };
          },
        },
      },
    );
    const transfer = driver.transfer.bind(driver);
    driver.transfer = async (ctx) => {
      zstdSeen.push(ctx.zstd);
      return transfer(ctx);
    };
    await r.done;
    expect(measured).toEqual(['alpha->beta auto']);
    expect(zstdSeen).toEqual([true, true]);
  });

  it('sweeps the leftovers of earlier runs once on each host it touches, beside the run, and says what went', async () => {
    const swept: string[] = [];
    const { r, events } = start(
      { items: items('a', 'b') },
      {
        effects: {
          sweep: async (h, runId) => {
            swept.push(`${h.host} ${runId}`);
            if (h.host === 'beta') throw new Error('listing leftovers: timed out');
            return ['/tmp/ferry.20261129T110000-bbbbbb.Ab3dE6gH'];
          },
        },
      },
    );
    const s = await r.done;
    expect(s.results.map((x) => x.outcome)).toEqual(['migrated', 'migrated']);
    expect(swept.sort()).toEqual([`alpha ${s.runId}`, `beta ${s.runId}`]);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings).toContain(
      'alpha: removed what earlier runs left behind: /tmp/ferry.20261129T110000-bbbbbb.Ab3dE6gH',
    );
    expect(warnings).toContain('beta: leftovers of earlier runs not checked: listing leftovers: timed out');
    // before the run ends: its last event is the summary
    expect(events.at(-1)?.type).toBe('run-finished');
  });

  it('a lock held elsewhere refuses the run: nothing touched, the locks it did take released', async () => {
    const taken: string[] = [];
    const released: string[] = [];
    const locks: RunLocks = {
      acquire: async (_h, item) => {
        if (item.container.name === 'b') throw new Error('b on alpha is being migrated by run other');
        taken.push(item.container.name);
      },
      release: async (_h, item) => {
        released.push(item.container.name);
      },
    };
    const { r, journal, driver } = start({ items: items('a', 'b') }, { effects: { locks } });
    const s = await r.done;
    expect(s.refused).toBe('b on alpha is being migrated by run other');
    expect(s.results.map((x) => x.outcome)).toEqual(['skipped', 'skipped']);
    expect(driver.calls).toEqual([]);
    expect(taken).toEqual(['a']);
    expect(released).toEqual(['a']);
    expect(journal.records.map(line)).toEqual(['run', 'a done:skipped', 'b done:skipped', 'end']);
  });

  it('a journal that cannot be written stops the run safely: the run still ends, with a result for everyone', async () => {
    const journal = new MemoryJournal();
    let failing = false;
    const full: JournalSink = {
      path: journal.path,
      write: (x) => {
        if (failing) throw new Error('ENOSPC: no space left on device');
        // the disk fills up once the first container is frozen
        if (x.kind === 'stage' && x.stage === 'checkpoint') failing = true;
        journal.write(x);
      },
      close: () => journal.close(),
    };
    const { r, events } = start(
      { items: items('a', 'b', 'c'), options: { strategy: 'pipelined' } },
      { effects: { openJournal: () => full } },
    );
    const s = await r.done;
    expect(s.results.map((x) => x.outcome)).toEqual(['migrated', 'skipped', 'skipped']);
    expect(events.some((e) => e.type === 'warning' && /cannot be written/.test(e.message))).toBe(true);
  });
});

/** Holds a driver step (`${stage} ${name}`) until released: the test looks at the run while it waits. */
function gate(driver: MigrationDriver, stage: 'pause' | 'checkpoint' | 'restore' | 'verify', name: string) {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const inner = driver[stage].bind(driver) as (ctx: MigrationContext) => Promise<unknown>;
  const held = async (ctx: MigrationContext) => {
    if (ctx.item.container.name === name) await opened;
    return inner(ctx);
  };
  Object.assign(driver, { [stage]: held });
  return open;
}

/** Lets the run go on until nothing moves without the test: every other container reaches where it waits. */
const settle = async () => {
  for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
};

describe('where a container waits between stages (its phase, queued for what holds it)', () => {
  const id = (n: string) => `alpha/podman/${n}`;

  it('pipelined: while a is held in its checkpoint, b has its turn and waits for the link', async () => {
    const { r, driver } = start({ items: items('a', 'b'), options: { strategy: 'pipelined' } });
    const open = gate(driver, 'checkpoint', 'a');
    await settle();
    expect(r.phaseOf(id('a'))).toEqual({ at: 'in', stage: 'checkpoint' });
    expect(r.phaseOf(id('b'))).toEqual({ at: 'queued', wait: 'link', after: 'prestage' });
    open();
    const s = await r.done;
    expect(s.results.map((x) => x.outcome)).toEqual(['migrated', 'migrated']);
    expect(r.phaseOf(id('b'))).toEqual({ at: 'settled', outcome: 'migrated' });
  });

  it('a consistent cut: while a is held in its pause, b is paused and waits for the group', async () => {
    const { r, driver } = start({ items: items('a', 'b'), options: { consistentCut: true } });
    const open = gate(driver, 'pause', 'a');
    await settle();
    expect(r.phaseOf(id('a'))).toEqual({ at: 'queued', wait: 'group-prestaged', after: 'prestage' });
    expect(r.phaseOf(id('b'))).toEqual({ at: 'queued', wait: 'group-paused', after: 'prestage' });
    open();
    expect((await r.done).results.map((x) => x.outcome)).toEqual(['migrated', 'migrated']);
  });

  it('kept connections: b waits for its listening end a to restore, then for a to be verified', async () => {
    const { r, driver } = start({
      items: items('a', 'b'),
      options: { strategy: 'parallel' },
      restoreAfter: [[id('a'), id('b')]],
    });
    const openRestore = gate(driver, 'restore', 'a');
    await settle();
    expect(r.phaseOf(id('b'))).toEqual({ at: 'queued', wait: 'listening-ends', after: 'transfer' });
    const openVerify = gate(driver, 'verify', 'a');
    openRestore();
    await settle();
    expect(r.phaseOf(id('a'))).toEqual({ at: 'in', stage: 'verify' });
    // b restored after a, and runs verified: its source stays until a is verified too
    expect(r.phaseOf(id('b'))).toEqual({ at: 'queued', wait: 'cut-verified', after: 'verify' });
    openVerify();
    expect((await r.done).results.map((x) => x.outcome)).toEqual(['migrated', 'migrated']);
  });
});
