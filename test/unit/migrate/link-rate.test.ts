import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fallbackRate,
  type LinkRates,
  linkRateKey,
  loadRates,
  type RateSample,
  REMEMBER_MS,
  rememberedRate,
  rememberRate,
  STEADY,
  saveRates,
  steadyRate,
} from '../../../src/migrate/link-rate.ts';
import { measureLink, relay } from '../../../src/migrate/transfer.ts';
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
    for (const _s of COLD_THEN_STEADY) {
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

  it('reads no window that starts before the other work was done', () => {
    // 20 MB/s while the plan's probes share the CPU (until 2500 ms), then 40 MB/s
    const loaded: RateSample[] = [];
    let bytes = 0;
    for (let ms = 0; ms <= 4500; ms += 250) {
      loaded.push({ ms, bytes });
      bytes += (ms < 2500 ? 5 : 10) * MB;
    }
    // without a quiet mark, the loaded stretch looks steady
    const early = steadyRate(loaded.filter((s) => s.ms <= 2500));
    expect((early as number) / MB).toBeCloseTo(20, 0);
    // with it: nothing until three windows after 2500 ms, then the free rate
    expect(
      steadyRate(
        loaded.filter((s) => s.ms <= 3500),
        STEADY,
        2500,
      ),
    ).toBeNull();
    expect((steadyRate(loaded, STEADY, 2500) as number) / MB).toBeCloseTo(40, 0);
    expect(fallbackRate(loaded, STEADY, 2500) / MB).toBeCloseTo(40, 0);
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

/**
 * A "host" that runs commands on this machine. The zeros of the link test
 * are slowed to about 20 MB/s (blocks of 1 MB every 50 ms), to spare the CPU.
 */
function localHost(name: string, made: string[]): HostSession {
  const slow = (script: string) =>
    script.replace(/head -c \d+ \/dev\/zero/, '(while :; do head -c 1000000 /dev/zero; sleep 0.05; done)');
  return {
    host: name,
    exec: async (argv) =>
      new Promise((resolve) => {
        const p = spawn(argv[0] as string, argv.slice(1));
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => {
          stdout += d;
        });
        p.stderr.on('data', (d: Buffer) => {
          stderr += d;
        });
        p.on('close', (code, signal) => {
          if (argv[0] === 'mktemp') made.push(stdout.trim());
          resolve({ stdout, stderr, code, signal });
        });
      }),
    spawn: async (argv) => {
      const p = spawn(argv[0] as string, argv.slice(1).map(slow));
      const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        p.on('close', (code, signal) => resolve({ code, signal })),
      );
      return {
        stdout: p.stdout,
        stderr: p.stderr,
        stdin: p.stdin,
        done,
        kill: (s) => p.kill(s as NodeJS.Signals),
      };
    },
  } as HostSession;
}

describe('measureLink beside other work (real streams, on this machine)', () => {
  it('streams while the other work runs, and takes its rate only from windows after it', async () => {
    const made: string[] = [];
    const started = performance.now();
    let quietAt = Number.NaN;
    const quiet = new Promise<void>((resolve) =>
      setTimeout(() => {
        quietAt = performance.now() - started;
        resolve();
      }, 1500),
    );
    const m = await measureLink(localHost('alpha', made), localHost('beta', made), 'none', undefined, {
      rates: new Map(),
      quiet,
    });
    const took = performance.now() - started;
    expect(m.bytesPerSec).toBeGreaterThan(0);
    // the warm-up went by while busy; then three windows of its own at least
    expect(took).toBeGreaterThanOrEqual(quietAt + STEADY.windows * STEADY.windowMs);
    expect(m.source).toMatchObject({ kind: 'measured' });
    expect(made).toHaveLength(2);
    for (const d of made) expect(existsSync(d)).toBe(false);
  });

  it('a stop ends the stream at once, removes the temp dirs, and rejects', async () => {
    const made: string[] = [];
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 600);
    await expect(
      measureLink(localHost('alpha', made), localHost('beta', made), 'none', undefined, {
        rates: new Map(),
        quiet: new Promise(() => undefined),
        stop: stop.signal,
      }),
    ).rejects.toThrow(/alpha -> beta: its measurement was stopped/);
    expect(made).toHaveLength(2);
    for (const d of made) expect(existsSync(d)).toBe(false);
  });

  it('a held relay moves nothing until it is let go, and finishes after', async () => {
    const made: string[] = [];
    const dirs = [mkdtempSync(join(tmpdir(), 'ferry-hold-')), mkdtempSync(join(tmpdir(), 'ferry-hold-'))];
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldAt = Number.NaN;
    let releasedAt = Number.NaN;
    const reports: number[] = [];
    const t0 = performance.now();
    setTimeout(() => {
      releasedAt = performance.now() - t0;
      release();
    }, 1200);
    try {
      const r = await relay({
        from: localHost('alpha', made),
        to: localHost('beta', made),
        // 30 MB at full speed (the redirection keeps localHost from slowing it)
        send: 'head -c 30000000 </dev/zero',
        receive: 'cat >/dev/null',
        tmpFrom: dirs[0] as string,
        tmpTo: dirs[1] as string,
        zstd: false,
        hold: (bytes) => {
          if (bytes < 2_000_000 || releasedAt >= 0) return undefined;
          heldAt = Number.isNaN(heldAt) ? performance.now() - t0 : heldAt;
          return released;
        },
        onProgress: () => reports.push(performance.now() - t0),
      });
      expect(r.bytes).toBe(30_000_000);
      expect(heldAt).toBeLessThan(releasedAt);
      // nothing passed while it was held
      expect(reports.filter((t) => t > heldAt + 50 && t < releasedAt)).toEqual([]);
      expect(reports.some((t) => t > releasedAt)).toBe(true);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('remembered rates between runs (a file)', () => {
  const now = 1_800_000_000_000;
  const ids: Record<string, string> = { alpha: 'root@10.99.0.11:22', beta: 'root@10.99.0.12:22' };
  const identityOf = async (h: string) => ids[h] ?? `${h}?`;
  const key = linkRateKey('alpha', 'beta', 'relay');
  const rate = { kind: 'estimate' as const, bytesPerSec: 90e6, at: now - 60_000, bytes: 200e6 };
  const withFile = (f: (file: string) => Promise<void>) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-rates-'));
    try {
      await f(join(dir, 'cache', 'link-rates.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it(
    'a rate kept by one process is read by the next while both hosts resolve as they did',
    withFile(async (file) => {
      await saveRates(file, identityOf, new Map([[key, rate]]), now);
      const next: LinkRates = new Map();
      await loadRates(file, identityOf, next, now + 1000);
      expect(next.get(key)).toEqual(rate);
      // beta is another machine now (the ssh config changed): not its rate
      const elsewhere: LinkRates = new Map();
      await loadRates(
        file,
        async (h) => (h === 'beta' ? 'root@10.99.0.99:22' : identityOf(h)),
        elsewhere,
        now,
      );
      expect(elsewhere.size).toBe(0);
    }),
  );

  it(
    "a transfer's rate stays in its process: it may be one stream's share of the link",
    withFile(async (file) => {
      await saveRates(file, identityOf, new Map([[key, { ...rate, kind: 'transfer' as const }]]), now);
      const next: LinkRates = new Map();
      await loadRates(file, identityOf, next, now);
      expect(next.size).toBe(0);
    }),
  );

  it(
    'a rate older than REMEMBER_MS is neither read nor kept; a newer one in the process stays',
    withFile(async (file) => {
      await saveRates(file, identityOf, new Map([[key, rate]]), now);
      const later: LinkRates = new Map();
      await loadRates(file, identityOf, later, rate.at + REMEMBER_MS + 1);
      expect(later.size).toBe(0);
      const newer = { ...rate, at: now, bytesPerSec: 50e6 };
      const mine: LinkRates = new Map([[key, newer]]);
      await loadRates(file, identityOf, mine, now);
      expect(mine.get(key)).toEqual(newer);
      // kept again later: the stale entry goes, the fresh one is written
      const other = linkRateKey('beta', 'alpha', 'relay');
      await saveRates(
        file,
        identityOf,
        new Map([[other, { ...rate, at: now + REMEMBER_MS }]]),
        now + REMEMBER_MS,
      );
      const json = JSON.parse(readFileSync(file, 'utf8')) as { rates: { key: string }[] };
      expect(json.rates.map((r) => r.key)).toEqual([other]);
    }),
  );

  it(
    'a file that is not ours, or holds a rate that is no rate, gives nothing and is no error',
    withFile(async (file) => {
      await saveRates(file, identityOf, new Map([[key, rate]]), now);
      const good = readFileSync(file, 'utf8');
      for (const text of [
        'not json',
        good.replace('"bytesPerSec":90000000', '"bytesPerSec":-1'),
        good.replace('"version":1', '"version":2'),
        good.replace('"kind":"estimate"', '"kind":"estimate","shell":"rm -rf /"'),
      ]) {
        writeFileSync(file, text);
        const got: LinkRates = new Map();
        await loadRates(file, identityOf, got, now);
        expect(got.size, text.slice(0, 80)).toBe(0);
      }
      const none: LinkRates = new Map();
      await loadRates(join(file, 'missing'), identityOf, none, now);
      expect(none.size).toBe(0);
    }),
  );
});
