// The phases one container walks through, as a pure transition function in
// the manner of xstate: transition(phase, event) -> [next, actions]. It
// performs none of the actions; the engine does (marks the driver state,
// sets the deadline of the container's remote commands, writes the journal,
// emits the event), in the order given. That order is what `ferry recover`
// relies on: the freeze is marked before the checkpoint's "started" record
// is written, so a checkpoint that fails (or ferry killed) after CRIU
// stopped the process is still rolled back.
//
//   waiting -> in prestage -> after prestage -> in checkpoint -> ... -> after finalize -> settled
//   in STAGE -> failed STAGE -> rolling back -> rolled back -> settled
//   any phase but settled -> rolling back (a stop, a failed cut) ; waiting -> settled (blocker, lock)
//   waiting, after STAGE -> queued for WAIT (a slot, its turn, the link, its cut) -> in the next stage

import type { EngineEvent, Outcome, Stage } from '../plan/migration.ts';
import type { StepDeadlines } from './deadlines.ts';

/** The stages in the order a container goes through them. */
export const STAGE_ORDER: readonly Stage[] = [
  'prestage',
  'checkpoint',
  'transfer',
  'restore',
  'verify',
  'finalize',
];

/**
 * What a container waits for between two stages: where the engine's
 * scheduling holds it (the freeze queue, link slots and stage caps).
 */
export type Wait =
  /** prestages run one at a time, in the order of the line */
  | 'prestage-slot'
  /** consistent cut: every member prestaged */
  | 'group-prestaged'
  /** consistent cut: every member paused */
  | 'group-paused'
  /** its turn in the freeze line */
  | 'turn'
  /** the link nearly free (a transfer slot, or the one in flight about to end) */
  | 'link'
  /** a slot of its stage: checkpoints per source, transfers per link, restores per destination */
  | 'checkpoint-slot'
  | 'transfer-slot'
  | 'restore-slot'
  /** the listening ends of its kept connections restored, their window probes dropped */
  | 'listening-ends'
  /** every member of its cut verified on the destination */
  | 'cut-verified';

export type Phase =
  /** nothing done yet (waiting for a blocker's verdict, its prestage) */
  | { at: 'waiting' }
  /** held between two stages (after: the last stage done, null before the first) */
  | { at: 'queued'; wait: Wait; after: Stage | null }
  /** the stage's remote commands run */
  | { at: 'in'; stage: Stage }
  /** the stage is done; the next has not begun (waiting for the line, the link, the cut) */
  | { at: 'after'; stage: Stage }
  /** the stage failed: the container is rolled back next (finalize excepted: the copy runs) */
  | { at: 'failed'; stage: Stage }
  | { at: 'rolling-back' }
  | { at: 'rolled-back'; ok: boolean }
  | { at: 'settled'; outcome: Outcome };

export const WAITING: Phase = { at: 'waiting' };

export interface Settlement {
  outcome: Outcome;
  downtimeMs?: number;
  message?: string;
}

export type PhaseEvent =
  /** the engine holds it for `for`; no record, no event (the run's output is unchanged) */
  | { type: 'wait'; for: Wait }
  | { type: 'begin'; stage: Stage }
  | { type: 'finish'; stage: Stage; ms: number; detail?: Record<string, number | string> }
  | { type: 'fail'; stage: Stage; message: string }
  | { type: 'roll-back' }
  | { type: 'rolled-back'; ok: boolean; message: string }
  | { type: 'settle'; result: Settlement };

// distributes Omit over the union, so each event keeps its own fields
export type Unstamped<E> = E extends EngineEvent ? Omit<E, 'at' | 't'> : never;

/** A journal record as the phase knows it; the engine adds run id, time and the driver state. */
export type PhaseRecord =
  | { kind: 'stage'; stage: Stage; status: 'started' | 'finished' | 'failed'; message?: string }
  | ({ kind: 'done' } & Settlement);

export type PhaseAction =
  /** set in the driver state, so that the next record carries it */
  | { do: 'mark'; flag: 'freezing' | 'restoring' }
  /** which deadline the container's remote commands get from now on */
  | { do: 'deadline'; step: keyof StepDeadlines | 'transfer' }
  | { do: 'journal'; record: PhaseRecord }
  | { do: 'emit'; event: Unstamped<EngineEvent> };

export class PhaseError extends Error {
  override name = 'PhaseError';
}

const order = (s: Stage) => STAGE_ORDER.indexOf(s);

/** Rounds a stage's breakdown to whole ms (strings pass). */
const rounded = (detail: Record<string, number | string>) =>
  Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v]));

/**
 * The next phase of container `id` and the actions that go with it. A stage
 * begins only after the one before it, and ends only while it runs: anything
 * else throws a PhaseError (before any command of that stage runs, so the
 * engine rolls the container back). Rolling back and settling are always
 * possible: whatever went wrong, a container can still be undone and reported.
 */
export function transition(id: string, phase: Phase, event: PhaseEvent): [Phase, PhaseAction[]] {
  switch (event.type) {
    case 'wait': {
      const after = lastDone(phase);
      if (after === undefined)
        throw new PhaseError(`${id}: cannot wait for ${event.for} from ${describe(phase)}`);
      return [{ at: 'queued', wait: event.for, after }, []];
    }
    case 'begin': {
      const { stage } = event;
      const after = lastDone(phase);
      const legal =
        after === undefined ? false : after === null ? stage === 'prestage' : order(stage) > order(after);
      if (!legal) throw new PhaseError(`${id}: cannot begin ${stage} from ${describe(phase)}`);
      const mark: PhaseAction[] =
        stage === 'checkpoint'
          ? [{ do: 'mark', flag: 'freezing' }]
          : stage === 'restore'
            ? [{ do: 'mark', flag: 'restoring' }]
            : [];
      return [
        { at: 'in', stage },
        [
          { do: 'deadline', step: stage },
          ...mark,
          { do: 'journal', record: { kind: 'stage', stage, status: 'started' } },
          { do: 'emit', event: { type: 'stage-started', id, stage } },
        ],
      ];
    }
    case 'finish': {
      const { stage } = event;
      if (phase.at !== 'in' || phase.stage !== stage)
        throw new PhaseError(`${id}: cannot finish ${stage} from ${describe(phase)}`);
      return [
        { at: 'after', stage },
        [
          { do: 'journal', record: { kind: 'stage', stage, status: 'finished' } },
          {
            do: 'emit',
            event: {
              type: 'stage-finished',
              id,
              stage,
              ms: event.ms,
              ...(event.detail ? { detail: rounded(event.detail) } : {}),
            },
          },
        ],
      ];
    }
    case 'fail': {
      const { stage, message } = event;
      if (phase.at !== 'in' || phase.stage !== stage)
        throw new PhaseError(`${id}: cannot fail ${stage} from ${describe(phase)}`);
      return [
        { at: 'failed', stage },
        [
          { do: 'journal', record: { kind: 'stage', stage, status: 'failed', message } },
          { do: 'emit', event: { type: 'error', id, stage, message } },
        ],
      ];
    }
    case 'roll-back':
      return [{ at: 'rolling-back' }, [{ do: 'deadline', step: 'rollback' }]];
    case 'rolled-back':
      return [
        { at: 'rolled-back', ok: event.ok },
        [{ do: 'emit', event: { type: 'rollback', id, ok: event.ok, message: event.message } }],
      ];
    case 'settle':
      return [
        { at: 'settled', outcome: event.result.outcome },
        [
          { do: 'journal', record: { kind: 'done', ...event.result } },
          { do: 'emit', event: { type: 'container-done', id, ...event.result } },
        ],
      ];
  }
}

/** Between stages: the last stage done (null: none yet); undefined while a stage runs or after a failure. */
function lastDone(phase: Phase): Stage | null | undefined {
  if (phase.at === 'waiting') return null;
  if (phase.at === 'after') return phase.stage;
  if (phase.at === 'queued') return phase.after;
  return undefined;
}

export function describe(phase: Phase): string {
  switch (phase.at) {
    case 'queued':
      return `queued for ${phase.wait}${phase.after ? ` after ${phase.after}` : ''}`;
    case 'in':
    case 'after':
    case 'failed':
      return `${phase.at} ${phase.stage}`;
    case 'rolled-back':
      return phase.ok ? 'rolled back' : 'a failed rollback';
    case 'settled':
      return `settled (${phase.outcome})`;
    default:
      return phase.at;
  }
}
