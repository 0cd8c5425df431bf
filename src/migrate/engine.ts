// The migration engine: a state machine per container (prestage, checkpoint,
// transfer, restore, verify, finalize), scheduled across the group by the
// chosen strategy, journaled step by step, emitting typed events. The source
// is never removed before its copy runs verified on the destination; any
// failure after the freeze restores the source from its local checkpoint.
import { randomBytes } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import { DockerDriver } from './docker.ts';
import { type MigrationContext, type MigrationDriver, StageError } from './driver.ts';
import { Journal } from './journal.ts';
import { PodmanDriver } from './podman.ts';
import { relay } from './transfer.ts';
import type {
  DriverState,
  EngineEvent,
  HostSession,
  MigrateOptions,
  MigrationItem,
  Outcome,
  RunSummary,
  RuntimeKind,
  Stage,
} from './types.ts';

export interface EngineDeps {
  session(host: string): HostSession;
  drivers?: Partial<Record<RuntimeKind, MigrationDriver>>;
  journalDir?: string;
  /** recorded in the journal so that recover can reconnect the same way */
  configFile?: string;
}

export interface Plan {
  /** in checkpoint order; dependencies already respected */
  items: MigrationItem[];
  options: MigrateOptions;
}

type Listener = (e: EngineEvent) => void;
type Result = { outcome: Outcome; downtimeMs?: number; message?: string };
type Results = Map<string, Result>;
// distributes Omit over the union, so each event keeps its own fields
type Unstamped<E> = E extends EngineEvent ? Omit<E, 'at' | 't'> : never;

export const defaultDrivers = (): Record<RuntimeKind, MigrationDriver> => ({
  podman: new PodmanDriver(),
  docker: new DockerDriver(),
});

/** Links slower than this get zstd when compression is auto (bytes/s: 160 Mbit/s). The relay itself is
 * CPU-bound near 50-80 MB/s on a 2-core operator machine, where zstd only adds CPU work. */
const COMPRESS_BELOW = 20_000_000;

export class MigrationRun {
  readonly runId: string;
  readonly journalPath: string;
  readonly done: Promise<RunSummary>;
  private readonly listeners = new Set<Listener>();
  private readonly stop = new AbortController();
  private readonly started = performance.now();
  private readonly startedAt = Date.now();
  private readonly journal: Journal;
  private readonly events: EngineEvent[] = [];
  private readonly onceCache = new Map<string, Promise<unknown>>();
  /** transfers in flight, by container: for freezing the next one just in time */
  private readonly flows = new Map<
    string,
    { link: string; total: number; sent: number; rate: number; started: number; reported: number }
  >();
  /** measured checkpoint times per source host (moving average) */
  private readonly checkpointMs = new Map<string, number>();
  private readonly plan: Plan;
  private readonly deps: EngineDeps;

  constructor(plan: Plan, deps: EngineDeps) {
    this.plan = plan;
    this.deps = deps;
    this.runId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    this.journal = new Journal(this.runId, deps.journalDir);
    this.journalPath = this.journal.path;
    this.journal.write({
      kind: 'run',
      runId: this.runId,
      at: Date.now(),
      items: plan.items,
      options: plan.options,
      ...(deps.configFile ? { configFile: deps.configFile } : {}),
    });
    // listeners subscribe synchronously after construction; start on the next tick
    this.done = new Promise<void>((r) => setImmediate(r)).then(() => this.execute());
  }

  /** Every event so far, then each new one. Returns an unsubscribe function. */
  on(listener: Listener): () => void {
    for (const e of this.events) listener(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Safe stop: containers in flight finish or roll back; nothing new is frozen. */
  cancel(): void {
    if (!this.stop.signal.aborted) {
      this.emit({
        type: 'warning',
        message: 'stopping: no further container will be frozen; those in flight finish or roll back',
      });
      this.stop.abort();
    }
  }

  get cancelled(): boolean {
    return this.stop.signal.aborted;
  }

  private emit(e: Unstamped<EngineEvent>): void {
    const stamped = { ...e, at: Date.now(), t: Math.round(performance.now() - this.started) } as EngineEvent;
    this.events.push(stamped);
    for (const l of this.listeners) {
      try {
        l(stamped);
      } catch {
        // a broken subscriber must not break the migration
      }
    }
  }

  private async execute(): Promise<RunSummary> {
    const { items, options } = this.plan;
    const drivers = { ...defaultDrivers(), ...this.deps.drivers };
    this.emit({
      type: 'run-started',
      runId: this.runId,
      strategy: options.strategy,
      order: items.map((i) => i.id),
      items,
    });
    const results: Results = new Map();

    const caps = capsFor(options);
    const limits = new Map<string, LimitFunction>();
    const limitFor = (key: string, cap: number) => {
      let l = limits.get(key);
      if (!l) {
        l = pLimit(cap);
        limits.set(key, l);
      }
      return l;
    };
    const prestageLimit = pLimit(options.strategy === 'sequential' ? 1 : options.maxParallel);
    const whole = pLimit(1);
    const zstdByLink = new Map<string, Promise<boolean>>();

    // the order gate: container k may start its checkpoint once k-1 has
    const turns = items.map(() => deferred());
    turns[0]?.resolve();

    const contexts = items.map((item) => this.context(item, drivers));
    const prestaged = items.map(() => deferred<boolean>());

    const one = async (k: number): Promise<void> => {
      const item = items[k] as MigrationItem;
      const { ctx, driver } = contexts[k] as { ctx: MigrationContext; driver: MigrationDriver };
      const link = `${item.container.host}->${item.destination}`;
      const passTurn = () => turns[k + 1]?.resolve();
      let frozenAt: number | undefined;
      let runningAt: number | undefined;
      try {
        if (!zstdByLink.has(link)) zstdByLink.set(link, this.chooseCompression(ctx));
        ctx.zstd = await (zstdByLink.get(link) as Promise<boolean>);
        await prestageLimit(() => this.stage(ctx, 'prestage', () => driver.prestage(ctx)));
        prestaged[k]?.resolve(true);
      } catch (err) {
        prestaged[k]?.resolve(false);
        passTurn();
        await this.undo(ctx, driver, err, results);
        return;
      }
      if (options.consistentCut) {
        // everyone prestaged, then everyone paused, before anything is frozen
        const all = await Promise.all(prestaged.map((p) => p.promise));
        if (!all.every(Boolean)) {
          passTurn();
          await this.undo(
            ctx,
            driver,
            new StageError('another member of the group failed to prestage: the consistent cut is off'),
            results,
            'skipped',
          );
          return;
        }
      }
      await turns[k]?.promise;
      if (this.stop.signal.aborted) {
        passTurn();
        await this.undo(
          ctx,
          driver,
          new StageError('stopped before this container was frozen'),
          results,
          'skipped',
        );
        return;
      }
      try {
        if (options.consistentCut) await driver.pause(ctx);
        else if (options.strategy !== 'sequential')
          await this.linkNearlyFree(link, caps.transfer, item.container.host);
        await limitFor(
          `checkpoint:${item.container.host}`,
          caps.checkpoint,
        )(async () => {
          passTurn();
          frozenAt = performance.now();
          await this.stage(ctx, 'checkpoint', () => driver.checkpoint(ctx));
          const took = performance.now() - frozenAt;
          const prev = this.checkpointMs.get(item.container.host);
          this.checkpointMs.set(item.container.host, prev === undefined ? took : prev * 0.6 + took * 0.4);
        });
        await limitFor(
          `transfer:${link}`,
          caps.transfer,
        )(async () => {
          const total = typeof ctx.state.memBytes === 'number' ? ctx.state.memBytes : 0;
          this.flows.set(item.id, { link, total, sent: 0, rate: 0, started: performance.now(), reported: 0 });
          try {
            await this.stage(ctx, 'transfer', async () => {
              const r = await driver.transfer(ctx);
              return { bytes: r.bytes, zstd: ctx.zstd ? 'yes' : 'no' };
            });
          } finally {
            this.flows.delete(item.id);
          }
        });
        await limitFor(
          `restore:${item.destination}`,
          caps.restore,
        )(() => this.stage(ctx, 'restore', () => driver.restore(ctx)));
        // downtime: from the freeze until the copy runs (verify only confirms it)
        runningAt = performance.now();
        await this.stage(ctx, 'verify', () => driver.verify(ctx));
      } catch (err) {
        passTurn();
        await this.undo(ctx, driver, err, results);
        return;
      }
      const downtimeMs = Math.round((runningAt ?? performance.now()) - (frozenAt ?? performance.now()));
      try {
        await this.stage(ctx, 'finalize', () => driver.finalize(ctx));
      } catch (err) {
        // the copy runs verified: a leftover source or temp dir is a warning, not a loss
        this.emit({ type: 'warning', id: item.id, message: `finalize: ${errorText(err)}` });
      }
      this.settle(ctx, results, { outcome: 'migrated', downtimeMs });
    };

    await Promise.all(
      items.map((_, k) => (options.strategy === 'sequential' ? whole(() => one(k)) : one(k))),
    );

    const summary: RunSummary = {
      runId: this.runId,
      strategy: options.strategy,
      makespanMs: Math.round(performance.now() - this.started),
      results: items.map((i) => ({
        id: i.id,
        ...(results.get(i.id) ?? { outcome: 'failed' as Outcome, message: 'no result' }),
      })),
    };
    this.journal.write({ kind: 'end', runId: this.runId, at: Date.now() });
    this.journal.close();
    this.emit({ type: 'run-finished', summary });
    return summary;
  }

  private context(item: MigrationItem, drivers: Record<RuntimeKind, MigrationDriver>) {
    const driver = drivers[item.container.runtime];
    const state: DriverState = {};
    const ctx: MigrationContext = {
      item,
      runId: this.runId,
      src: this.deps.session(item.container.host),
      dst: this.deps.session(item.destination),
      options: this.plan.options,
      state,
      zstd: false,
      onProgress: (delta) => {
        const f = this.flows.get(item.id);
        if (!f) return;
        f.sent += delta;
        const now = performance.now();
        f.rate = (f.sent * 1000) / Math.max(1, now - f.started);
        if (now - f.reported >= 250) {
          f.reported = now;
          this.emit({ type: 'bytes', id: item.id, bytes: f.sent, rateBytesPerSec: Math.round(f.rate) });
        }
      },
      warn: (message) => this.emit({ type: 'warning', id: item.id, message }),
      once: <T>(key: string, fn: () => Promise<T>): Promise<T> => {
        let p = this.onceCache.get(key) as Promise<T> | undefined;
        if (!p) {
          p = fn();
          this.onceCache.set(key, p);
        }
        return p;
      },
    };
    return { ctx, driver };
  }

  private async stage<T extends void | Record<string, number | string>>(
    ctx: MigrationContext,
    stage: Stage,
    fn: () => Promise<T>,
  ): Promise<void> {
    const id = ctx.item.id;
    this.recordStage(ctx, stage, 'started');
    this.emit({ type: 'stage-started', id, stage });
    const t = performance.now();
    try {
      const detail = await fn();
      const ms = Math.round(performance.now() - t);
      this.recordStage(ctx, stage, 'finished');
      this.emit({
        type: 'stage-finished',
        id,
        stage,
        ms,
        ...(detail
          ? {
              detail: Object.fromEntries(
                Object.entries(detail).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v]),
              ),
            }
          : {}),
      });
    } catch (err) {
      const message = errorText(err);
      this.recordStage(ctx, stage, 'failed', message);
      this.emit({ type: 'error', id, stage, message });
      throw err;
    }
  }

  /**
   * Freezing early only adds downtime if the link is busy: wait until a
   * transfer slot is free, or the transfer about to end will end within the
   * time a checkpoint takes on this source (the pipeline still overlaps).
   */
  private async linkNearlyFree(link: string, cap: number, source: string): Promise<void> {
    const checkpointMs = this.checkpointMs.get(source) ?? 500;
    for (;;) {
      const mine = [...this.flows.values()].filter((f) => f.link === link);
      if (mine.length < cap) return;
      const soonest = Math.min(
        ...mine.map((f) =>
          f.rate > 0 && f.total > 0
            ? (Math.max(0, f.total - f.sent) * 1000) / f.rate
            : Number.POSITIVE_INFINITY,
        ),
      );
      if (soonest <= checkpointMs) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Rolls a container back after a failure, and records how that went. */
  private async undo(
    ctx: MigrationContext,
    driver: MigrationDriver,
    cause: unknown,
    results: Results,
    outcomeIfOk: Outcome = 'rolled-back',
  ): Promise<void> {
    const id = ctx.item.id;
    const why = errorText(cause);
    // a container never frozen did not move: its migration failed (or was skipped)
    let outcome: Outcome = ctx.state.frozen || outcomeIfOk === 'skipped' ? outcomeIfOk : 'failed';
    let message = why;
    try {
      await driver.rollback(ctx);
      this.emit({
        type: 'rollback',
        id,
        ok: true,
        message: `${ctx.item.container.name} runs on ${ctx.item.container.host} again: ${why}`,
      });
    } catch (err) {
      outcome = 'failed';
      message = `${why}; ROLLBACK FAILED: ${errorText(err)}`;
      this.emit({ type: 'rollback', id, ok: false, message });
    }
    this.settle(ctx, results, { outcome, message });
  }

  private recordStage(
    ctx: MigrationContext,
    stage: Stage,
    status: 'started' | 'finished' | 'failed',
    message?: string,
  ): void {
    this.journal.write({
      kind: 'stage',
      runId: this.runId,
      at: Date.now(),
      id: ctx.item.id,
      stage,
      status,
      state: ctx.state,
      ...(message === undefined ? {} : { message }),
    });
  }

  /** A container's last word: in the results, the journal and the event stream. */
  private settle(ctx: MigrationContext, results: Results, result: Result): void {
    const id = ctx.item.id;
    results.set(id, result);
    this.journal.write({ kind: 'done', runId: this.runId, at: Date.now(), id, state: ctx.state, ...result });
    this.emit({ type: 'container-done', id, ...result });
  }

  /** auto: measure the link once with 16 MB of zeros; slow links get zstd. */
  private async chooseCompression(ctx: MigrationContext): Promise<boolean> {
    const mode = this.plan.options.compress;
    if (mode !== 'auto') return mode === 'zstd';
    const mk = ['mktemp', '-d', '/tmp/ferry.XXXXXXXX'];
    const [a, b] = await Promise.all([ctx.src.exec(mk), ctx.dst.exec(mk)]);
    const tmpFrom = a.stdout.trim();
    const tmpTo = b.stdout.trim();
    try {
      const r = await relay({
        from: ctx.src,
        to: ctx.dst,
        send: 'head -c 16777216 /dev/zero',
        receive: 'cat >/dev/null',
        tmpFrom,
        tmpTo,
        zstd: false,
      });
      const rate = (r.bytes * 1000) / Math.max(1, r.streamMs);
      this.emit({
        type: 'warning',
        id: ctx.item.id,
        message: `link ${ctx.src.host} -> ${ctx.dst.host}: ${(rate / 1e6).toFixed(0)} MB/s measured, ${rate < COMPRESS_BELOW ? 'zstd' : 'no compression'}`,
      });
      return rate < COMPRESS_BELOW;
    } finally {
      await Promise.all([ctx.src.exec(['rm', '-rf', tmpFrom]), ctx.dst.exec(['rm', '-rf', tmpTo])]);
    }
  }
}

/** How many of each stage may overlap on one resource, per strategy. */
export function capsFor(options: MigrateOptions): { checkpoint: number; transfer: number; restore: number } {
  switch (options.strategy) {
    case 'sequential':
    case 'pipelined':
      return { checkpoint: 1, transfer: 1, restore: 1 };
    case 'parallel':
      return { checkpoint: options.maxParallel, transfer: options.maxParallel, restore: options.maxParallel };
    case 'auto':
      // dumps contend for the source's CPU and memory bandwidth; a link carries
      // two streams to hide per-stream latency; restores are short
      return { checkpoint: 1, transfer: 1, restore: 2 };
  }
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function runMigration(plan: Plan, deps: EngineDeps): MigrationRun {
  return new MigrationRun(plan, deps);
}
