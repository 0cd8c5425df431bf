// A step's deadline: from the memory to dump, or one value for every step
// (FERRY_STEP_DEADLINE_MS, which the CLI reads and hands over).
import { describe, expect, it } from 'vitest';
import { deadlinesFor, forcedDeadlines } from '../../../src/migrate/deadlines.ts';

describe('step deadlines', () => {
  it('grow with the memory to dump for checkpoint, restore and rollback only', () => {
    const idle = deadlinesFor(0);
    expect(idle).toEqual({
      prestage: 120_000,
      checkpoint: 60_000,
      restore: 60_000,
      verify: 60_000,
      finalize: 60_000,
      rollback: 60_000,
    });
    const big = deadlinesFor(800_000_000);
    expect([big.checkpoint, big.restore, big.rollback]).toEqual([160_000, 160_000, 160_000]);
    expect([big.prestage, big.verify, big.finalize]).toEqual([120_000, 60_000, 60_000]);
  });

  it('are not read from the environment: FERRY_STEP_DEADLINE_MS reaches them only through the caller', () => {
    const saved = process.env.FERRY_STEP_DEADLINE_MS;
    process.env.FERRY_STEP_DEADLINE_MS = '10000';
    try {
      expect(deadlinesFor(0).checkpoint).toBe(60_000);
    } finally {
      if (saved === undefined) delete process.env.FERRY_STEP_DEADLINE_MS;
      else process.env.FERRY_STEP_DEADLINE_MS = saved;
    }
  });

  it('forced: a positive number sets every step; anything else sets none', () => {
    expect(forcedDeadlines('10000')).toEqual({
      prestage: 10_000,
      checkpoint: 10_000,
      restore: 10_000,
      verify: 10_000,
      finalize: 10_000,
      rollback: 10_000,
    });
    for (const v of [undefined, '', '0', '-5', 'soon', 'Infinity']) expect(forcedDeadlines(v)).toEqual({});
  });
});
