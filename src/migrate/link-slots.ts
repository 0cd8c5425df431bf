// The link-slot arithmetic behind "freeze just in time", as pure functions:
// when will one of a link's transfer slots be free, given the containers
// already frozen for it? Freezing earlier than a checkpoint's length before
// that only adds downtime.

/** A container frozen and bound for a link: checkpointing, then transferring. */
export interface LinkFlow {
  /** when its checkpoint started, then (once transferring) when its transfer started (ms, one clock) */
  started: number;
  transferring: boolean;
  /** bytes to send (0: unknown) and sent so far */
  total: number;
  sent: number;
  /** measured bytes/s of its transfer (0: none yet) */
  rate: number;
  /** the plan's estimates, ms; Infinity when there is none */
  checkpointMs: number;
  transferMs: number;
}

/**
 * In how many ms one of the link's `cap` transfer slots is free. The link's
 * queue, in the order its containers froze: each transfer starts when its
 * checkpoint is done and a slot is free; measured once bytes flow, estimated
 * before. 0 while fewer than `cap` are in flight.
 */
export function slotFreeInMs(flows: readonly LinkFlow[], cap: number, now: number): number {
  if (flows.length < cap) return 0;
  const slots = new Array<number>(cap).fill(0);
  for (const f of [...flows].sort((a, b) => a.started - b.started)) {
    const ready = f.transferring ? 0 : Math.max(0, f.checkpointMs - (now - f.started));
    const left = !f.transferring
      ? f.transferMs
      : f.rate > 0 && f.total > 0
        ? (Math.max(0, f.total - f.sent) * 1000) / f.rate
        : Math.max(0, f.transferMs - (now - f.started));
    const s = slots.indexOf(Math.min(...slots));
    slots[s] = Math.max(slots[s] ?? 0, ready) + left;
  }
  return Math.min(...slots);
}

/**
 * Whether a container whose checkpoint takes `checkpointMs` may freeze now:
 * a slot is free, or will be by the time its checkpoint is done (the
 * pipeline still overlaps).
 */
export function linkNearlyFree(
  flows: readonly LinkFlow[],
  cap: number,
  checkpointMs: number,
  now: number,
): boolean {
  return flows.length < cap || slotFreeInMs(flows, cap, now) <= checkpointMs;
}

/** The moving average of a source's checkpoint times: the last one weighs 40%. */
export const smoothCheckpointMs = (prev: number | undefined, took: number): number =>
  prev === undefined ? took : prev * 0.6 + took * 0.4;
