// What a link carries once it is warm. The first megabytes through a new SSH
// channel run at a fraction of the steady rate (TCP slow start, the channel
// window growing, processes starting), so a fixed 16 MB sample measured the
// warm-up. Here the stream runs until a steady window is seen (bounded), and
// a rate that an earlier transfer or estimate on the same link reached stands
// in for a fresh measurement for a while.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../config/yaml-file.ts';

/** Cumulative bytes seen at ms since the stream started. */
export interface RateSample {
  ms: number;
  bytes: number;
}

export interface SteadyOptions {
  /** ignored at the start: the channel warming up (ms after the first byte) */
  warmupMs: number;
  /** one window's length */
  windowMs: number;
  /** consecutive windows that must agree */
  windows: number;
  /** how far each window may be from their mean (0.1: ±10%) */
  tolerance: number;
}

export const STEADY: SteadyOptions = { warmupMs: 400, windowMs: 400, windows: 3, tolerance: 0.12 };

/** The rate between two samples, bytes/s. */
const rateOf = (a: RateSample, b: RateSample) => ((b.bytes - a.bytes) * 1000) / Math.max(1, b.ms - a.ms);

/** The last sample at or before `ms` (samples in time order). */
function at(samples: readonly RateSample[], ms: number): RateSample | undefined {
  let found: RateSample | undefined;
  for (const s of samples) {
    if (s.ms > ms) break;
    found = s;
  }
  return found;
}

/**
 * The steady rate of a stream from its samples: the rate over the last
 * `windows` consecutive windows after the warm-up, if each is within
 * `tolerance` of their mean; null while there is no such stretch yet.
 * No window starts before `notBeforeMs` (while other work shared the CPU).
 */
export function steadyRate(
  samples: readonly RateSample[],
  o: SteadyOptions = STEADY,
  notBeforeMs = 0,
): number | null {
  const first = samples.find((s) => s.bytes > 0);
  const last = samples.at(-1);
  if (!first || !last) return null;
  const start = Math.max(first.ms + o.warmupMs, notBeforeMs);
  const span = o.windowMs * o.windows;
  if (last.ms - start < span) return null;
  const edges: RateSample[] = [];
  for (let k = o.windows; k >= 0; k--) {
    const s = at(samples, last.ms - k * o.windowMs);
    if (!s || s.ms < start - o.windowMs / 2) return null;
    edges.push(s);
  }
  const rates = edges.slice(1).map((s, i) => rateOf(edges[i] as RateSample, s));
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  if (mean <= 0 || rates.some((r) => Math.abs(r - mean) > o.tolerance * mean)) return null;
  return rateOf(edges[0] as RateSample, last);
}

/**
 * When the stream never settled within its bounds: the rate after the
 * warm-up (and after `notBeforeMs`), or over all of it.
 */
export function fallbackRate(
  samples: readonly RateSample[],
  o: SteadyOptions = STEADY,
  notBeforeMs = 0,
): number {
  const first = samples.find((s) => s.bytes > 0);
  const last = samples.at(-1);
  if (!first || !last) return 0;
  const from = at(samples, Math.max(first.ms + o.warmupMs, notBeforeMs)) ?? first;
  return from.ms < last.ms ? rateOf(from, last) : rateOf({ ms: 0, bytes: 0 }, last);
}

// ------------------------------------------------------------ remembered rates
// In this process (a TUI session plans and moves many times), and a plan's
// estimate on disk between processes (`--plan`, then the `migrate` after it):
// either way for REMEMBER_MS only, since a link may be shaped or loaded since.

/** Rates this old or older are measured again. */
export const REMEMBER_MS = 5 * 60_000;
/** A transfer this small is mostly warm-up: its rate is not remembered. */
export const REMEMBER_MIN_BYTES = 32 * 1024 * 1024;

export interface RememberedRate {
  kind: 'transfer' | 'estimate';
  bytesPerSec: number;
  /** ms since the epoch */
  at: number;
  bytes: number;
}

export type LinkRates = Map<string, RememberedRate>;

/** This process's rates. */
export const linkRates: LinkRates = new Map();

export const linkRateKey = (from: string, to: string, route: 'relay' | 'direct') => `${from}->${to} ${route}`;

/** A rate measured on this link within REMEMBER_MS, or null. */
export function rememberedRate(
  key: string,
  now = Date.now(),
  rates: LinkRates = linkRates,
): RememberedRate | null {
  const r = rates.get(key);
  return r && now - r.at <= REMEMBER_MS && r.at <= now ? r : null;
}

/** Remembers a rate for the link: the newest stands in. */
export function rememberRate(key: string, rate: RememberedRate, rates: LinkRates = linkRates): void {
  if (!(rate.bytesPerSec > 0) || (rate.kind === 'transfer' && rate.bytes < REMEMBER_MIN_BYTES)) return;
  rates.set(key, rate);
}

// ------------------------------------------------------------ rates between runs
// The file is the operator's, but a rate names hosts as ssh resolved them:
// an entry counts only while both ends still resolve to the same identity
// (user, address, port, jumps), and only fresh ones are read or kept.

const rateFile = z
  .object({
    version: z.literal(1),
    rates: z
      .array(
        z
          .object({
            key: z.string().max(1024),
            from: z.string().max(4096),
            to: z.string().max(4096),
            kind: z.enum(['transfer', 'estimate']),
            bytesPerSec: z.number().positive().finite(),
            at: z.number().int().positive(),
            bytes: z.number().int().nonnegative(),
          })
          .strict(),
      )
      .max(1000),
  })
  .strict();
type RateEntry = z.infer<typeof rateFile>['rates'][number];

/** The ssh identities of the ends of `from->to route` (linkRateKey); null when not known. */
async function endsOf(
  key: string,
  identityOf: (host: string) => Promise<string>,
): Promise<{ from: string; to: string } | null> {
  const m = /^(.+?)->(.+) (relay|direct)$/.exec(key);
  if (!m) return null;
  return Promise.all([identityOf(m[1] as string), identityOf(m[2] as string)]).then(
    ([from, to]) => ({ from, to }),
    () => null,
  );
}

async function readRateFile(file: string): Promise<RateEntry[]> {
  try {
    const r = rateFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return r.success ? r.data.rates : [];
  } catch {
    return [];
  }
}

const fresh = (at: number, now: number) => now - at <= REMEMBER_MS && at <= now;

/**
 * The fresh rates of the file whose hosts still resolve as they did into
 * `rates` (a newer rate already there stays). Never fails: a file that cannot
 * be read is no rate.
 */
export async function loadRates(
  file: string,
  identityOf: (host: string) => Promise<string>,
  rates: LinkRates = linkRates,
  now = Date.now(),
): Promise<void> {
  for (const e of await readRateFile(file)) {
    if (!fresh(e.at, now) || (rates.get(e.key)?.at ?? 0) >= e.at) continue;
    const ends = await endsOf(e.key, identityOf);
    if (ends?.from === e.from && ends.to === e.to)
      rates.set(e.key, { kind: e.kind, bytesPerSec: e.bytesPerSec, at: e.at, bytes: e.bytes });
  }
}

/**
 * This process's fresh estimates into the file, beside the file's own fresh ones
 * (the newer of two for a link). Never fails: a rate not kept costs the next
 * run a measurement.
 */
export async function saveRates(
  file: string,
  identityOf: (host: string) => Promise<string>,
  rates: LinkRates = linkRates,
  now = Date.now(),
): Promise<void> {
  try {
    // a plan's estimate only: a transfer's rate is one stream's share of the link when
    // streams run side by side (docker's checkpoint beside its writable layer, or several
    // containers), good enough within a run, not as the next run's estimate
    const mine = [...rates].filter(([, r]) => r.kind === 'estimate' && fresh(r.at, now));
    if (mine.length === 0) return;
    const byKey = new Map((await readRateFile(file)).filter((e) => fresh(e.at, now)).map((e) => [e.key, e]));
    for (const [key, r] of mine) {
      if ((byKey.get(key)?.at ?? 0) > r.at) continue;
      const ends = await endsOf(key, identityOf);
      if (ends)
        byKey.set(key, { key, ...ends, kind: r.kind, bytesPerSec: r.bytesPerSec, at: r.at, bytes: r.bytes });
    }
    const text = JSON.stringify({ version: 1, rates: [...byKey.values()] });
    // only what a read would accept
    if (rateFile.safeParse(JSON.parse(text)).success) writeFileAtomic(file, `${text}\n`);
  } catch {
    // not kept: the next run measures the link again
  }
}
