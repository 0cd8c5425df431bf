// The freeze queue's rules as properties: whatever the chooser picks and in
// whatever order containers leave, the turn is held by one at a time, each
// container gets it at most once, and nobody waiting is ever stranded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Chooser,
  type FreezeQueue,
  leaveQueue,
  nextInLine,
  openQueue,
} from '../../../src/migrate/freeze-queue.ts';
import { DEFAULT_OPTIONS, type MigrationItem, type Plan } from '../../../src/plan/migration.ts';

const first: Chooser = (w) => Math.min(...w);

/** A chooser that picks among those waiting by a fixed list of seeds (any pick is legal). */
const seeded = (seeds: readonly number[]): Chooser => {
  const left = [...seeds];
  return (w) => w[(left.shift() ?? 0) % w.length] as number;
};

/** Runs a queue of n with leaves in `order` (indices, repeats allowed); what was granted, step by step. */
function drive(n: number, order: number[], next: Chooser) {
  const granted: number[] = [];
  const states: FreezeQueue[] = [];
  let step = openQueue(n, next);
  if (step.granted !== undefined) granted.push(step.granted);
  states.push(step.queue);
  // left while still waiting: never held the turn
  const droppedOut = new Set<number>();
  for (const k of order) {
    if (step.queue.waiting.includes(k)) droppedOut.add(k);
    step = leaveQueue(step.queue, k, next);
    if (step.granted !== undefined) granted.push(step.granted);
    states.push(step.queue);
  }
  return { granted, states, droppedOut, last: step.queue };
}

const scenario = fc.integer({ min: 0, max: 12 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    leaves: fc.array(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { maxLength: 3 * n }),
    seeds: fc.array(fc.nat(), { maxLength: 40 }),
  }),
);

describe('the freeze queue', () => {
  it('gives the first turn at once, to the one the chooser picks', () => {
    expect(openQueue(3, first)).toEqual({ queue: { waiting: [1, 2], holder: 0 }, granted: 0 });
    expect(openQueue(3, () => 2)).toEqual({ queue: { waiting: [0, 1], holder: 2 }, granted: 2 });
    expect(openQueue(0, first)).toEqual({ queue: { waiting: [], holder: undefined }, granted: undefined });
  });

  it('one holder at a time, never also waiting; each container granted at most once', () => {
    fc.assert(
      fc.property(scenario, ({ n, leaves, seeds }) => {
        const { granted, states } = drive(n, leaves, seeded(seeds));
        expect(new Set(granted).size).toBe(granted.length);
        for (const q of states) {
          if (q.holder !== undefined) expect(q.waiting).not.toContain(q.holder);
          expect([...q.waiting].sort((a, b) => a - b)).toEqual(q.waiting);
        }
      }),
    );
  });

  it('nobody is stranded: while anyone waits, someone holds the turn', () => {
    fc.assert(
      fc.property(scenario, ({ n, leaves, seeds }) => {
        for (const q of drive(n, leaves, seeded(seeds)).states)
          if (q.waiting.length > 0) expect(q.holder).not.toBeUndefined();
      }),
    );
  });

  it('a container that left while waiting is never granted; every other one is, once all have left', () => {
    fc.assert(
      fc.property(scenario, ({ n, leaves, seeds }) => {
        const { granted, droppedOut } = drive(n, leaves, seeded(seeds));
        for (const k of droppedOut) expect(granted).not.toContain(k);
        // then everyone leaves in index order: the line empties, and each
        // container either held the turn once or dropped out, never both
        const all = drive(n, [...leaves, ...Array.from({ length: n }, (_, k) => k)], seeded(seeds));
        expect(all.last).toEqual({ waiting: [], holder: undefined });
        for (let k = 0; k < n; k++)
          expect(all.granted.includes(k), `container ${k}`).toBe(!all.droppedOut.has(k));
      }),
    );
  });

  it('with the plan-order chooser, turns come in index order among those still waiting', () => {
    fc.assert(
      fc.property(scenario, ({ n, leaves }) => {
        const { granted } = drive(n, leaves, first);
        expect([...granted].sort((a, b) => a - b)).toEqual(granted);
      }),
    );
  });

  it('a leave by one that is neither holder nor waiting changes nothing', () => {
    const q: FreezeQueue = { waiting: [2, 3], holder: 1 };
    expect(leaveQueue(q, 0, first)).toEqual({ queue: q, granted: undefined });
    expect(leaveQueue(q, 3, first)).toEqual({ queue: { waiting: [2], holder: 1 }, granted: undefined });
    expect(leaveQueue(q, 1, first)).toEqual({ queue: { waiting: [3], holder: 2 }, granted: 2 });
  });
});

describe('nextInLine', () => {
  const items = (n: number): MigrationItem[] =>
    Array.from({ length: n }, (_, k) => ({
      id: `alpha/podman/c${k}`,
      container: { host: 'alpha', runtime: 'podman', name: `c${k}` },
      destination: 'beta',
    }));

  it('without estimates, or not auto: the first in the plan among those waiting', () => {
    const plan: Plan = { items: items(4), options: { ...DEFAULT_OPTIONS, strategy: 'pipelined' } };
    expect(nextInLine(plan, [3, 1, 2])).toBe(1);
    expect(nextInLine({ ...plan, options: DEFAULT_OPTIONS }, [2, 3])).toBe(2);
  });

  it('auto with estimates: the flow-shop order of those left (short checkpoint, long restore first)', () => {
    const plan: Plan = {
      items: items(3),
      options: DEFAULT_OPTIONS,
      estimates: {
        'alpha/podman/c0': { checkpointMs: 900, transferMs: 900, restoreMs: 10 },
        'alpha/podman/c1': { checkpointMs: 900, transferMs: 900, restoreMs: 10 },
        'alpha/podman/c2': { checkpointMs: 10, transferMs: 50, restoreMs: 900 },
      },
    };
    expect(nextInLine(plan, [0, 1, 2])).toBe(2);
    expect(nextInLine(plan, [0, 1])).toBe(0);
  });

  it('auto: whatever the estimates and edges, one of those waiting, dependencies first', () => {
    const est = fc.record({
      checkpointMs: fc.integer({ min: 0, max: 5000 }),
      transferMs: fc.integer({ min: 0, max: 5000 }),
      restoreMs: fc.integer({ min: 0, max: 5000 }),
    });
    fc.assert(
      fc.property(
        fc.array(est, { minLength: 1, maxLength: 7 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
        (ests, rawEdges, mask) => {
          const its = items(ests.length);
          // edges from a lower index to a higher one: a DAG, as the plan's order is
          const edges = rawEdges
            .map(([a, b]) => [a % ests.length, b % ests.length] as const)
            .filter(([a, b]) => a < b)
            .map(([a, b]) => [its[a]?.id, its[b]?.id] as [string, string]);
          const plan: Plan = {
            items: its,
            options: DEFAULT_OPTIONS,
            edges,
            estimates: Object.fromEntries(its.map((it, k) => [it.id, ests[k] as (typeof ests)[number]])),
          };
          const waiting = its.map((_, k) => k).filter((k) => mask[k]);
          if (waiting.length === 0) return;
          const k = nextInLine(plan, waiting);
          expect(waiting).toContain(k);
          // no waiting container it depends on is passed over
          const id = its[k]?.id;
          for (const [before, after] of edges)
            if (after === id) expect(waiting.map((w) => its[w]?.id)).not.toContain(before);
        },
      ),
    );
  });
});
