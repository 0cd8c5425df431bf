import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  estimateStages,
  johnsonOrder,
  orderFor,
  PARALLEL_DEFAULT_CAP,
  plan,
  refine,
  type Schedule,
  ScheduleCycleError,
  type ScheduleInput,
  type ScheduleItem,
  type Strategy,
  simulate,
  type ThroughputModel,
} from '../../../src/plan/schedule.ts';

const item = (
  id: string,
  ck: number,
  tr: number,
  rs: number,
  source = 'alpha',
  destination = 'beta',
): ScheduleItem => ({
  id,
  source,
  destination,
  estimate: { checkpointMs: ck, transferMs: tr, restoreMs: rs },
});

// --- oracles, independent of the module -------------------------------------

/** Permutation flow shop makespan, one machine per stage. */
function flowShopMakespan(jobs: readonly (readonly number[])[]): number {
  const done: number[] = [];
  for (const p of jobs) {
    let prev = 0;
    for (const [m, d] of p.entries()) {
      prev = Math.max(prev, done[m] ?? 0) + d;
      done[m] = prev;
    }
  }
  return Math.max(0, ...done);
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, k) =>
    permutations([...xs.slice(0, k), ...xs.slice(k + 1)]).map((rest) => [x, ...rest]),
  );
}

function bestFlowShop(jobs: readonly (readonly number[])[]): number {
  return Math.min(...permutations(jobs).map(flowShopMakespan));
}

function resourceOf(input: ScheduleInput, id: string, stage: string): string {
  const it = input.items.find((i) => i.id === id);
  if (!it) throw new Error(`no item ${id}`);
  if (stage === 'checkpoint') return `ck:${it.source}`;
  if (stage === 'transfer') return `tr:${it.link ?? `${it.source}->${it.destination}`}`;
  return `rs:${it.destination}`;
}

function capOf(input: ScheduleInput, strategy: Strategy, resource: string): number {
  const dflt = strategy === 'parallel' ? PARALLEL_DEFAULT_CAP : 1;
  const c = input.caps ?? {};
  if (resource.startsWith('ck:')) return c.checkpointPerSource ?? dflt;
  if (resource.startsWith('tr:')) return c.transferPerLink ?? dflt;
  return c.restorePerDestination ?? dflt;
}

/** Largest number of stages running at once on each resource; stages are [start, end). */
function peakUse(input: ScheduleInput, s: Schedule): Map<string, number> {
  const events = new Map<string, [number, number][]>();
  for (const st of s.stages) {
    if (st.endMs === st.startMs) continue; // occupies nothing
    const r = resourceOf(input, st.id, st.stage);
    const ev = events.get(r) ?? [];
    ev.push([st.startMs, 1], [st.endMs, -1]);
    events.set(r, ev);
  }
  const peak = new Map<string, number>();
  for (const [r, ev] of events) {
    ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // ends before starts at the same instant
    let cur = 0;
    let max = 0;
    for (const [, d] of ev) {
      cur += d;
      max = Math.max(max, cur);
    }
    peak.set(r, max);
  }
  return peak;
}

const stageOf = (s: Schedule, id: string, stage: string) => {
  const st = s.stages.find((x) => x.id === id && x.stage === stage);
  if (!st) throw new Error(`no ${stage} for ${id}`);
  return st;
};

// --- generators ---------------------------------------------------------------

const estimateArb = fc.record({
  ck: fc.integer({ min: 0, max: 60 }),
  tr: fc.integer({ min: 0, max: 60 }),
  rs: fc.integer({ min: 0, max: 60 }),
});

/** A group of 1..maxN items over `hosts` hosts, with acyclic edges oriented by a random rank (not input order). */
const inputArb = (maxN: number, hosts: number, withCaps = true): fc.Arbitrary<ScheduleInput> =>
  fc.integer({ min: 1, max: maxN }).chain((n) =>
    fc
      .record({
        est: fc.array(estimateArb, { minLength: n, maxLength: n }),
        src: fc.array(fc.integer({ min: 0, max: hosts - 1 }), { minLength: n, maxLength: n }),
        dst: fc.array(fc.integer({ min: 0, max: hosts - 1 }), { minLength: n, maxLength: n }),
        rank: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n }),
        pairs: fc.array(fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })), { maxLength: 2 * n }),
        caps: withCaps
          ? fc.option(
              fc.record(
                {
                  checkpointPerSource: fc.integer({ min: 1, max: 3 }),
                  transferPerLink: fc.integer({ min: 1, max: 3 }),
                  restorePerDestination: fc.integer({ min: 1, max: 3 }),
                },
                { requiredKeys: [] },
              ),
              { nil: undefined },
            )
          : fc.constant(undefined),
      })
      .map(({ est, src, dst, rank, pairs, caps }) => {
        const ids = est.map((_, k) => `h/podman/c${k}`);
        const key = (k: number) => (rank[k] ?? 0) * n + k;
        const edges: [string, string][] = pairs
          .filter(([a, b]) => a !== b)
          .map(([a, b]): [string, string] =>
            key(a) < key(b) ? [ids[a] ?? '', ids[b] ?? ''] : [ids[b] ?? '', ids[a] ?? ''],
          );
        const items = est.map((e, k) =>
          item(ids[k] ?? '', e.ck, e.tr, e.rs, `src${src[k] ?? 0}`, `dst${dst[k] ?? 0}`),
        );
        return caps ? { items, edges, caps } : { items, edges };
      }),
  );

const strategies: Strategy[] = ['sequential', 'pipelined', 'parallel', 'auto'];

// --- tests ------------------------------------------------------------------------

describe("Johnson's rule", () => {
  it('orders textbook two-machine instances optimally', () => {
    // Heizer & Render's five-job example: B E D C A, makespan 35
    const hr = { A: [5, 2], B: [3, 6], C: [8, 4], D: [10, 7], E: [7, 12] } as const;
    const hrOrder = johnsonOrder(Object.entries(hr).map(([id, [first, second]]) => ({ id, first, second })));
    expect(hrOrder).toEqual(['B', 'E', 'D', 'C', 'A']);
    expect(flowShopMakespan(hrOrder.map((id) => hr[id as keyof typeof hr]))).toBe(35);
    expect(bestFlowShop(Object.values(hr))).toBe(35);

    const t2 = { A: [5, 2], B: [1, 6], C: [9, 7], D: [3, 8], E: [10, 4] } as const;
    const t2Order = johnsonOrder(Object.entries(t2).map(([id, [first, second]]) => ({ id, first, second })));
    expect(t2Order).toEqual(['B', 'D', 'C', 'E', 'A']);
    expect(flowShopMakespan(t2Order.map((id) => t2[id as keyof typeof t2]))).toBe(30);
    expect(bestFlowShop(Object.values(t2))).toBe(30);
  });

  it('keeps input order among ties', () => {
    const jobs = [
      { id: 'x', first: 2, second: 5 },
      { id: 'y', first: 2, second: 7 },
      { id: 'z', first: 4, second: 1 },
      { id: 'w', first: 3, second: 1 },
    ];
    expect(johnsonOrder(jobs)).toEqual(['x', 'y', 'z', 'w']);
  });

  it('is optimal on random two-machine instances (brute force)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (jobs) => {
          const order = johnsonOrder(jobs.map(([first, second], k) => ({ id: String(k), first, second })));
          const makespan = flowShopMakespan(order.map((k) => jobs[Number(k)] ?? [0, 0]));
          expect(makespan).toBe(bestFlowShop(jobs));
        },
      ),
    );
  });

  it('makes auto optimal on three-stage groups where transfer is dominated (Johnson 1954)', () => {
    // min checkpoint >= max transfer: (ck+tr, tr+rs) with Johnson's rule is optimal
    const job = fc.record({
      ck: fc.integer({ min: 20, max: 60 }),
      tr: fc.integer({ min: 0, max: 20 }),
      rs: fc.integer({ min: 0, max: 60 }),
    });
    fc.assert(
      fc.property(fc.array(job, { minLength: 1, maxLength: 6 }), fc.boolean(), (jobs, mirror) => {
        // mirror: the restore-dominates case, min restore >= max transfer
        const js = jobs.map((j) => (mirror ? { ck: j.rs, tr: j.tr, rs: j.ck } : j));
        const input = { items: js.map((j, k) => item(`c${k}`, j.ck, j.tr, j.rs)), edges: [] };
        expect(plan('auto', input).makespanMs).toBe(bestFlowShop(js.map((j) => [j.ck, j.tr, j.rs])));
      }),
    );
  });
});

describe('strategies compared', () => {
  it('auto <= pipelined <= sequential on random groups', () => {
    fc.assert(
      fc.property(inputArb(8, 3), (input) => {
        const seq = plan('sequential', input).makespanMs;
        const pip = plan('pipelined', input).makespanMs;
        const auto = plan('auto', input).makespanMs;
        expect(pip).toBeLessThanOrEqual(seq);
        expect(auto).toBeLessThanOrEqual(pip);
      }),
      { numRuns: 200 },
    );
  });

  it('auto finds the optimum of a single-link flow shop more often than not, and never loses to pipelined', () => {
    let optimal = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.array(estimateArb, { minLength: 2, maxLength: 6 }), (est) => {
        const input = { items: est.map((e, k) => item(`c${k}`, e.ck, e.tr, e.rs)), edges: [] };
        const best = bestFlowShop(est.map((e) => [e.ck, e.tr, e.rs]));
        const auto = plan('auto', input).makespanMs;
        expect(auto).toBeGreaterThanOrEqual(best);
        runs++;
        if (auto === best) optimal++;
      }),
      // fixed seed: a ratio over random runs must not flake (about 97% over thousands of instances)
      { numRuns: 100, seed: 20240601 },
    );
    expect(runs).toBe(100);
    // measured: 96 with everything, 94 without re-insertion, 93 without the CDS seeds
    expect(optimal).toBeGreaterThanOrEqual(96);
  });

  it('auto never loses to the input order, even where its heuristics all would', () => {
    // found by search: from the CDS and NEH seeds, re-insertion gets stuck at 151 here
    const input = {
      items: [
        item('c0', 8, 44, 38, 's2', 'd0'),
        item('c1', 44, 34, 18, 's1', 'd0'),
        item('c2', 6, 51, 38, 's2', 'd0'),
      ],
      edges: [],
    };
    expect(plan('pipelined', input).makespanMs).toBe(146);
    expect(plan('auto', input).makespanMs).toBeLessThanOrEqual(146);
  });

  it('sequential makespan is the sum of every stage (caps 1, one link)', () => {
    fc.assert(
      fc.property(inputArb(8, 1, false), (input) => {
        const sum = input.items.reduce(
          (a, i) => a + i.estimate.checkpointMs + i.estimate.transferMs + i.estimate.restoreMs,
          0,
        );
        expect(plan('sequential', input).makespanMs).toBe(sum);
      }),
    );
  });

  it('sequential runs one container at a time, whatever the hosts', () => {
    const input = { items: [item('a', 1, 2, 3, 's1', 'd1'), item('b', 4, 5, 6, 's2', 'd2')], edges: [] };
    const s = plan('sequential', input);
    expect(stageOf(s, 'b', 'checkpoint').startMs).toBe(6);
    expect(s.makespanMs).toBe(21);
  });

  it('pipelined overlaps checkpoint, transfer and restore of consecutive containers', () => {
    const input = { items: [item('a', 2, 3, 1), item('b', 1, 1, 1), item('c', 1, 1, 1)], edges: [] };
    const s = plan('pipelined', input);
    expect(s.order).toEqual(['a', 'b', 'c']);
    expect(s.stages).toEqual([
      { id: 'a', stage: 'checkpoint', startMs: 0, endMs: 2 },
      { id: 'a', stage: 'transfer', startMs: 2, endMs: 5 },
      { id: 'b', stage: 'checkpoint', startMs: 2, endMs: 3 },
      { id: 'c', stage: 'checkpoint', startMs: 3, endMs: 4 },
      { id: 'a', stage: 'restore', startMs: 5, endMs: 6 },
      { id: 'b', stage: 'transfer', startMs: 5, endMs: 6 },
      { id: 'b', stage: 'restore', startMs: 6, endMs: 7 },
      { id: 'c', stage: 'transfer', startMs: 6, endMs: 7 },
      { id: 'c', stage: 'restore', startMs: 7, endMs: 8 },
    ]);
    expect(s.makespanMs).toBe(8);
    // b is frozen at 2 and back at 7: waiting for the link counts as downtime
    expect(s.downtimeMs).toEqual({ a: 6, b: 5, c: 5 });
  });

  it('auto freezes just in time for the link: same makespan as pipelined, no downtime spent waiting', () => {
    // the link is the bottleneck: pipelined freezes everyone early and they wait frozen
    const input = { items: ['a', 'b', 'c', 'd'].map((id) => item(id, 500, 1700, 400)), edges: [] };
    const piped = simulate(['a', 'b', 'c', 'd'], 'pipelined', input);
    const auto = simulate(['a', 'b', 'c', 'd'], 'auto', input);
    expect(auto.makespanMs).toBe(piped.makespanMs);
    // d is frozen at 1500 and waits for three transfers before its own
    expect(piped.downtimeMs.d).toBe(500 + 3 * 1700 + 1700 + 400 - 1500);
    for (const id of ['a', 'b', 'c', 'd']) expect(auto.downtimeMs[id]).toBe(2600);
    const ck = auto.stages.filter((s) => s.stage === 'checkpoint');
    const tr = auto.stages.filter((s) => s.stage === 'transfer');
    // each checkpoint ends as its transfer starts, one at a time on the source
    for (const [k, c] of ck.entries()) expect(c.endMs).toBe(tr[k]?.startMs);
  });

  it('auto never moves a checkpoint past a dependent that starts earlier', () => {
    const input = {
      items: [item('a', 500, 1700, 400), item('b', 500, 1700, 400, 'gamma', 'delta')],
      edges: [['a', 'b']] as [string, string][],
    };
    const s = simulate(['a', 'b'], 'auto', input);
    const start = (id: string) =>
      s.stages.find((x) => x.id === id && x.stage === 'checkpoint')?.startMs ?? -1;
    expect(start('a')).toBeLessThanOrEqual(start('b'));
  });

  it('runs containers of different sources and destinations truly in parallel', () => {
    const input = { items: [item('a', 5, 5, 5, 's1', 'd1'), item('b', 5, 5, 5, 's2', 'd2')], edges: [] };
    for (const st of ['pipelined', 'parallel', 'auto'] as const) expect(plan(st, input).makespanMs).toBe(15);
  });

  it('shares one link between items that name it', () => {
    const items = [item('a', 1, 10, 1, 's1', 'd1'), item('b', 1, 10, 1, 's2', 'd2')].map((i) => ({
      ...i,
      link: 'relay',
    }));
    const s = plan('pipelined', { items, edges: [] });
    expect(stageOf(s, 'b', 'transfer').startMs).toBe(11);
  });

  it('parallel is limited by PARALLEL_DEFAULT_CAP when no caps are given, by the caps otherwise', () => {
    const items = Array.from({ length: PARALLEL_DEFAULT_CAP + 1 }, (_, k) => item(`c${k}`, 10, 1, 1));
    const s = plan('parallel', { items, edges: [] });
    const starts = items.map((i) => stageOf(s, i.id, 'checkpoint').startMs);
    expect(starts).toEqual([...Array(PARALLEL_DEFAULT_CAP).fill(0), 10]);
    const one = plan('parallel', { items, edges: [], caps: { checkpointPerSource: 1 } });
    expect(items.map((i) => stageOf(one, i.id, 'checkpoint').startMs)).toEqual([0, 10, 20, 30, 40]);
  });

  it('parallel (greedy) equals pipelined on one link with caps 1', () => {
    fc.assert(
      fc.property(inputArb(8, 1, false), (input) => {
        const caps = { checkpointPerSource: 1, transferPerLink: 1, restorePerDestination: 1 };
        const order = orderFor('pipelined', input);
        const a = simulate(order, 'parallel', { ...input, caps });
        const b = simulate(order, 'pipelined', { ...input, caps });
        expect(a).toEqual(b);
      }),
    );
  });
});

describe('schedules are valid', () => {
  it('respect caps, stage precedence, edges and report downtime, for every strategy', () => {
    fc.assert(
      fc.property(inputArb(8, 3), fc.constantFrom(...strategies), (input, strategy) => {
        const s = plan(strategy, input);
        expect(s.stages).toHaveLength(3 * input.items.length);
        for (const [r, peak] of peakUse(input, s))
          expect(peak).toBeLessThanOrEqual(capOf(input, strategy, r));
        for (const it of input.items) {
          const ck = stageOf(s, it.id, 'checkpoint');
          const tr = stageOf(s, it.id, 'transfer');
          const rs = stageOf(s, it.id, 'restore');
          expect(ck.startMs).toBeGreaterThanOrEqual(0);
          expect(tr.startMs).toBeGreaterThanOrEqual(ck.endMs);
          expect(rs.startMs).toBeGreaterThanOrEqual(tr.endMs);
          expect(ck.endMs - ck.startMs).toBe(it.estimate.checkpointMs);
          expect(s.downtimeMs[it.id]).toBe(rs.endMs - ck.startMs);
          expect(s.makespanMs).toBeGreaterThanOrEqual(rs.endMs);
        }
        for (const [before, after] of input.edges)
          expect(stageOf(s, after, 'checkpoint').startMs).toBeGreaterThanOrEqual(
            stageOf(s, before, 'checkpoint').startMs,
          );
      }),
      { numRuns: 300 },
    );
  });

  it('orders every strategy topologically, auto included', () => {
    fc.assert(
      fc.property(inputArb(8, 3), fc.constantFrom(...strategies), (input, strategy) => {
        const order = orderFor(strategy, input);
        expect([...order].sort()).toEqual(input.items.map((i) => i.id).sort());
        for (const [before, after] of input.edges)
          expect(order.indexOf(before)).toBeLessThan(order.indexOf(after));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps input order where the edges allow, for the non-auto strategies', () => {
    const items = ['a', 'b', 'c', 'd'].map((id) => item(id, 1, 1, 1));
    expect(orderFor('pipelined', { items, edges: [] })).toEqual(['a', 'b', 'c', 'd']);
    expect(orderFor('sequential', { items, edges: [['d', 'b']] })).toEqual(['a', 'c', 'd', 'b']);
  });

  it('lets an edge hold a checkpoint until its predecessor starts, not ends', () => {
    // x keeps s1 busy until 10, so a starts at 10, and b (another source) with it
    const input: ScheduleInput = {
      items: [
        item('x', 10, 1, 1, 's1', 'd1'),
        item('a', 1, 1, 1, 's1', 'd1'),
        item('b', 1, 1, 1, 's2', 'd2'),
      ],
      edges: [['a', 'b']],
      caps: { checkpointPerSource: 1 },
    };
    for (const st of ['pipelined', 'parallel'] as const) {
      const s = plan(st, input);
      expect(stageOf(s, 'a', 'checkpoint').startMs).toBe(10);
      expect(stageOf(s, 'b', 'checkpoint').startMs).toBe(10);
    }
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(inputArb(8, 3), fc.constantFrom(...strategies), (input, strategy) => {
        expect(plan(strategy, structuredClone(input))).toEqual(plan(strategy, input));
      }),
      { numRuns: 50 },
    );
  });

  it('plans an empty group', () => {
    expect(plan('auto', { items: [], edges: [] })).toEqual({
      order: [],
      stages: [],
      makespanMs: 0,
      downtimeMs: {},
    });
  });
});

describe('input errors', () => {
  const items = ['a', 'b', 'c', 'd'].map((id) => item(id, 1, 1, 1));

  it('rejects a cycle, naming it', () => {
    // d comes first, so the search enters the cycle through d, which is not part of it
    const input: ScheduleInput = {
      items: ['d', 'a', 'b', 'c'].map((id) => item(id, 1, 1, 1)),
      edges: [
        ['d', 'a'],
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
      ],
    };
    for (const st of strategies) {
      expect(() => plan(st, input)).toThrow(ScheduleCycleError);
      expect(() => plan(st, input)).toThrow('dependency cycle: a -> b -> c -> a');
    }
    try {
      orderFor('auto', input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScheduleCycleError);
      expect((err as ScheduleCycleError).cycle).toEqual(['a', 'b', 'c', 'a']);
    }
    expect(() => plan('auto', { items, edges: [['b', 'b']] })).toThrow('dependency cycle: b -> b');
  });

  it('rejects bad items, edges, caps and orders', () => {
    expect(() => plan('auto', { items: [...items, item('a', 1, 1, 1)], edges: [] })).toThrow(
      'duplicate item id a',
    );
    expect(() => plan('auto', { items, edges: [['a', 'zz']] })).toThrow('unknown item zz');
    expect(() => plan('auto', { items: [item('a', -1, 1, 1)], edges: [] })).toThrow('checkpoint estimate');
    expect(() => plan('auto', { items: [item('a', 1, Number.NaN, 1)], edges: [] })).toThrow(
      'transfer estimate',
    );
    expect(() => plan('auto', { items, edges: [], caps: { transferPerLink: 0 } })).toThrow('caps');
    expect(() => plan('auto', { items, edges: [], caps: { restorePerDestination: 1.5 } })).toThrow('caps');
    expect(plan('pipelined', { items, edges: [], caps: { checkpointPerSource: Infinity } }).makespanMs).toBe(
      6,
    );
    const input = { items, edges: [['c', 'a']] as [string, string][] };
    expect(() => simulate(['a', 'b', 'c', 'd'], 'pipelined', input)).toThrow('against edge c -> a');
    expect(() => simulate(['a', 'b', 'c'], 'pipelined', input)).toThrow('misses d');
    expect(() => simulate(['c', 'a', 'b', 'd', 'b'], 'pipelined', input)).toThrow('b twice');
    expect(() => simulate(['c', 'a', 'b', 'x'], 'pipelined', input)).toThrow('unknown item x');
  });
});

describe('estimates', () => {
  const GiB = 1024 ** 3;
  const model: ThroughputModel = {
    linkBytesPerSec: 100e6,
    dumpBytesPerSec: 500e6,
    restoreBytesPerSec: 400e6,
    fixedCheckpointMs: 300,
    fixedRestoreMs: 700,
  };

  it('prices each stage from size and throughput', () => {
    expect(estimateStages(1e9, model)).toEqual({ checkpointMs: 2300, transferMs: 10_000, restoreMs: 3200 });
    expect(estimateStages(1e9, { ...model, compressionRatio: 4 }).transferMs).toBe(2500);
    expect(estimateStages(0, model)).toEqual({ checkpointMs: 300, transferMs: 0, restoreMs: 700 });
    expect(() => estimateStages(-1, model)).toThrow('memoryBytes');
    expect(() => estimateStages(GiB, { ...model, linkBytesPerSec: 0 })).toThrow('linkBytesPerSec');
    expect(() => estimateStages(GiB, { ...model, compressionRatio: 0 })).toThrow('compressionRatio');
  });

  it('refines throughputs by an exponential moving average', () => {
    // observed: dump 1e9 B in 1 s beyond the fixed cost, link 1e9 B in 5 s
    const next = refine(
      model,
      { memoryBytes: 1e9, measured: { checkpointMs: 300 + 1000, transferMs: 5000 } },
      0.25,
    );
    expect(next.dumpBytesPerSec).toBeCloseTo(0.25 * 1e9 + 0.75 * 500e6);
    expect(next.linkBytesPerSec).toBeCloseTo(0.25 * 200e6 + 0.75 * 100e6);
    expect(next.restoreBytesPerSec).toBe(model.restoreBytesPerSec); // not measured
    expect(next.fixedCheckpointMs).toBe(300);
    expect(model.linkBytesPerSec).toBe(100e6); // pure
  });

  it('learns the compression ratio from wire bytes and converges on repeated measurements', () => {
    let m = { ...model };
    for (let k = 0; k < 60; k++)
      m = refine(m, {
        memoryBytes: 2e9,
        wireBytes: 5e8,
        measured: { checkpointMs: 300 + 2000, transferMs: 1000, restoreMs: 700 + 8000 },
      });
    expect(m.compressionRatio).toBeCloseTo(4, 6);
    expect(m.linkBytesPerSec).toBeCloseTo(5e8, 0);
    expect(m.dumpBytesPerSec).toBeCloseTo(1e9, 0);
    expect(m.restoreBytesPerSec).toBeCloseTo(2.5e8, 0);
    const e = estimateStages(2e9, m);
    expect(e.transferMs).toBeCloseTo(1000, 3);
  });

  it('ignores measurements that say nothing about throughput', () => {
    const same = refine(model, { memoryBytes: 1e9, measured: { checkpointMs: 200, restoreMs: Number.NaN } });
    expect(same).toEqual(model);
    expect(refine(model, { memoryBytes: 0, measured: { transferMs: 10 } })).toEqual(model);
    expect(() => refine(model, { memoryBytes: 1, measured: {} }, 0)).toThrow('alpha');
  });
});
