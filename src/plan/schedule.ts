// Migration schedules: in which order, and when, each container of a group is
// checkpointed (source host), transferred (source->destination link) and
// restored (destination host). A pure model: stage durations are estimates
// that do not depend on how many stages share a resource; caps say how many
// may share it. No I/O, no clocks, no randomness: the same input always gives
// the same schedule.

export interface StageEstimate {
  checkpointMs: number;
  transferMs: number;
  restoreMs: number;
}

export interface ScheduleItem {
  /** container key, e.g. "alpha/podman/wf-sink-1" */
  id: string;
  source: string;
  destination: string;
  estimate: StageEstimate;
  /**
   * The transfer's resource. Default `${source}->${destination}` (a directed
   * link). Give transfers the same key when they share one bottleneck, e.g.
   * streams relayed through the operator's machine.
   */
  link?: string;
}

export interface ScheduleCaps {
  checkpointPerSource?: number;
  transferPerLink?: number;
  restorePerDestination?: number;
}

export interface ScheduleInput {
  items: ScheduleItem[];
  /**
   * [before, after]: `after` may not start its checkpoint before `before` has
   * started its checkpoint. A cycle is rejected with a ScheduleCycleError.
   */
  edges: [string, string][];
  /**
   * Concurrency caps, positive integers or Infinity. Default 1 each, except
   * for 'parallel' (see PARALLEL_DEFAULT_CAP). A host's checkpoint cap and its
   * restore cap are separate pools: a host that is both a source and a
   * destination may checkpoint and restore at the same time.
   */
  caps?: ScheduleCaps;
}

/** every strategy, in the order ferry offers them: --help, and the TUI's strategy key cycles through them */
export const STRATEGIES = ['auto', 'pipelined', 'sequential', 'parallel'] as const;
/** How a group's stages may overlap; `auto` picks the order and overlap from the estimates. */
export type Strategy = (typeof STRATEGIES)[number];

export type StageName = 'checkpoint' | 'transfer' | 'restore';

export interface PlannedStage {
  id: string;
  stage: StageName;
  startMs: number;
  endMs: number;
}

export interface Schedule {
  order: string[];
  /** sorted by start, then by position in `order`, then stage */
  stages: PlannedStage[];
  makespanMs: number;
  /** restore end minus checkpoint start: the container is frozen or absent meanwhile */
  downtimeMs: Record<string, number>;
}

/**
 * 'parallel' with no caps given: the engine's default concurrency
 * (DEFAULT_OPTIONS.maxParallel in src/migrate/types.ts). Unlimited would
 * model every stage at full speed at once, which the fixed-duration model
 * cannot price: the real cost of crowding a link is slower transfers.
 */
export const PARALLEL_DEFAULT_CAP = 4;

/** Insertion passes after NEH; each pass costs O(n^2) simulations. */
const LOCAL_SEARCH_PASSES = 3;
/**
 * Item-stages the local search may simulate (about half a second); counted,
 * not timed, so the result stays deterministic. NEH itself always completes.
 */
const LOCAL_SEARCH_BUDGET = 5_000_000;

export class ScheduleCycleError extends Error {
  override name = 'ScheduleCycleError';
  /** the ids of one cycle, first repeated at the end: a -> b -> a */
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`);
    this.cycle = cycle;
  }
}

const STAGES: readonly StageName[] = ['checkpoint', 'transfer', 'restore'];

// ---------------------------------------------------------------------------
// The input, validated and turned into indices once.

interface Problem {
  ids: string[];
  index: Map<string, number>;
  /** dur[stage][item] */
  dur: number[][];
  /** res[stage][item]: a resource index */
  res: number[][];
  /** the stage each resource serves, which picks its cap */
  resStage: number[];
  /** direct predecessors (edge `before`s) and successors of each item, deduplicated */
  preds: number[][];
  succs: number[][];
}

function compile(input: ScheduleInput): Problem {
  const ids = input.items.map((i) => i.id);
  const index = new Map<string, number>();
  for (const [k, id] of ids.entries()) {
    if (index.has(id)) throw new Error(`duplicate item id ${id}`);
    index.set(id, k);
  }
  const dur: number[][] = [[], [], []];
  const res: number[][] = [[], [], []];
  const resStage: number[] = [];
  const resIndex = new Map<string, number>();
  const resource = (stage: number, key: string): number => {
    // keyed by stage too: checkpoint and restore pools of one host are distinct
    const k = `${stage}\n${key}`;
    let r = resIndex.get(k);
    if (r === undefined) {
      r = resStage.length;
      resIndex.set(k, r);
      resStage.push(stage);
    }
    return r;
  };
  for (const item of input.items) {
    const e = item.estimate;
    const ds = [e.checkpointMs, e.transferMs, e.restoreMs];
    for (const [s, d] of ds.entries()) {
      if (!Number.isFinite(d) || d < 0)
        throw new Error(`${item.id}: ${STAGES[s]} estimate must be a finite number >= 0, got ${d}`);
      dur[s]?.push(d);
    }
    res[0]?.push(resource(0, item.source));
    res[1]?.push(resource(1, item.link ?? `${item.source}->${item.destination}`));
    res[2]?.push(resource(2, item.destination));
  }
  const preds: number[][] = ids.map(() => []);
  const succs: number[][] = ids.map(() => []);
  const seen = new Set<string>();
  for (const [before, after] of input.edges) {
    const b = index.get(before);
    const a = index.get(after);
    if (b === undefined) throw new Error(`edge ${before} -> ${after}: unknown item ${before}`);
    if (a === undefined) throw new Error(`edge ${before} -> ${after}: unknown item ${after}`);
    const k = `${b},${a}`;
    if (seen.has(k)) continue;
    seen.add(k);
    succs[b]?.push(a);
    preds[a]?.push(b);
  }
  const problem = { ids, index, dur, res, resStage, preds, succs };
  const cycle = findCycle(problem);
  if (cycle) throw new ScheduleCycleError(cycle.map((k) => ids[k] ?? ''));
  return problem;
}

/** One cycle, by iterative DFS from items in input order and edges in input order; null if none. */
function findCycle(p: Problem): number[] | null {
  const n = p.ids.length;
  const color = new Uint8Array(n); // 0 new, 1 on the path, 2 done
  for (let s = 0; s < n; s++) {
    if (color[s] !== 0) continue;
    const path = [s];
    const next = [0];
    color[s] = 1;
    while (path.length > 0) {
      const v = path.at(-1) ?? 0;
      const k = next.at(-1) ?? 0;
      const out = p.succs[v] ?? [];
      if (k < out.length) {
        next[next.length - 1] = k + 1;
        const w = out[k] ?? 0;
        if (color[w] === 1) return [...path.slice(path.indexOf(w)), w];
        if (color[w] === 0) {
          color[w] = 1;
          path.push(w);
          next.push(0);
        }
      } else {
        color[v] = 2;
        path.pop();
        next.pop();
      }
    }
  }
  return null;
}

/** The caps a schedule is simulated with: the given ones, else the strategy's default, checked. */
function effectiveCaps(strategy: Strategy, caps: ScheduleCaps | undefined): [number, number, number] {
  const dflt = strategy === 'parallel' ? PARALLEL_DEFAULT_CAP : 1;
  const out: [number, number, number] = [
    caps?.checkpointPerSource ?? dflt,
    caps?.transferPerLink ?? dflt,
    caps?.restorePerDestination ?? dflt,
  ];
  for (const c of out)
    if (!(c === Number.POSITIVE_INFINITY || (Number.isInteger(c) && c >= 1)))
      throw new Error(`caps must be positive integers or Infinity, got ${c}`);
  return out;
}

/** Kahn's algorithm; among the ready items the one with the lowest rank goes first. */
function topoByRank(p: Problem, rank: readonly number[]): number[] {
  const n = p.ids.length;
  const indeg = p.preds.map((ps) => ps.length);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) ready.push(i);
  const out: number[] = [];
  while (ready.length > 0) {
    // O(n) pick: groups are small, and this keeps ties deterministic
    let best = 0;
    for (let k = 1; k < ready.length; k++)
      if ((rank[ready[k] ?? 0] ?? 0) < (rank[ready[best] ?? 0] ?? 0)) best = k;
    const v = ready.splice(best, 1)[0] ?? 0;
    out.push(v);
    for (const w of p.succs[v] ?? []) {
      const d = (indeg[w] ?? 0) - 1;
      indeg[w] = d;
      if (d === 0) ready.push(w);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Simulation. `start[stage][item]` is NaN for items not in the sequence.

/** start and end of stage s of item i at [s * n + i]; NaN until scheduled */
interface Times {
  n: number;
  start: Float64Array;
  end: Float64Array;
}

function emptyTimes(n: number): Times {
  return {
    n,
    start: new Float64Array(3 * n).fill(Number.NaN),
    end: new Float64Array(3 * n).fill(Number.NaN),
  };
}

const startOf = (t: Times, s: number, i: number): number => t.start[s * t.n + i] ?? Number.NaN;
const endOf = (t: Times, s: number, i: number): number => t.end[s * t.n + i] ?? Number.NaN;

/**
 * Ordered discipline (sequential, pipelined, auto): every resource serves the
 * items in sequence order, like a permutation flow shop, with `cap` servers
 * per resource (a FIFO multi-server queue). Items on different resources do
 * not wait for each other. Each start is a max of earlier ends and starts, so
 * adding constraints (sequential's chain) can only delay things: pipelined is
 * never slower than sequential on the same order.
 *
 * Predecessors missing from `seq` are ignored, so NEH can price partial sequences.
 */
function runOrdered(p: Problem, caps: readonly number[], seq: readonly number[], chained: boolean): Times {
  const times = emptyTimes(p.ids.length);
  const nRes = p.resStage.length;
  const lastStart = new Float64Array(nRes);
  // end times of each resource's servers, created as needed (never more than cap)
  const servers: number[][] = Array.from({ length: nRes }, () => []);
  let prevEnd = 0;
  for (const i of seq) {
    let ready = chained ? prevEnd : 0;
    for (const b of p.preds[i] ?? []) {
      const s = startOf(times, 0, b);
      if (!Number.isNaN(s) && s > ready) ready = s;
    }
    for (let s = 0; s < 3; s++) {
      const r = p.res[s]?.[i] ?? 0;
      const d = p.dur[s]?.[i] ?? 0;
      const srv = servers[r] ?? [];
      let t = Math.max(ready, lastStart[r] ?? 0);
      if (srv.length < (caps[p.resStage[r] ?? 0] ?? 1)) srv.push(t + d);
      else {
        let m = 0;
        for (let k = 1; k < srv.length; k++) if ((srv[k] ?? 0) < (srv[m] ?? 0)) m = k;
        t = Math.max(t, srv[m] ?? 0);
        srv[m] = t + d;
      }
      lastStart[r] = t;
      times.start[s * times.n + i] = t;
      times.end[s * times.n + i] = t + d;
      ready = t + d;
    }
    prevEnd = ready;
  }
  return times;
}

/**
 * Greedy discipline (parallel): a discrete-event simulation where a stage
 * starts as soon as its container's previous stage has ended, its edges allow,
 * and its resource has a free slot; on a contended resource the item earlier
 * in `seq` wins.
 */
function runGreedy(p: Problem, caps: readonly number[], seq: readonly number[]): Times {
  const n = p.ids.length;
  const times = emptyTimes(n);
  const busy = new Int32Array(p.resStage.length);
  const next = new Uint8Array(n); // next stage to run; 3 when done
  const inFlight = new Uint8Array(n);
  let running: { i: number; s: number; r: number; end: number }[] = [];
  let done = 0;
  let t = 0;
  for (;;) {
    running = running.filter((x) => {
      if (x.end > t) return true;
      busy[x.r] = (busy[x.r] ?? 0) - 1;
      inFlight[x.i] = 0;
      next[x.i] = x.s + 1;
      if (x.s === 2) done++;
      return false;
    });
    if (done === seq.length) break;
    // one pass in order suffices: predecessors come earlier in seq, so a
    // checkpoint started here can unblock a later item in the same pass
    for (const i of seq) {
      const s = next[i] ?? 3;
      if (s === 3 || inFlight[i] === 1) continue;
      if (s === 0 && (p.preds[i] ?? []).some((b) => Number.isNaN(startOf(times, 0, b)))) continue;
      const r = p.res[s]?.[i] ?? 0;
      if ((busy[r] ?? 0) >= (caps[p.resStage[r] ?? 0] ?? 1)) continue;
      const d = p.dur[s]?.[i] ?? 0;
      busy[r] = (busy[r] ?? 0) + 1;
      inFlight[i] = 1;
      times.start[s * n + i] = t;
      times.end[s * n + i] = t + d;
      running.push({ i, s, r, end: t + d });
    }
    // unreachable with a valid order: something is always startable when idle
    if (running.length === 0) throw new Error('schedule simulation stalled');
    t = Math.min(...running.map((x) => x.end));
  }
  return times;
}

function run(p: Problem, strategy: Strategy, caps: readonly number[], seq: readonly number[]): Times {
  if (strategy === 'parallel') return runGreedy(p, caps, seq);
  const t = runOrdered(p, caps, seq, strategy === 'sequential');
  return strategy === 'auto' ? justInTime(p, caps, seq, t) : t;
}

/**
 * auto freezes a container only when its transfer can start (the engine waits
 * for the link to be nearly free): each checkpoint moves as late as its
 * transfer start allows. Transfers and restores keep their times, so the
 * makespan is unchanged and the downtime shrinks by the wait for the link.
 * Only where the checkpoint resource serves one at a time; a checkpoint never
 * moves past a dependent's start, nor overlaps the one before it on its source.
 */
function justInTime(p: Problem, caps: readonly number[], seq: readonly number[], t: Times): Times {
  const n = t.n;
  const start = Float64Array.from(t.start);
  const end = Float64Array.from(t.end);
  // from the last: each checkpoint as late as its transfer, its dependents and
  // the (already placed) next checkpoint on its source allow
  const nextStart = new Map<number, number>();
  for (let k = seq.length - 1; k >= 0; k--) {
    const i = seq[k] ?? 0;
    const r = p.res[0]?.[i] ?? 0;
    const d = p.dur[0]?.[i] ?? 0;
    const from = start[i] ?? 0;
    if ((caps[p.resStage[r] ?? 0] ?? 1) !== 1) continue;
    let latest = (start[n + i] ?? from + d) - d;
    for (const s of p.succs[i] ?? []) latest = Math.min(latest, start[s] ?? latest);
    latest = Math.min(latest, (nextStart.get(r) ?? Number.POSITIVE_INFINITY) - d);
    const at = Math.max(from, latest);
    start[i] = at;
    end[i] = at + d;
    nextStart.set(r, at);
  }
  return { n, start, end };
}

/** [makespan, total downtime] of the items in seq: compared lexicographically. */
function cost(t: Times, seq: readonly number[]): [number, number] {
  let makespan = 0;
  let downtime = 0;
  for (const i of seq) {
    const end = endOf(t, 2, i);
    if (end > makespan) makespan = end;
    downtime += end - startOf(t, 0, i);
  }
  return [makespan, downtime];
}

const better = (a: readonly [number, number], b: readonly [number, number]): boolean =>
  a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

// ---------------------------------------------------------------------------
// Ordering.

/**
 * Johnson's rule for the two-machine flow shop: jobs with first < second,
 * by first ascending, then the others by second descending; ties keep input
 * order. Optimal for two machines.
 */
export function johnsonOrder(jobs: readonly { id: string; first: number; second: number }[]): string[] {
  const idx = jobs.map((j, k) => ({ ...j, k }));
  const head = idx.filter((j) => j.first < j.second).sort((x, y) => x.first - y.first || x.k - y.k);
  const tail = idx.filter((j) => j.first >= j.second).sort((x, y) => y.second - x.second || x.k - y.k);
  return [...head, ...tail].map((j) => j.id);
}

/** desc[x][y] = 1 when y is reachable from x by edges. */
function closure(p: Problem): Uint8Array[] {
  const n = p.ids.length;
  return Array.from({ length: n }, (_, x) => {
    const row = new Uint8Array(n);
    const stack = [...(p.succs[x] ?? [])];
    while (stack.length > 0) {
      const v = stack.pop() ?? 0;
      if (row[v] === 1) continue;
      row[v] = 1;
      stack.push(...(p.succs[v] ?? []));
    }
    return row;
  });
}

function autoOrder(p: Problem, caps: readonly number[]): number[] {
  const n = p.ids.length;
  let work = 0;
  const evaluate = (seq: readonly number[]) => {
    work += seq.length;
    return cost(justInTime(p, caps, seq, runOrdered(p, caps, seq, false)), seq);
  };
  const ck = p.dur[0] ?? [];
  const tr = p.dur[1] ?? [];
  const rs = p.dur[2] ?? [];
  const at = (a: number[], i: number) => a[i] ?? 0;
  const johnsonRank = (first: (i: number) => number, second: (i: number) => number): number[] => {
    const ids = johnsonOrder(p.ids.map((_, i) => ({ id: String(i), first: first(i), second: second(i) })));
    const rank = new Array<number>(n).fill(0);
    for (const [r, id] of ids.entries()) rank[Number(id)] = r;
    return rank;
  };
  // CDS surrogates for three machines, then made valid for the DAG by a
  // topological sort that follows the Johnson rank wherever the edges allow
  const cds2 = topoByRank(
    p,
    johnsonRank(
      (i) => at(ck, i) + at(tr, i),
      (i) => at(tr, i) + at(rs, i),
    ),
  );
  const cds1 = topoByRank(
    p,
    johnsonRank(
      (i) => at(ck, i),
      (i) => at(rs, i),
    ),
  );
  const inputOrder = topoByRank(
    p,
    p.ids.map((_, i) => i),
  );

  const desc = closure(p);
  // insertion positions that keep seq topological: after every ancestor of x, before every descendant
  const window = (seq: readonly number[], x: number): [number, number] => {
    let lo = 0;
    let hi = seq.length;
    for (const [k, y] of seq.entries()) {
      if (desc[y]?.[x] === 1) lo = k + 1;
      if (desc[x]?.[y] === 1 && k < hi) hi = k;
    }
    return [lo, hi];
  };
  const bestInsertion = (seq: readonly number[], x: number): { seq: number[]; cost: [number, number] } => {
    const [lo, hi] = window(seq, x);
    let best: { seq: number[]; cost: [number, number] } | null = null;
    for (let k = lo; k <= hi; k++) {
      const cand = [...seq.slice(0, k), x, ...seq.slice(k)];
      const c = evaluate(cand);
      if (!best || better(c, best.cost)) best = { seq: cand, cost: c };
    }
    return best ?? { seq: [...seq, x], cost: evaluate([...seq, x]) };
  };

  // NEH: longest jobs first, each inserted where the partial schedule is shortest
  const total = (i: number) => at(ck, i) + at(tr, i) + at(rs, i);
  const byTotal = p.ids.map((_, i) => i).sort((x, y) => total(y) - total(x) || x - y);
  let neh: number[] = [];
  for (const x of byTotal) neh = bestInsertion(neh, x).seq;

  let best = { seq: inputOrder, cost: evaluate(inputOrder) };
  // the input order is a candidate, so auto is never worse than pipelined
  for (const seq of [cds2, cds1, neh]) {
    const c = evaluate(seq);
    if (better(c, best.cost)) best = { seq, cost: c };
  }

  // local search: take each job out and put it back where it helps most
  work = 0;
  for (let pass = 0; pass < LOCAL_SEARCH_PASSES && work < LOCAL_SEARCH_BUDGET; pass++) {
    let improved = false;
    for (const x of [...best.seq]) {
      if (work >= LOCAL_SEARCH_BUDGET) break;
      const rest = best.seq.filter((y) => y !== x);
      const cand = bestInsertion(rest, x);
      if (better(cand.cost, best.cost)) {
        best = cand;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return best.seq;
}

function orderIndices(p: Problem, strategy: Strategy, caps: readonly number[]): number[] {
  if (strategy === 'auto') return autoOrder(p, caps);
  return topoByRank(
    p,
    p.ids.map((_, i) => i),
  );
}

function toIndices(p: Problem, order: readonly string[]): number[] {
  const pos = new Map<number, number>();
  for (const [k, id] of order.entries()) {
    const i = p.index.get(id);
    if (i === undefined) throw new Error(`order names unknown item ${id}`);
    if (pos.has(i)) throw new Error(`order names ${id} twice`);
    pos.set(i, k);
  }
  const missing = p.ids.filter((_, i) => !pos.has(i));
  if (missing.length > 0) throw new Error(`order misses ${missing.join(', ')}`);
  for (const [a, ps] of p.preds.entries())
    for (const b of ps)
      if ((pos.get(b) ?? 0) > (pos.get(a) ?? 0))
        throw new Error(`order puts ${p.ids[a]} before ${p.ids[b]}, against edge ${p.ids[b]} -> ${p.ids[a]}`);
  return order.map((id) => p.index.get(id) ?? 0);
}

function scheduleOf(p: Problem, seq: readonly number[], t: Times): Schedule {
  const pos = new Map(seq.map((i, k) => [i, k]));
  const stages: (PlannedStage & { k: number; s: number })[] = [];
  const downtimeMs: Record<string, number> = {};
  for (const i of seq) {
    const id = p.ids[i] ?? '';
    for (const [s, stage] of STAGES.entries())
      stages.push({ id, stage, startMs: startOf(t, s, i), endMs: endOf(t, s, i), k: pos.get(i) ?? 0, s });
    downtimeMs[id] = endOf(t, 2, i) - startOf(t, 0, i);
  }
  stages.sort((a, b) => a.startMs - b.startMs || a.k - b.k || a.s - b.s);
  return {
    order: seq.map((i) => p.ids[i] ?? ''),
    stages: stages.map(({ id, stage, startMs, endMs }) => ({ id, stage, startMs, endMs })),
    makespanMs: cost(t, seq)[0],
    downtimeMs,
  };
}

/**
 * The order a strategy runs the group in. sequential, pipelined, parallel:
 * a topological order of the edges, input order wherever the edges allow.
 * auto: the best of the input order, two CDS/Johnson orders and NEH, then
 * improved by re-insertion; always topological, never slower than pipelined.
 */
export function orderFor(strategy: Strategy, input: ScheduleInput): string[] {
  const p = compile(input);
  return orderIndices(p, strategy, effectiveCaps(strategy, input.caps)).map((i) => p.ids[i] ?? '');
}

/**
 * Start and end of every stage when the group runs in `order` (which must
 * list every item once, dependencies first). sequential: one container at a
 * time, checkpoint to restore. pipelined and auto: every resource serves
 * containers in `order`, up to its cap at once. parallel: greedy, a stage
 * starts whenever its resource has a free slot.
 */
export function simulate(order: string[], strategy: Strategy, input: ScheduleInput): Schedule {
  const p = compile(input);
  const caps = effectiveCaps(strategy, input.caps);
  const seq = toIndices(p, order);
  return scheduleOf(p, seq, run(p, strategy, caps, seq));
}

export function plan(strategy: Strategy, input: ScheduleInput): Schedule {
  const p = compile(input);
  const caps = effectiveCaps(strategy, input.caps);
  const seq = orderIndices(p, strategy, caps);
  return scheduleOf(p, seq, run(p, strategy, caps, seq));
}

// ---------------------------------------------------------------------------
// Estimates.

export interface ThroughputModel {
  /** bytes on the wire per second between source and destination */
  linkBytesPerSec: number;
  /** memory bytes CRIU dumps per second on the source */
  dumpBytesPerSec: number;
  /** memory bytes CRIU restores per second on the destination */
  restoreBytesPerSec: number;
  /** per-checkpoint cost independent of size (freeze, runtime bookkeeping); default 0 */
  fixedCheckpointMs?: number;
  /** per-restore cost independent of size (create, network setup); default 0 */
  fixedRestoreMs?: number;
  /** memory bytes per byte on the wire: 1 without compression (default), 2 when zstd halves the images */
  compressionRatio?: number;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a finite number > 0, got ${v}`);
  return v;
}

/** Stage times for a container whose checkpoint holds `memoryBytes`. */
export function estimateStages(memoryBytes: number, model: ThroughputModel): StageEstimate {
  if (!Number.isFinite(memoryBytes) || memoryBytes < 0)
    throw new Error(`memoryBytes must be a finite number >= 0, got ${memoryBytes}`);
  const ratio = positive('compressionRatio', model.compressionRatio ?? 1);
  return {
    checkpointMs:
      (model.fixedCheckpointMs ?? 0) +
      (memoryBytes / positive('dumpBytesPerSec', model.dumpBytesPerSec)) * 1000,
    transferMs: (memoryBytes / ratio / positive('linkBytesPerSec', model.linkBytesPerSec)) * 1000,
    restoreMs:
      (model.fixedRestoreMs ?? 0) +
      (memoryBytes / positive('restoreBytesPerSec', model.restoreBytesPerSec)) * 1000,
  };
}

/** Weight of the newest measurement in refine's moving averages. */
export const REFINE_ALPHA = 0.3;

export interface StageSample {
  /** memory bytes of the container that was measured */
  memoryBytes: number;
  /** bytes that crossed the link, when known: also refines compressionRatio */
  wireBytes?: number;
  measured: Partial<StageEstimate>;
}

/**
 * The model after one measured migration: each throughput it can observe
 * becomes alpha * observed + (1 - alpha) * previous (an exponential moving
 * average on bytes/s). The fixed costs are kept; a stage time no longer than
 * its fixed cost, a zero size or a missing time says nothing about throughput
 * and leaves that number as it was. Re-estimate the rest of the group with
 * estimateStages(mem, refine(model, sample)).
 */
export function refine(model: ThroughputModel, sample: StageSample, alpha = REFINE_ALPHA): ThroughputModel {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`alpha must be in (0, 1], got ${alpha}`);
  const ema = (prev: number, observed: number) => alpha * observed + (1 - alpha) * prev;
  const mem = sample.memoryBytes;
  const m = sample.measured;
  const out: ThroughputModel = { ...model };
  if (!(Number.isFinite(mem) && mem > 0)) return out;
  const rate = (bytes: number, ms: number | undefined, fixed = 0): number | null =>
    ms !== undefined && Number.isFinite(ms) && ms - fixed > 0 ? bytes / ((ms - fixed) / 1000) : null;
  const dump = rate(mem, m.checkpointMs, model.fixedCheckpointMs);
  if (dump !== null) out.dumpBytesPerSec = ema(model.dumpBytesPerSec, dump);
  const restore = rate(mem, m.restoreMs, model.fixedRestoreMs);
  if (restore !== null) out.restoreBytesPerSec = ema(model.restoreBytesPerSec, restore);
  const wire = sample.wireBytes;
  const knownWire = wire !== undefined && Number.isFinite(wire) && wire > 0;
  if (knownWire) out.compressionRatio = ema(model.compressionRatio ?? 1, mem / wire);
  // without wireBytes, assume the model's ratio held for this transfer
  const link = rate(knownWire ? wire : mem / (model.compressionRatio ?? 1), m.transferMs);
  if (link !== null) out.linkBytesPerSec = ema(model.linkBytesPerSec, link);
  return out;
}
