// The link-slot arithmetic as properties: when a link's transfer slot is
// free, given the containers already frozen for it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LinkFlow,
  linkNearlyFree,
  slotFreeInMs,
  smoothCheckpointMs,
} from '../../../src/migrate/link-slots.ts';

const NOW = 100_000;

/** A flow frozen `ago` ms before NOW: checkpointing, or transferring at a measured rate. */
const flow = fc.record({
  ago: fc.integer({ min: 0, max: 20_000 }),
  transferring: fc.boolean(),
  total: fc.integer({ min: 0, max: 4e9 }),
  sentShare: fc.double({ min: 0, max: 1.2, noNaN: true }),
  rate: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2e9 })),
  checkpointMs: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 30_000 })),
  transferMs: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 60_000 })),
});
const toFlow = (f: {
  ago: number;
  transferring: boolean;
  total: number;
  sentShare: number;
  rate: number;
  checkpointMs: number;
  transferMs: number;
}): LinkFlow => ({
  started: NOW - f.ago,
  transferring: f.transferring,
  total: f.total,
  sent: Math.round(f.total * f.sentShare),
  rate: f.rate,
  checkpointMs: f.checkpointMs,
  transferMs: f.transferMs,
});
const flows = fc.array(flow.map(toFlow), { maxLength: 8 });
const cap = fc.integer({ min: 1, max: 4 });

/** What one flow still needs of a slot: its checkpoint's rest, then its transfer's. */
function need(f: LinkFlow): { ready: number; left: number } {
  if (!f.transferring) return { ready: Math.max(0, f.checkpointMs - (NOW - f.started)), left: f.transferMs };
  if (f.rate > 0 && f.total > 0) return { ready: 0, left: (Math.max(0, f.total - f.sent) * 1000) / f.rate };
  return { ready: 0, left: Math.max(0, f.transferMs - (NOW - f.started)) };
}

describe('slotFreeInMs', () => {
  it('a slot is free now while fewer than cap are in flight', () => {
    fc.assert(
      fc.property(flows, cap, (fs, c) => {
        if (fs.length < c) expect(slotFreeInMs(fs, c, NOW)).toBe(0);
      }),
    );
  });

  it('never negative', () => {
    fc.assert(
      fc.property(flows, cap, (fs, c) => {
        expect(slotFreeInMs(fs, c, NOW)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('one slot: the transfers run one after another, in the order their containers froze', () => {
    const a: LinkFlow = {
      started: NOW - 2000,
      transferring: true,
      total: 100e6,
      sent: 50e6,
      rate: 50e6,
      checkpointMs: 500,
      transferMs: 4000,
    };
    // frozen 100 ms ago, its checkpoint takes 600 ms, its transfer an estimated 3 s
    const b: LinkFlow = {
      ...a,
      started: NOW - 100,
      transferring: false,
      sent: 0,
      rate: 0,
      checkpointMs: 600,
    };
    // a: 1 s left; b: ready in 500 ms, but waits for a's slot: 1 s + 4 s
    expect(slotFreeInMs([a], 1, NOW)).toBe(1000);
    expect(slotFreeInMs([b, a], 1, NOW)).toBe(5000);
    // b alone: its checkpoint's rest, then its transfer
    expect(slotFreeInMs([b], 1, NOW)).toBe(4500);
  });

  it('a transfer measured as flowing counts its bytes left; before that, the estimate less the time gone', () => {
    const f: LinkFlow = {
      started: NOW - 1000,
      transferring: true,
      total: 0,
      sent: 0,
      rate: 0,
      checkpointMs: 0,
      transferMs: 3000,
    };
    expect(slotFreeInMs([f], 1, NOW)).toBe(2000);
    expect(slotFreeInMs([{ ...f, total: 10e6, sent: 4e6, rate: 2e6 }], 1, NOW)).toBe(3000);
    // no estimate and nothing measured yet: the link is busy for as long as anyone can tell
    expect(slotFreeInMs([{ ...f, transferMs: Number.POSITIVE_INFINITY }], 1, NOW)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('one slot: at least the sum of what is left to send, at most that plus every checkpoint still running', () => {
    fc.assert(
      fc.property(flows, (fs) => {
        if (fs.length === 0) return;
        const needs = fs.map(need);
        const got = slotFreeInMs(fs, 1, NOW);
        const left = needs.reduce((s, n) => s + n.left, 0);
        const all = needs.reduce((s, n) => s + n.ready + n.left, 0);
        expect(got).toBeGreaterThanOrEqual(left * (1 - 1e-9));
        expect(got).toBeLessThanOrEqual(all * (1 + 1e-9));
      }),
    );
  });

  it('does not depend on the order the flows are listed in (the queue is the order they froze)', () => {
    fc.assert(
      fc.property(flows, cap, fc.nat(), (fs, c, seed) => {
        // distinct start times: the freeze order is unambiguous
        const distinct = fs.map((f, i) => ({ ...f, started: f.started - i * 0.001 }));
        const turn = seed % Math.max(1, distinct.length);
        const shuffled = [...distinct.slice(turn), ...distinct.slice(0, turn)].reverse();
        expect(slotFreeInMs(shuffled, c, NOW)).toBe(slotFreeInMs(distinct, c, NOW));
      }),
    );
  });

  it('one more container frozen for the link never frees a slot sooner', () => {
    fc.assert(
      fc.property(flows, flow.map(toFlow), cap, (fs, extra, c) => {
        // frozen after the others: it queues behind them
        const later = { ...extra, started: Math.max(NOW - 1, ...fs.map((f) => f.started)) + 1 };
        expect(slotFreeInMs([...fs, later], c, NOW + 2)).toBeGreaterThanOrEqual(
          slotFreeInMs(fs, c, NOW + 2) * (1 - 1e-9),
        );
      }),
    );
  });

  it('more bytes left on a transfer never frees a slot sooner', () => {
    fc.assert(
      fc.property(flows, cap, fc.nat(), fc.integer({ min: 1, max: 1e9 }), (fs, c, pick, more) => {
        const i = fs.findIndex(
          (f, k) => k >= pick % Math.max(1, fs.length) && f.transferring && f.rate > 0 && f.total > 0,
        );
        if (i < 0) return;
        const f = fs[i] as LinkFlow;
        const heavier = fs.map((g, k) => (k === i ? { ...f, total: Math.max(f.total, f.sent) + more } : g));
        expect(slotFreeInMs(heavier, c, NOW)).toBeGreaterThanOrEqual(slotFreeInMs(fs, c, NOW) * (1 - 1e-9));
      }),
    );
  });
});

describe('linkNearlyFree', () => {
  it('free when a slot is, or will be within the checkpoint about to start', () => {
    fc.assert(
      fc.property(flows, cap, fc.integer({ min: 0, max: 60_000 }), (fs, c, ck) => {
        expect(linkNearlyFree(fs, c, ck, NOW)).toBe(fs.length < c || slotFreeInMs(fs, c, NOW) <= ck);
      }),
    );
    const busy: LinkFlow = {
      started: NOW,
      transferring: true,
      total: 0,
      sent: 0,
      rate: 0,
      checkpointMs: 0,
      transferMs: 1000,
    };
    expect(linkNearlyFree([busy], 1, 999, NOW)).toBe(false);
    expect(linkNearlyFree([busy], 1, 1000, NOW)).toBe(true);
    expect(linkNearlyFree([busy], 2, 0, NOW)).toBe(true);
  });
});

describe('smoothCheckpointMs', () => {
  it('the first measurement stands; later ones move it 40% of the way', () => {
    expect(smoothCheckpointMs(undefined, 800)).toBe(800);
    expect(smoothCheckpointMs(1000, 500)).toBe(800);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (p, t) => {
        const s = smoothCheckpointMs(p, t);
        expect(s).toBeGreaterThanOrEqual(Math.min(p, t) - 1e-6);
        expect(s).toBeLessThanOrEqual(Math.max(p, t) + 1e-6);
      }),
    );
  });
});
