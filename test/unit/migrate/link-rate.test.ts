import { describe, expect, it } from 'vitest';
import {
  fallbackRate,
  type LinkRates,
  linkRateKey,
  type RateSample,
  rememberedRate,
  rememberRate,
  STEADY,
  steadyRate,
} from '../../../src/migrate/link-rate.ts';
import { measureLink } from '../../../src/migrate/transfer.ts';
import type { HostSession } from '../../../src/migrate/types.ts';

const MB = 1e6;

/**
 * A relay of zeros alpha -> beta as the meter saw it (every ~250 ms): the
 * channel's first second runs at a fraction of its rate (16 MB read there gave
 * 8.8 MB/s), then it holds near 40 MB/s.
 */
const COLD_THEN_STEADY: RateSample[] = [
  [0, 65536],
  [251, 1.1 * MB],
  [502, 3.9 * MB],
  [760, 9.2 * MB],
  [1011, 16.8 * MB],
  [1262, 26.4 * MB],
  [1514, 36.6 * MB],
  [1766, 46.3 * MB],
  [2017, 56.5 * MB],
  [2270, 66.2 * MB],
  [2521, 76.3 * MB],
  [2773, 86.5 * MB],
].map(([ms, bytes]) => ({ ms: ms as number, bytes: Math.round(bytes as number) }));

describe('steady window', () => {
  it('ignores the warm-up and waits for consecutive windows that agree', () => {
    // the first 16 MB alone: what the old estimate saw
    const first16 = COLD_THEN_STEADY.filter((s) => s.bytes <= 16.8 * MB);
    const cold = ((16.8 * MB) / 1011) * 1000;
    expect(cold / MB).toBeLessThan(17);
    expect(steadyRate(first16)).toBeNull();
    // as samples arrive, the first steady answer
    let answer: number | null = null;
    let seen = 0;
    for (const s of COLD_THEN_STEADY) {
      seen++;
      answer = steadyRate(COLD_THEN_STEADY.slice(0, seen));
      if (answer !== null) break;
    }
    expect(answer).not.toBeNull();
    expect((answer as number) / MB).toBeGreaterThan(37);
    expect((answer as number) / MB).toBeLessThan(43);
    // within 2.3 s of the first byte: bounded
    expect(COLD_THEN_STEADY[seen - 1]?.ms).toBeLessThan(2300);
  });

  it('a rate that keeps swinging is never called steady; the fallback is the rate after the warm-up', () => {
    const swinging: RateSample[] = [];
    let bytes = 0;
    for (let i = 0; i <= 16; i++) {
      swinging.push({ ms: i * 250, bytes });
      bytes += (i % 4 < 2 ? 2.5 : 12.5) * MB;
    }
    for (let n = 2; n <= swinging.length; n++) expect(steadyRate(swinging.slice(0, n))).toBeNull();
    const after = fallbackRate(swinging);
    const last = swinging.at(-1) as RateSample;
    const from = swinging.find((s) => s.ms >= STEADY.warmupMs) as RateSample;
    expect(after).toBeCloseTo(((last.bytes - from.bytes) * 1000) / (last.ms - from.ms), 0);
  });
});

describe('remembered rates', () => {
  it('a transfer on the link stands in for a new measurement, for a while', async () => {
    const rates: LinkRates = new Map();
    const key = linkRateKey('alpha', 'beta', 'relay');
    rememberRate(key, { kind: 'transfer', bytesPerSec: 42 * MB, at: 1000, bytes: 200 * MB }, rates);
    expect(rememberedRate(key, 2000, rates)?.bytesPerSec).toBe(42 * MB);
    expect(rememberedRate(key, 1000 + 6 * 60_000, rates)).toBeNull();
    // a small transfer is mostly warm-up: not remembered
    const other = linkRateKey('beta', 'alpha', 'relay');
    rememberRate(other, { kind: 'transfer', bytesPerSec: 9 * MB, at: 1000, bytes: 16 * MB }, rates);
    expect(rememberedRate(other, 2000, rates)).toBeNull();
  });

  it('measureLink streams nothing when the link has a fresh rate', async () => {
    const rates: LinkRates = new Map();
    rememberRate(
      linkRateKey('alpha', 'beta', 'relay'),
      { kind: 'transfer', bytesPerSec: 15 * MB, at: Date.now(), bytes: 300 * MB },
      rates,
    );
    const untouched = (host: string): HostSession =>
      ({
        host,
        exec: () => Promise.reject(new Error(`${host} was asked`)),
        spawn: () => Promise.reject(new Error(`${host} was asked`)),
      }) as unknown as HostSession;
    const m = await measureLink(untouched('alpha'), untouched('beta'), 'auto', undefined, { rates });
    expect(m.bytesPerSec).toBe(15 * MB);
    // 15 MB/s is below 160 Mbit/s: compressed
    expect(m.zstd).toBe(true);
    expect(m.source).toMatchObject({ kind: 'transfer' });
  });
});
