// A container's phases as properties: whatever events come, in whatever
// order, the journal the actions describe is one recover can read (each stage
// started once, then finished or failed; stages in order; the freeze marked
// before its record), and a container can always be rolled back and settled.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Phase,
  type PhaseAction,
  PhaseError,
  type PhaseEvent,
  STAGE_ORDER,
  transition,
  WAITING,
  type Wait,
} from '../../../src/migrate/phases.ts';
import type { Stage } from '../../../src/plan/migration.ts';

const ID = 'alpha/podman/web';

/** Applies the events the machine accepts; those it refuses leave the phase as it was. */
function walk(events: readonly PhaseEvent[]) {
  let phase: Phase = WAITING;
  const actions: PhaseAction[][] = [];
  const refused: PhaseEvent[] = [];
  for (const e of events) {
    try {
      const [next, a] = transition(ID, phase, e);
      phase = next;
      actions.push(a);
    } catch (err) {
      expect(err).toBeInstanceOf(PhaseError);
      refused.push(e);
    }
  }
  return { phase, actions, all: actions.flat(), refused };
}

/** The journal the actions describe, one line per record. */
const journal = (actions: readonly PhaseAction[]) =>
  actions.flatMap((a) =>
    a.do !== 'journal'
      ? []
      : a.record.kind === 'stage'
        ? [`${a.record.stage}:${a.record.status}`]
        : [`done:${a.record.outcome}`],
  );

const stage = fc.constantFrom(...STAGE_ORDER);
const WAITS: Wait[] = [
  'prestage-slot',
  'group-prestaged',
  'group-paused',
  'turn',
  'link',
  'checkpoint-slot',
  'transfer-slot',
  'restore-slot',
  'listening-ends',
  'cut-verified',
];
const wait = fc.constantFrom(...WAITS).map((w) => ({ type: 'wait', for: w }) as PhaseEvent);
const event: fc.Arbitrary<PhaseEvent> = fc.oneof(
  wait,
  stage.map((s) => ({ type: 'begin', stage: s }) as PhaseEvent),
  fc.tuple(stage, fc.nat(10_000)).map(([s, ms]) => ({ type: 'finish', stage: s, ms }) as PhaseEvent),
  stage.map((s) => ({ type: 'fail', stage: s, message: `${s} broke` }) as PhaseEvent),
  fc.constant({ type: 'roll-back' } as PhaseEvent),
  fc.boolean().map((ok) => ({ type: 'rolled-back', ok, message: 'm' }) as PhaseEvent),
  fc
    .constantFrom('migrated', 'rolled-back', 'skipped', 'failed')
    .map((outcome) => ({ type: 'settle', result: { outcome } }) as PhaseEvent),
);
/** The happy path's events, in order. */
const HAPPY: PhaseEvent[] = STAGE_ORDER.flatMap((s): PhaseEvent[] => [
  { type: 'begin', stage: s },
  { type: 'finish', stage: s, ms: 5 },
]);
/** The happy path with the engine's waits between its stages. */
const QUEUED: PhaseEvent[] = STAGE_ORDER.flatMap((s): PhaseEvent[] => [
  { type: 'wait', for: 'turn' },
  { type: 'begin', stage: s },
  { type: 'finish', stage: s, ms: 5 },
]);
/** A stretch of the happy path, then its events (and anything else) in any order. */
const events = fc
  .tuple(
    fc.integer({ min: 0, max: HAPPY.length }),
    fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HAPPY) }, { weight: 1, arbitrary: event }), {
      maxLength: 20,
    }),
  )
  .map(([n, tail]) => [...HAPPY.slice(0, n), ...tail]);

describe('a container phase', () => {
  it('a move: every stage started then finished, in order, then settled', () => {
    const run = STAGE_ORDER.flatMap((s): PhaseEvent[] => [
      { type: 'begin', stage: s },
      { type: 'finish', stage: s, ms: 10 },
    ]);
    const { phase, all, refused } = walk([
      ...run,
      { type: 'settle', result: { outcome: 'migrated', downtimeMs: 9 } },
    ]);
    expect(refused).toEqual([]);
    expect(phase).toEqual({ at: 'settled', outcome: 'migrated' });
    expect(journal(all)).toEqual([
      ...STAGE_ORDER.flatMap((s) => [`${s}:started`, `${s}:finished`]),
      'done:migrated',
    ]);
    expect(all.at(-1)).toEqual({
      do: 'emit',
      event: { type: 'container-done', id: ID, outcome: 'migrated', downtimeMs: 9 },
    });
  });

  it('a failure: the failed record and the error, then the rollback and its verdict, then done', () => {
    const { all } = walk([
      { type: 'begin', stage: 'prestage' },
      { type: 'finish', stage: 'prestage', ms: 1 },
      { type: 'begin', stage: 'checkpoint' },
      { type: 'fail', stage: 'checkpoint', message: 'criu: dump failed' },
      { type: 'roll-back' },
      { type: 'rolled-back', ok: true, message: 'web runs on alpha again' },
      { type: 'settle', result: { outcome: 'rolled-back', message: 'criu: dump failed' } },
    ]);
    expect(all.slice(-6)).toEqual([
      {
        do: 'journal',
        record: { kind: 'stage', stage: 'checkpoint', status: 'failed', message: 'criu: dump failed' },
      },
      { do: 'emit', event: { type: 'error', id: ID, stage: 'checkpoint', message: 'criu: dump failed' } },
      { do: 'deadline', step: 'rollback' },
      { do: 'emit', event: { type: 'rollback', id: ID, ok: true, message: 'web runs on alpha again' } },
      { do: 'journal', record: { kind: 'done', outcome: 'rolled-back', message: 'criu: dump failed' } },
      {
        do: 'emit',
        event: { type: 'container-done', id: ID, outcome: 'rolled-back', message: 'criu: dump failed' },
      },
    ]);
  });

  it('the freeze and the restore are marked before their "started" record, and the deadline set first', () => {
    const [, ck] = transition(ID, { at: 'after', stage: 'prestage' }, { type: 'begin', stage: 'checkpoint' });
    expect(ck.map((a) => a.do)).toEqual(['deadline', 'mark', 'journal', 'emit']);
    expect(ck[1]).toEqual({ do: 'mark', flag: 'freezing' });
    const [, rs] = transition(ID, { at: 'after', stage: 'transfer' }, { type: 'begin', stage: 'restore' });
    expect(rs[1]).toEqual({ do: 'mark', flag: 'restoring' });
    const [, tr] = transition(ID, { at: 'after', stage: 'checkpoint' }, { type: 'begin', stage: 'transfer' });
    expect(tr.map((a) => a.do)).toEqual(['deadline', 'journal', 'emit']);
  });

  it('between stages it is queued for what holds it: nothing is journaled or emitted, and the next stage begins from there', () => {
    const { phase, all, refused } = walk(QUEUED.slice(0, 4));
    expect(refused).toEqual([]);
    expect(phase).toEqual({ at: 'queued', wait: 'turn', after: 'prestage' });
    // the same records and events as without the waits
    expect(all).toEqual(walk(HAPPY.slice(0, 2)).all);
    expect(transition(ID, WAITING, { type: 'wait', for: 'prestage-slot' })).toEqual([
      { at: 'queued', wait: 'prestage-slot', after: null },
      [],
    ]);
    // one wait after another keeps what was done
    const [again] = transition(ID, phase, { type: 'wait', for: 'link' });
    expect(again).toEqual({ at: 'queued', wait: 'link', after: 'prestage' });
    expect(transition(ID, again, { type: 'begin', stage: 'checkpoint' })[0]).toEqual({
      at: 'in',
      stage: 'checkpoint',
    });
    expect(() => transition(ID, again, { type: 'begin', stage: 'prestage' })).toThrow(
      /cannot begin prestage from queued for link after prestage/,
    );
    expect(() =>
      transition(
        ID,
        { at: 'queued', wait: 'prestage-slot', after: null },
        { type: 'begin', stage: 'transfer' },
      ),
    ).toThrow(PhaseError);
    // never while a stage runs, after a failure, or once rolling back
    for (const p of [
      { at: 'in', stage: 'checkpoint' },
      { at: 'failed', stage: 'transfer' },
      { at: 'rolling-back' },
      { at: 'settled', outcome: 'migrated' },
    ] as Phase[])
      expect(() => transition(ID, p, { type: 'wait', for: 'turn' })).toThrow(/cannot wait for turn/);
  });

  it('refuses a stage out of order, or ending one that does not run', () => {
    expect(() => transition(ID, WAITING, { type: 'begin', stage: 'checkpoint' })).toThrow(
      /cannot begin checkpoint from waiting/,
    );
    expect(() =>
      transition(ID, { at: 'after', stage: 'restore' }, { type: 'begin', stage: 'transfer' }),
    ).toThrow(PhaseError);
    expect(() =>
      transition(ID, { at: 'in', stage: 'transfer' }, { type: 'finish', stage: 'restore', ms: 1 }),
    ).toThrow(/cannot finish restore from in transfer/);
    expect(() => transition(ID, { at: 'rolling-back' }, { type: 'begin', stage: 'verify' })).toThrow(
      PhaseError,
    );
  });

  it('any events: each stage is started once, then finished or failed once; stages begin in order', () => {
    fc.assert(
      fc.property(events, (es) => {
        const lines = journal(walk(es).all).filter((l) => !l.startsWith('done:'));
        const begun = lines.filter((l) => l.endsWith(':started')).map((l) => l.split(':')[0] as Stage);
        expect(begun).toEqual([...begun].sort((a, b) => STAGE_ORDER.indexOf(a) - STAGE_ORDER.indexOf(b)));
        expect(new Set(begun).size).toBe(begun.length);
        for (const s of STAGE_ORDER) {
          const mine = lines.filter((l) => l.startsWith(`${s}:`));
          expect(mine.length).toBeLessThanOrEqual(2);
          if (mine.length > 0) expect(mine[0]).toBe(`${s}:started`);
          if (mine.length === 2) expect([`${s}:finished`, `${s}:failed`]).toContain(mine[1]);
        }
      }),
    );
  });

  it('any events: a stage ends only while it runs, and only one runs at a time', () => {
    fc.assert(
      fc.property(events, (es) => {
        let running: string | undefined;
        for (const l of journal(walk(es).all).filter((x) => !x.startsWith('done:'))) {
          const [s, status] = l.split(':');
          if (status === 'started') {
            expect(running).toBeUndefined();
            running = s;
          } else if (status === 'finished' || status === 'failed') {
            expect(running).toBe(s);
            running = undefined;
          }
        }
      }),
    );
  });

  it('any events: each journal record comes with its event; the freeze is marked just before its record', () => {
    fc.assert(
      fc.property(events, (es) => {
        for (const batch of walk(es).actions) {
          const j = batch.filter((a) => a.do === 'journal');
          const e = batch.filter((a) => a.do === 'emit');
          if (j.length > 0) expect(e.length).toBe(j.length);
          const started = batch.findIndex(
            (a) => a.do === 'journal' && a.record.kind === 'stage' && a.record.status === 'started',
          );
          const mark = batch.findIndex((a) => a.do === 'mark');
          const rec = started >= 0 ? batch[started] : undefined;
          const st = rec?.do === 'journal' && rec.record.kind === 'stage' ? rec.record.stage : undefined;
          if (st === 'checkpoint' || st === 'restore') expect(mark).toBe(started - 1);
          else expect(mark).toBe(-1);
        }
      }),
    );
  });

  it('any events: rolling back and settling are never refused; after a rollback began, no stage begins', () => {
    fc.assert(
      fc.property(events, (es) => {
        const { refused, actions } = walk(es);
        expect(
          refused.filter((e) => e.type === 'roll-back' || e.type === 'rolled-back' || e.type === 'settle'),
        ).toEqual([]);
        const all = actions.flat();
        const rb = all.findIndex((a) => a.do === 'deadline' && a.step === 'rollback');
        if (rb >= 0) {
          // a later begin would carry a deadline of its own stage
          const after = all.slice(rb + 1);
          expect(
            after.some(
              (a) => a.do === 'journal' && a.record.kind === 'stage' && a.record.status === 'started',
            ),
          ).toBe(false);
        }
      }),
    );
  });

  it('is pure: the same phase and event give the same answer, and the phase is not changed', () => {
    fc.assert(
      fc.property(events, event, (es, e) => {
        const { phase } = walk(es);
        const copy = structuredClone(phase);
        let first: unknown;
        let second: unknown;
        try {
          first = transition(ID, phase, e);
        } catch (err) {
          first = String(err);
        }
        try {
          second = transition(ID, phase, e);
        } catch (err) {
          second = String(err);
        }
        expect(second).toEqual(first);
        expect(phase).toEqual(copy);
      }),
    );
  });
});
