// The engine's freeze queue, as pure functions: one container at a time holds
// the turn to freeze; when it has frozen (or dropped out) the next in line
// gets it. Who is next comes from a chooser (the plan's order, or the
// flow-shop order of those left); the queue itself only keeps the line.

import type { MigrationItem, Plan } from '../plan/migration.ts';
import { orderFor } from '../plan/schedule.ts';
import { scheduleInput } from './scheduling.ts';

export interface FreezeQueue {
  /** indices still waiting for their turn, ascending */
  readonly waiting: readonly number[];
  /** the index that holds the turn, if any */
  readonly holder: number | undefined;
}

/** Picks who freezes next among those waiting (never called with none). */
export type Chooser = (waiting: readonly number[]) => number;

/** A change of the queue, and whom it gave the turn to (if anyone). */
export interface QueueStep {
  queue: FreezeQueue;
  granted: number | undefined;
}

/** The turn passes on: the holder (if any) is done, the chosen one of those waiting holds it. */
function grant(waiting: readonly number[], next: Chooser): QueueStep {
  if (waiting.length === 0) return { queue: { waiting, holder: undefined }, granted: undefined };
  const k = next(waiting);
  return { queue: { waiting: waiting.filter((w) => w !== k), holder: k }, granted: k };
}

/** n containers in line (indices 0..n-1); the first turn is given at once. */
export function openQueue(n: number, next: Chooser): QueueStep {
  return grant(
    Array.from({ length: n }, (_, k) => k),
    next,
  );
}

/**
 * k has frozen, or will never freeze: it leaves the line. The holder leaving
 * passes the turn on; one still waiting just drops out; anyone else changes
 * nothing.
 */
export function leaveQueue(q: FreezeQueue, k: number, next: Chooser): QueueStep {
  if (q.holder === k) return grant(q.waiting, next);
  return { queue: { waiting: q.waiting.filter((w) => w !== k), holder: q.holder }, granted: undefined };
}

/**
 * Who freezes next, among those waiting for the turn. auto with estimates:
 * the flow-shop order of the rest, from the estimates as refined so far;
 * otherwise the plan's order. Either way dependencies first.
 */
export function nextInLine(plan: Plan, waiting: readonly number[]): number {
  const items = plan.items;
  const first = Math.min(...waiting);
  if (plan.options.strategy !== 'auto' || !plan.estimates || waiting.length < 2) return first;
  const rest = waiting.map((k) => items[k] as MigrationItem);
  try {
    const order = orderFor('auto', scheduleInput(rest, plan.estimates, plan.edges ?? [], plan.options));
    const id = order[0];
    const k = waiting.find((i) => items[i]?.id === id);
    return k ?? first;
  } catch {
    return first;
  }
}
