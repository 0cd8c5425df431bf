// A migration run as the run view shows it, folded from the engine's events. Pure.
import type { Outcome, Stage } from '../plan/migration.ts';
import type { EngineEvent, PlanView, RunSummary, Strategy } from './types.ts';

export type ItemPhase = 'waiting' | Stage | 'done';

export interface RunItemState {
  id: string;
  name: string;
  host: string;
  destination: string;
  phase: ItemPhase;
  outcome: Outcome | null;
  /** bytes sent so far and the rate, from the engine's bytes events */
  bytes: number;
  rate: number;
  /** what the transfer should move about (the container's memory), when the plan knows */
  expectedBytes: number | null;
  /** run time (ms since the run started) of its first stage and of its end */
  startT: number | null;
  endT: number | null;
  downtimeMs: number | null;
  message: string | null;
}

export interface LogLine {
  /** ms since the run started */
  t: number;
  level: 'info' | 'warning' | 'error';
  text: string;
}

export interface RunState {
  runId: string | null;
  strategy: Strategy;
  order: string[];
  items: Record<string, RunItemState>;
  log: LogLine[];
  /** wall clock when the run was started here (for the elapsed clock before the first event) */
  startedAt: number;
  /** the latest run time seen in an event */
  lastT: number;
  summary: RunSummary | null;
  /** ctrl-c was pressed: safe stop asked for */
  cancelling: boolean;
  /** the run itself failed (not a container): the engine's message */
  failure: string | null;
}

const LOG_MAX = 500;

export function initialRun(plan: PlanView, now: number): RunState {
  const items: Record<string, RunItemState> = {};
  for (const it of plan.items)
    items[it.id] = {
      id: it.id,
      name: it.container.name,
      host: it.container.host,
      destination: it.destination,
      phase: 'waiting',
      outcome: null,
      bytes: 0,
      rate: 0,
      expectedBytes: plan.memoryBytes?.[it.id] ?? null,
      startT: null,
      endT: null,
      downtimeMs: null,
      message: null,
    };
  return {
    runId: null,
    strategy: plan.options.strategy,
    order: plan.items.map((i) => i.id),
    items,
    log: [],
    startedAt: now,
    lastT: 0,
    summary: null,
    cancelling: false,
    failure: null,
  };
}

const short = (id: string) => id.split('/').pop() ?? id;

function patch(s: RunState, id: string, p: Partial<RunItemState>): Record<string, RunItemState> {
  const cur = s.items[id];
  if (!cur) return s.items;
  return { ...s.items, [id]: { ...cur, ...p } };
}

function log(s: RunState, line: LogLine): LogLine[] {
  const next = [...s.log, line];
  return next.length > LOG_MAX ? next.slice(next.length - LOG_MAX) : next;
}

export function reduceRun(s: RunState, e: EngineEvent): RunState {
  const base = { ...s, lastT: Math.max(s.lastT, e.t) };
  switch (e.type) {
    case 'run-started':
      return {
        ...base,
        runId: e.runId,
        strategy: e.strategy,
        // the engine's order, and anything it did not name after it
        order: [...e.order, ...s.order.filter((id) => !e.order.includes(id))],
        log: log(s, {
          t: e.t,
          level: 'info',
          text: `run ${e.runId}: ${e.items.length} containers, ${e.strategy}`,
        }),
      };
    case 'stage-started': {
      const cur = s.items[e.id];
      return {
        ...base,
        items: patch(s, e.id, { phase: e.stage, ...(cur?.startT === null ? { startT: e.t } : {}) }),
      };
    }
    case 'stage-finished':
      if (e.stage !== 'transfer') return base;
      // the transfer is over: show it complete even if the last bytes event was earlier
      return {
        ...base,
        items: patch(s, e.id, {
          bytes: typeof e.detail?.bytes === 'number' ? e.detail.bytes : (s.items[e.id]?.bytes ?? 0),
        }),
      };
    case 'bytes':
      return { ...base, items: patch(s, e.id, { bytes: e.bytes, rate: e.rateBytesPerSec }) };
    case 'estimate':
      return base;
    case 'paused':
      return {
        ...base,
        log: log(s, { t: e.t, level: 'info', text: `${short(e.id)}: paused for the consistent cut` }),
      };
    case 'warning':
      return {
        ...base,
        log: log(s, { t: e.t, level: 'warning', text: `${e.id ? `${short(e.id)}: ` : ''}${e.message}` }),
      };
    case 'error':
      return {
        ...base,
        items: patch(s, e.id, { message: e.message }),
        log: log(s, { t: e.t, level: 'error', text: `${short(e.id)} (${e.stage}): ${e.message}` }),
      };
    case 'rollback':
      return {
        ...base,
        log: log(s, {
          t: e.t,
          level: e.ok ? 'warning' : 'error',
          text: `${short(e.id)}: ${e.ok ? 'rolled back' : 'ROLLBACK FAILED'}: ${e.message}`,
        }),
      };
    case 'container-done':
      return {
        ...base,
        items: patch(s, e.id, {
          phase: 'done',
          outcome: e.outcome,
          endT: e.t,
          downtimeMs: e.downtimeMs ?? null,
          message: e.message ?? s.items[e.id]?.message ?? null,
        }),
        log:
          e.outcome === 'migrated'
            ? s.log
            : log(s, {
                t: e.t,
                level: e.outcome === 'failed' ? 'error' : 'warning',
                text: `${short(e.id)}: ${e.outcome}${e.message ? `: ${e.message}` : ''}`,
              }),
      };
    case 'run-finished':
      return { ...base, summary: e.summary };
  }
}

export function runFinished(s: RunState | null): boolean {
  return s !== null && (s.summary !== null || s.failure !== null);
}
