// What a link carries once it is warm. The first megabytes through a new SSH
// channel run at a fraction of the steady rate (TCP slow start, the channel
// window growing, processes starting), so a fixed 16 MB sample measured the
// warm-up. Here the stream runs until a steady window is seen (bounded), and
// a rate that an earlier transfer on the same link reached (in this process)
// stands in for a fresh measurement for a while.

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
// In this process only (a TUI session plans and moves many times): a rate
// on disk would outlive what it measured, e.g. a link shaped or loaded since.

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

/** Remembers a rate for the link; a transfer's beats an estimate's. */
export function rememberRate(key: string, rate: RememberedRate, rates: LinkRates = linkRates): void {
  if (!(rate.bytesPerSec > 0) || (rate.kind === 'transfer' && rate.bytes < REMEMBER_MIN_BYTES)) return;
  rates.set(key, rate);
}
