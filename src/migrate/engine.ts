// The migration engine: a state machine per container (prestage, checkpoint,
// transfer, restore, verify, finalize; its phases and what each step
// journals and emits: phases.ts), scheduled across the group by the chosen
// strategy (the freeze queue and link slots: freeze-queue.ts, link-slots.ts).
// It reaches the world only through the effects it is given (effects.ts).
// The source is never removed before its copy runs verified on the
// destination; any failure after the freeze restores the source from its
// local checkpoint.

import pLimit, { type LimitFunction } from 'p-limit';
import type { RuntimeKind } from '../inventory/model.ts';
import type { EngineEvent, MigrationItem, Outcome, Plan, RunSummary, Stage } from '../plan/migration.ts';
import { estimateStages, refine, type StageSample, type ThroughputModel } from '../plan/schedule.ts';
import { errorText } from '../text/error.ts';
import { cutGroups, firstsOf, probesGivenUp } from './cuts.ts';
import { deadlinesFor, type StepDeadlines } from './deadlines.ts';
import { type MigrationContext, type MigrationDriver, StageError } from './driver.ts';
import type { Clock, EngineEffects, JournalSink } from './effects.ts';
import { leaveQueue, nextInLine, openQueue } from './freeze-queue.ts';
import { type LinkFlow, linkNearlyFree, smoothCheckpointMs } from './link-slots.ts';
import {
  type Phase,
  type PhaseEvent,
  type PhaseRecord,
  type Settlement,
  transition,
  type Unstamped,
  WAITING,
} from './phases.ts';
import { type HeldProbes, holdProbes } from './probes.ts';
import { linkKey, stageConcurrency } from './scheduling.ts';
import type { DriverState, HostSession } from './types.ts';

/** The engine's effects (effects.ts; the real ones: live.ts), and how to reach the hosts. */
export interface EngineDeps extends EngineEffects {
  session(host: string): HostSession;
  /** recorded in the journal so that recover can reconnect the same way */
  configFile?: string;
  jump?: string;
  /** per remote command of each step, over deadlinesFor(memory) (FERRY_STEP_DEADLINE_MS: src/cli/environment.ts) */
  deadlines?: Partial<StepDeadlines>;
  /** how long a restored listening end's window probes last (tests shorten it) */
  probeGivenUpMs?: number;
}

export type { Plan } from '../plan/migration.ts';

type Listener = (e: EngineEvent) => void;
type Result = Settlement;
type Results = Map<string, Result>;

export class MigrationRun {
  readonly runId: string;
  readonly journalPath: string;
  readonly done: Promise<RunSummary>;
  private readonly listeners = new Set<Listener>();
  private readonly stop = new AbortController();
  private readonly started: number;
  private readonly clock: Clock;
  private readonly journal: JournalSink;
  private readonly events: EngineEvent[] = [];
  private readonly onceCache = new Map<string, Promise<unknown>>();
  /**
   * Containers frozen and bound for a link (checkpointing, then transferring),
   * by id: for freezing the next one just in time.
   */
  private readonly flows = new Map<string, LinkFlow & { link: string; reported: number }>();
  /** measured checkpoint times per source host (moving average) */
  private readonly checkpointMs = new Map<string, number>();
  private journalBroken = false;
  /** ids frozen or settled: their estimates no longer change */
  private readonly touched = new Set<string>();
  private readonly plan: Plan;
  private readonly deps: EngineDeps;
  /** the phase each container is in (phases.ts) */
  private readonly phases = new Map<string, Phase>();
  /** the step each container is in, for the deadline of its remote commands */
  private readonly step = new Map<string, keyof StepDeadlines | 'transfer'>();
  /** rollbacks that failed: their containers need a person, their locks stay */
  private readonly needsAttention = new Set<string>();

  constructor(plan: Plan, deps: EngineDeps) {
    // estimates and models are refined during the run: the caller's plan stays as it was
    this.plan = {
      ...plan,
      ...(plan.estimates ? { estimates: { ...plan.estimates } } : {}),
      ...(plan.models ? { models: { ...plan.models } } : {}),
    };
    this.deps = deps;
    this.clock = deps.clock;
    this.started = this.clock.now();
    this.runId = deps.newRunId(this.clock.wall());
    this.journal = deps.openJournal(this.runId);
    this.journalPath = this.journal.path;
    this.journal.write({
      kind: 'run',
      runId: this.runId,
      at: this.clock.wall(),
      items: plan.items,
      options: plan.options,
      // the cut groups move all or nothing: recover needs them too
      ...(plan.restoreAfter?.length ? { restoreAfter: plan.restoreAfter } : {}),
      ...(deps.configFile ? { configFile: deps.configFile } : {}),
      ssh: { configFile: deps.configFile ?? null, jump: deps.jump ?? null },
      owner: deps.owner(),
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

  /** The phase a container is in now (phases.ts): a stage, or what it is queued for between two. */
  phaseOf(id: string): Phase | undefined {
    return this.phases.get(id);
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
    const stamped = {
      ...e,
      at: this.clock.wall(),
      t: Math.round(this.clock.now() - this.started),
    } as EngineEvent;
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
    const drivers = this.deps.drivers;
    this.emit({
      type: 'run-started',
      runId: this.runId,
      strategy: options.strategy,
      order: items.map((i) => i.id),
      items,
    });
    const results: Results = new Map();

    const refused = await this.lockAll(items);
    if (refused !== undefined) {
      for (const item of items)
        this.settle(this.context(item, drivers).ctx, results, {
          outcome: 'skipped',
          message: `not touched: ${refused}`,
        });
      return this.finish(items, results, refused);
    }

    // beside the run, not before it: it touches no file of a live run
    const swept = this.sweep(items);
    const caps = stageConcurrency(options);
    const limits = new Map<string, LimitFunction>();
    const limitFor = (key: string, cap: number) => {
      let l = limits.get(key);
      if (!l) {
        l = pLimit(cap);
        limits.set(key, l);
      }
      return l;
    };
    // prestages run one at a time in the order of the line: each is ready for
    // its turn while the one before is frozen and in transfer, and none slows
    // the first freeze by competing for the hosts' CPU (all at once: +1.8 s)
    const prestageLimit = pLimit(1);
    const whole = pLimit(1);
    const zstdByLink = new Map<string, Promise<boolean>>();

    // the order gate: one container at a time may go on to freeze; when it
    // has frozen (or dropped out) the next in line gets the turn
    const turns = items.map(() => deferred());
    const next = (waiting: readonly number[]) => nextInLine(this.plan, waiting);
    let line = openQueue(items.length, next);
    const give = (granted: number | undefined) => {
      if (granted !== undefined) turns[granted]?.resolve();
    };
    /** k has frozen, or will never freeze: it leaves the line */
    const leaveLine = (k: number) => {
      const step = leaveQueue(line.queue, k, next);
      line = step;
      give(step.granted);
    };
    give(line.granted);

    const contexts = items.map((item) => this.context(item, drivers));
    const prestaged = items.map(() => deferred<boolean>());
    const paused = items.map(() => deferred<boolean>());
    // settled true once restored, false if it never will be
    const restored = items.map(() => deferred<boolean>());
    const restoredAt = new Map<string, number>();
    /** by listening end restored: its window probes, dropped (src/migrate/probes.ts) */
    const held = new Map<string, Promise<HeldProbes | undefined>>();
    /**
     * Waits for the ends to restore before this one, then until the window
     * probe each sent on leaving TCP repair mode is dropped: held, or given
     * up by the kernel (the neighbour lookup of this end's address fails
     * after ~3 s). Delivered to this end's new network namespace before its
     * socket is restored, it would be answered with a reset.
     */
    const restoreFirst = async (id: string) => {
      const firsts = firstsOf(id, this.plan.restoreAfter ?? []);
      await Promise.all(firsts.map((f) => restored[items.findIndex((i) => i.id === f)]?.promise));
      const holds = await Promise.all(firsts.map((f) => held.get(f)));
      if (holds.every(Boolean)) return;
      await probesGivenUp(id, this.plan.restoreAfter ?? [], restoredAt, this.deps.probeGivenUpMs, this.clock);
    };
    // sequential with a consistent cut: every member is prestaged and paused
    // first, so "one after another" is kept by holding the turn until done
    const holdTurn = options.strategy === 'sequential' && options.consistentCut;

    // members sharing kept TCP connections (a cut) move all or nothing: each
    // keeps its source until every one is verified on the destination, and
    // if one fails, all go back to their sources, listening ends first
    const indexOf = new Map(items.map((i, k) => [i.id, k]));
    const cutOf = new Map<string, string[]>();
    for (const cut of cutGroups(
      items.map((i) => i.id),
      this.plan.restoreAfter ?? [],
    ))
      for (const id of cut) cutOf.set(id, cut);
    // settled true once verified on the destination, false if it never will be
    const verified = items.map(() => deferred<boolean>());
    /** why a cut goes back: its first failure */
    const cutFailed = new Map<string[], string>();
    /** members frozen when their cut failed, and why each: the cut's rollback undoes them */
    const cutUndoes = new Map<number, unknown>();
    const cutRollbacks = new Map<string[], Promise<void>>();
    /** why a member that ran verified on the destination goes back with its cut */
    const backWithTheRest = (cut: string[], k: number) =>
      new StageError(
        `${cutFailed.get(cut) ?? 'another member of its cut failed'}, and the TCP connections it shares with ${(items[k] as MigrationItem).container.name} move all or nothing`,
      );
    const failCut = (k: number, why: string) => {
      const cut = cutOf.get((items[k] as MigrationItem).id);
      if (cut && !cutFailed.has(cut)) cutFailed.set(cut, why);
      verified[k]?.resolve(false);
    };
    /** Once every member is settled one way or the other: the frozen ones back to their sources, in order. */
    const rollBackCut = (cut: string[]): Promise<void> => {
      let p = cutRollbacks.get(cut);
      if (!p) {
        p = (async () => {
          const ok = await Promise.all(cut.map((id) => verified[indexOf.get(id) as number]?.promise));
          const backAt = new Map<string, number>();
          for (const [j, id] of cut.entries()) {
            const k = indexOf.get(id) as number;
            // verified: it goes back whether or not its own run has seen the failure yet
            if (ok[j] && !cutUndoes.has(k)) cutUndoes.set(k, backWithTheRest(cut, k));
            if (!cutUndoes.has(k)) continue;
            const { ctx, driver } = contexts[k] as { ctx: MigrationContext; driver: MigrationDriver };
            // as on the way forward: the listening ends run, and their window probes are given up, first
            await probesGivenUp(
              id,
              this.plan.restoreAfter ?? [],
              backAt,
              this.deps.probeGivenUpMs,
              this.clock,
            );
            await this.undo(ctx, driver, cutUndoes.get(k), results);
            if (ctx.state.frozen || ctx.state.freezing) backAt.set(id, this.clock.now());
          }
        })();
        cutRollbacks.set(cut, p);
      }
      return p;
    };

    const one = async (k: number): Promise<void> => {
      const item = items[k] as MigrationItem;
      const { ctx, driver } = contexts[k] as { ctx: MigrationContext; driver: MigrationDriver };
      const link = linkKey(item);
      const cut = cutOf.get(item.id);
      const passTurn = () => leaveLine(k);
      /** a cut member frozen on its way: it goes back with the whole cut */
      const backWithCut = async (c: string[], err: unknown) => {
        passTurn();
        // members waiting to restore after this one must not wait for the cut's rollback
        restored[k]?.resolve(false);
        failCut(k, `${item.container.name} failed (${errorText(err)})`);
        cutUndoes.set(k, err);
        await rollBackCut(c);
      };
      /** another member of the cut failed: do not go on */
      const cutStillWhole = () => {
        const why = cut && cutFailed.get(cut);
        if (why)
          throw new StageError(
            `${why}, and the TCP connections it shares with ${item.container.name} move all or nothing`,
          );
      };
      /** out of line, and undone: after a failure (err), or never frozen (why) */
      const giveUp = async (err: unknown) => {
        passTurn();
        await this.undo(ctx, driver, err, results);
      };
      const skip = async (why: string) => {
        passTurn();
        await this.undo(ctx, driver, new StageError(why), results, 'skipped');
      };
      let frozenAt: number | undefined;
      let runningAt: number | undefined;
      // a blocker keeps its container untouched; under a consistent cut, the
      // whole group (the cut is all or nothing, so find that out first)
      const blocker = this.plan.findings?.find(
        (f) => f.severity === 'blocker' && (f.id === item.id || options.consistentCut),
      );
      if (blocker) {
        passTurn();
        prestaged[k]?.resolve(false);
        this.settle(ctx, results, {
          outcome: 'skipped',
          message: `not touched: preflight found a blocker${blocker.id === item.id ? '' : ` for ${blocker.id}, and the consistent cut takes the whole group`}: ${blocker.message}`,
        });
        return;
      }
      if (this.stop.signal.aborted) {
        prestaged[k]?.resolve(false);
        await skip('stopped before this container was prepared');
        return;
      }
      try {
        if (!zstdByLink.has(link)) zstdByLink.set(link, this.chooseCompression(ctx, link));
        ctx.zstd = await (zstdByLink.get(link) as Promise<boolean>);
        const route = this.plan.links?.[link]?.direct;
        if (route) ctx.direct = route;
        const memory = this.plan.memoryBytes?.[item.id];
        if (memory) ctx.memoryHint = memory;
        this.walk(ctx, { type: 'wait', for: 'prestage-slot' });
        await prestageLimit(() => this.stage(ctx, 'prestage', () => driver.prestage(ctx)));
        prestaged[k]?.resolve(true);
      } catch (err) {
        prestaged[k]?.resolve(false);
        await giveUp(err);
        return;
      }
      if (options.consistentCut) {
        // everyone prestaged, then everyone paused, before anything is frozen
        this.walk(ctx, { type: 'wait', for: 'group-prestaged' });
        const all = await Promise.all(prestaged.map((p) => p.promise));
        if (!all.every(Boolean)) {
          await skip('another member of the group failed to prestage: the consistent cut is off');
          return;
        }
        // the cut: every member paused at once, before any is checkpointed;
        // downtime starts here
        try {
          if (this.stop.signal.aborted) throw new StageError('stopped before the cut');
          await driver.pause(ctx);
          frozenAt = this.clock.now();
          this.emit({ type: 'paused', id: item.id });
          paused[k]?.resolve(true);
        } catch (err) {
          paused[k]?.resolve(false);
          await giveUp(err);
          return;
        }
        this.walk(ctx, { type: 'wait', for: 'group-paused' });
        if (!(await Promise.all(paused.map((p) => p.promise))).every(Boolean)) {
          await skip('another member of the group could not be paused: the consistent cut is off');
          return;
        }
      }
      this.walk(ctx, { type: 'wait', for: 'turn' });
      await turns[k]?.promise;
      // a cut member paused with the rest is in flight: a stop now would split the cut
      if (this.stop.signal.aborted && !(cut && frozenAt !== undefined)) {
        await skip('stopped before this container was frozen');
        return;
      }
      try {
        if (!options.consistentCut && options.strategy !== 'sequential') {
          this.walk(ctx, { type: 'wait', for: 'link' });
          await this.linkNearlyFree(item, caps.transfer);
        }
        this.walk(ctx, { type: 'wait', for: 'checkpoint-slot' });
        await limitFor(
          `checkpoint:${item.container.host}`,
          caps.checkpoint,
        )(async () => {
          // the last moment a stop can still keep this container from freezing
          if (this.stop.signal.aborted && !(cut && frozenAt !== undefined)) throw new StopRequested();
          if (!holdTurn) passTurn();
          this.touched.add(item.id);
          const t = this.clock.now();
          frozenAt ??= t;
          const estimate = this.plan.estimates?.[item.id];
          this.flows.set(item.id, {
            link,
            total: typeof ctx.state.memBytes === 'number' ? ctx.state.memBytes : 0,
            sent: 0,
            rate: 0,
            started: t,
            reported: 0,
            transferring: false,
            checkpointMs: estimate?.checkpointMs ?? Number.POSITIVE_INFINITY,
            transferMs: estimate?.transferMs ?? Number.POSITIVE_INFINITY,
          });
          await this.stage(ctx, 'checkpoint', () => driver.checkpoint(ctx));
          const took = this.clock.now() - t;
          this.checkpointMs.set(
            item.container.host,
            smoothCheckpointMs(this.checkpointMs.get(item.container.host), took),
          );
          this.learn(item, { checkpointMs: took });
        });
        cutStillWhole();
        this.walk(ctx, { type: 'wait', for: 'transfer-slot' });
        await limitFor(
          `transfer:${link}`,
          caps.transfer,
        )(async () => {
          const f = this.flows.get(item.id);
          if (f) Object.assign(f, { transferring: true, started: this.clock.now() });
          try {
            const t = this.clock.now();
            let wireBytes = 0;
            await this.stage(ctx, 'transfer', async () => {
              const r = await driver.transfer(ctx);
              wireBytes = r.bytes;
              const ends = Object.entries(r.streamMs ?? {}).map(([label, ms]) => [`${label}Ms`, ms]);
              return { bytes: r.bytes, zstd: ctx.zstd ? 'yes' : 'no', ...Object.fromEntries(ends) };
            });
            this.learn(item, { transferMs: this.clock.now() - t }, wireBytes);
          } finally {
            this.flows.delete(item.id);
          }
        });
        // the server end of a kept connection first: a packet from a restored
        // client to a restarting server would be answered with a reset
        this.walk(ctx, { type: 'wait', for: 'listening-ends' });
        await restoreFirst(item.id);
        cutStillWhole();
        this.walk(ctx, { type: 'wait', for: 'restore-slot' });
        await limitFor(
          `restore:${item.destination}`,
          caps.restore,
        )(async () => {
          const t = this.clock.now();
          await this.stage(ctx, 'restore', () => driver.restore(ctx));
          this.learn(item, { restoreMs: this.clock.now() - t });
        });
        restoredAt.set(item.id, this.clock.now());
        const pairs = this.plan.restoreAfter ?? [];
        // a listening end: its probes to the members restored after it are dropped now
        if (pairs.some(([first]) => first === item.id))
          held.set(
            item.id,
            holdProbes(ctx.dst, item, String(ctx.state.dstId ?? item.container.name)).catch(
              (err: unknown) => {
                this.emit({
                  type: 'warning',
                  id: item.id,
                  message: `window probes not held: ${errorText(err)}`,
                });
                return undefined;
              },
            ),
          );
        restored[k]?.resolve(true);
        // the listening ends whose members all run again resolve their neighbours afresh
        for (const f of firstsOf(item.id, pairs))
          if (pairs.every(([first, then]) => first !== f || restoredAt.has(then)))
            void held.get(f)?.then((h) =>
              h?.release().catch((err: unknown) =>
                this.emit({
                  type: 'warning',
                  id: f,
                  message: `neighbour entries not released: ${errorText(err)}`,
                }),
              ),
            );
        // downtime: from the freeze until the copy runs (verify only confirms it)
        runningAt = this.clock.now();
        await this.stage(ctx, 'verify', () => driver.verify(ctx));
      } catch (err) {
        this.flows.delete(item.id);
        if (err instanceof StopRequested) await skip(err.message);
        else if (cut) await backWithCut(cut, err);
        else await giveUp(err);
        return;
      }
      const downtimeMs = Math.round((runningAt ?? this.clock.now()) - (frozenAt ?? this.clock.now()));
      if (cut) {
        // the source stays until every member of the cut runs verified on the destination
        verified[k]?.resolve(true);
        passTurn();
        this.walk(ctx, { type: 'wait', for: 'cut-verified' });
        const all = await Promise.all(cut.map((id) => verified[indexOf.get(id) as number]?.promise));
        if (!all.every(Boolean)) {
          // verified: the cut's rollback undoes it with the rest
          await rollBackCut(cut);
          return;
        }
      }
      try {
        await this.stage(ctx, 'finalize', () => driver.finalize(ctx));
      } catch (err) {
        // the copy runs verified: a leftover source or temp dir is a warning, not a loss
        this.emit({ type: 'warning', id: item.id, message: `finalize: ${errorText(err)}` });
      }
      this.settle(ctx, results, { outcome: 'migrated', downtimeMs });
      passTurn();
    };

    // one() settles its container on every path; should it ever throw, the
    // others still finish, and that container is reported, not forgotten
    const guarded = (k: number) =>
      one(k)
        .finally(() => {
          restored[k]?.resolve(false);
          // never frozen (skipped, refused, failed before the freeze): its cut cannot complete
          const id = (items[k] as MigrationItem).id;
          if (results.get(id)?.outcome !== 'migrated')
            failCut(k, `${(items[k] as MigrationItem).container.name} did not move`);
        })
        .catch((err: unknown) => {
          leaveLine(k);
          const id = (items[k] as MigrationItem).id;
          if (!results.has(id)) {
            results.set(id, {
              outcome: 'failed',
              message: `ferry failed on it: ${errorText(err)}; run ferry recover`,
            });
            // where it runs is unknown: its lock and the run stay for recover
            this.needsAttention.add(id);
          }
        });
    await Promise.all(
      items.map((_, k) =>
        // members of a cut wait for each other: never one whole migration at a time
        holdTurn || cutOf.size > 0 || options.strategy !== 'sequential'
          ? guarded(k)
          : whole(() => guarded(k)),
      ),
    );

    await swept;
    // every path settles its container; one that did not is an engine fault, and
    // where it runs is unknown: it keeps its lock and the run stays open for recover
    for (const i of items) if (!results.has(i.id)) this.needsAttention.add(i.id);
    await this.releaseLocks(items);
    return this.finish(items, results);
  }

  /** Leftovers of earlier runs on every host this run touches (the sweep effect: leftovers.ts). */
  private async sweep(items: MigrationItem[]): Promise<void> {
    const sweep = this.deps.sweep;
    if (sweep === false) return;
    const hosts = [...new Set(items.flatMap((i) => [i.container.host, i.destination]))];
    await Promise.all(
      hosts.map((h) =>
        sweep(this.deps.session(h), this.runId).then(
          (removed) => {
            if (removed.length > 0)
              this.emit({
                type: 'warning',
                message: `${h}: removed what earlier runs left behind: ${removed.join(', ')}`,
              });
          },
          (err: unknown) =>
            this.emit({
              type: 'warning',
              message: `${h}: leftovers of earlier runs not checked: ${errorText(err)}`,
            }),
        ),
      ),
    );
  }

  private finish(items: MigrationItem[], results: Results, refused?: string): RunSummary {
    const summary: RunSummary = {
      runId: this.runId,
      strategy: this.plan.options.strategy,
      makespanMs: Math.round(this.clock.now() - this.started),
      results: items.map((i) => ({
        id: i.id,
        ...(results.get(i.id) ?? {
          outcome: 'failed' as Outcome,
          message: 'ferry lost track of it (no stage settled it); run ferry recover',
        }),
      })),
      ...(refused === undefined ? {} : { refused }),
    };
    // a container whose rollback failed keeps the run open: ferry recover finds it
    if (this.needsAttention.size === 0)
      this.record({ kind: 'end', runId: this.runId, at: this.clock.wall() });
    else
      this.record({
        kind: 'stopped',
        runId: this.runId,
        at: this.clock.wall(),
        attention: [...this.needsAttention],
      });
    this.journal.close();
    this.emit({ type: 'run-finished', summary });
    return summary;
  }

  /** Every member's lock on its source host, or why the run must not start (nothing is touched). */
  private async lockAll(items: MigrationItem[]): Promise<string | undefined> {
    const locks = this.deps.locks;
    if (locks === false) return undefined;
    const tries = await Promise.allSettled(
      items.map((item) =>
        locks.acquire(this.deps.session(item.container.host), item, this.runId, (message) =>
          this.emit({ type: 'warning', id: item.id, message }),
        ),
      ),
    );
    const why = tries.flatMap((t) => (t.status === 'fulfilled' ? [] : [errorText(t.reason)]));
    if (why.length === 0) return undefined;
    await this.releaseLocks(items.filter((_, k) => tries[k]?.status === 'fulfilled'));
    for (const message of why) this.emit({ type: 'warning', message });
    return why.join('; ');
  }

  /** Locks of the containers settled; one that needs attention keeps its lock until recover. */
  private async releaseLocks(items: MigrationItem[]): Promise<void> {
    const locks = this.deps.locks;
    if (locks === false) return;
    await Promise.all(
      items
        .filter((i) => !this.needsAttention.has(i.id))
        .map((i) =>
          locks
            .release(this.deps.session(i.container.host), i, this.runId)
            .catch((err: unknown) =>
              this.emit({ type: 'warning', id: i.id, message: `lock not released: ${errorText(err)}` }),
            ),
        ),
    );
  }

  /** A host session whose commands end at the deadline of the container's step. */
  private bounded(session: HostSession, ctx: () => MigrationContext): HostSession {
    return {
      host: session.host,
      exec: (argv, opts = {}) => {
        if (opts.timeoutMs !== undefined) return session.exec(argv, opts);
        const c = ctx();
        const step = this.step.get(c.item.id);
        if (!step || step === 'transfer') return session.exec(argv, opts);
        const mem = typeof c.state.memBytes === 'number' ? c.state.memBytes : 0;
        const timeoutMs = { ...deadlinesFor(mem), ...this.deps.deadlines }[step];
        return session.exec(argv, { ...opts, timeoutMs });
      },
      spawn: (argv, opts) => session.spawn(argv, opts),
    };
  }

  private context(item: MigrationItem, drivers: Record<RuntimeKind, MigrationDriver>) {
    const driver = drivers[item.container.runtime];
    const state: DriverState = {};
    const self = () => ctx;
    const ctx: MigrationContext = {
      item,
      runId: this.runId,
      src: this.bounded(this.deps.session(item.container.host), self),
      dst: this.bounded(this.deps.session(item.destination), self),
      // holds the operator's standing allow list (FERRY_ALLOW): the caller put it in the plan's request
      options: this.plan.options,
      state,
      zstd: false,
      onProgress: (delta) => {
        const f = this.flows.get(item.id);
        if (!f) return;
        f.sent += delta;
        const now = this.clock.now();
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
          // a failure is not remembered: the next container tries again
          p.catch(() => this.onceCache.delete(key));
        }
        return p;
      },
    };
    return { ctx, driver };
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: a stage returns nothing, or its breakdown
  private async stage<T extends void | Record<string, number | string>>(
    ctx: MigrationContext,
    stage: Stage,
    fn: () => Promise<T>,
  ): Promise<void> {
    this.walk(ctx, { type: 'begin', stage });
    const t = this.clock.now();
    let detail: T;
    try {
      detail = await fn();
    } catch (err) {
      this.walk(ctx, { type: 'fail', stage, message: errorText(err) });
      throw err;
    }
    this.walk(ctx, {
      type: 'finish',
      stage,
      ms: Math.round(this.clock.now() - t),
      ...(detail ? { detail } : {}),
    });
  }

  /** The container's next phase (phases.ts), and the actions that go with it, performed in their order. */
  private walk(ctx: MigrationContext, event: PhaseEvent): void {
    const id = ctx.item.id;
    const [next, actions] = transition(id, this.phases.get(id) ?? WAITING, event);
    this.phases.set(id, next);
    for (const a of actions) {
      switch (a.do) {
        case 'mark':
          ctx.state[a.flag] = true;
          break;
        case 'deadline':
          this.step.set(id, a.step);
          break;
        case 'journal': {
          const { kind, ...rest } = a.record;
          const at = this.clock.wall();
          if (kind === 'stage') {
            const { stage, status, message } = rest as Extract<PhaseRecord, { kind: 'stage' }>;
            this.record({
              kind,
              runId: this.runId,
              at,
              id,
              stage,
              status,
              state: ctx.state,
              ...(message === undefined ? {} : { message }),
            });
          } else this.record({ kind, runId: this.runId, at, id, state: ctx.state, ...(rest as Settlement) });
          break;
        }
        case 'emit':
          this.emit(a.event);
          break;
      }
    }
  }

  /**
   * Freezing early only adds downtime if the link is busy: wait until a
   * transfer slot is free, or the transfer about to end will end within the
   * time a checkpoint takes on this source (the pipeline still overlaps).
   */
  private async linkNearlyFree(item: MigrationItem, cap: number): Promise<void> {
    const link = linkKey(item);
    // this container's own checkpoint: measured on its source, else planned
    const checkpointMs = () =>
      this.checkpointMs.get(item.container.host) ?? this.plan.estimates?.[item.id]?.checkpointMs ?? 500;
    for (;;) {
      if (this.stop.signal.aborted) return;
      const mine = [...this.flows.values()].filter((f) => f.link === link);
      if (linkNearlyFree(mine, cap, checkpointMs(), this.clock.now())) return;
      await this.clock.sleep(25);
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
    let outcome: Outcome =
      ctx.state.frozen || ctx.state.freezing || outcomeIfOk === 'skipped' ? outcomeIfOk : 'failed';
    let message = why;
    this.walk(ctx, { type: 'roll-back' });
    try {
      await driver.rollback(ctx);
      this.walk(ctx, {
        type: 'rolled-back',
        ok: true,
        message: `${ctx.item.container.name} runs on ${ctx.item.container.host} again: ${why}`,
      });
    } catch (err) {
      outcome = 'failed';
      this.needsAttention.add(id);
      message = `${why}; ROLLBACK FAILED: ${errorText(err)}`;
      this.walk(ctx, { type: 'rolled-back', ok: false, message });
    }
    this.settle(ctx, results, { outcome, message });
  }

  /** A journal that cannot be written (a full disk) stops the run safely instead of ending it. */
  private record(r: Parameters<JournalSink['write']>[0]): void {
    try {
      this.journal.write(r);
    } catch (err) {
      if (!this.journalBroken) {
        this.journalBroken = true;
        this.emit({
          type: 'warning',
          message: `the journal ${this.journalPath} cannot be written (${errorText(err)}): stopping, so that nothing is frozen that recover could not find`,
        });
        this.cancel();
      }
    }
  }

  /** A container's last word: in the results, the journal and the event stream. */
  private settle(ctx: MigrationContext, results: Results, result: Result): void {
    const id = ctx.item.id;
    this.touched.add(id);
    results.set(id, result);
    this.walk(ctx, { type: 'settle', result });
  }

  /** The planner's measurement of the link, or a fresh one (16 MB of zeros); slow links get zstd. */
  private async chooseCompression(ctx: MigrationContext, link: string): Promise<boolean> {
    const known = this.plan.links?.[link];
    if (known && this.plan.options.compress === 'auto') return known.zstd;
    if (this.plan.options.compress !== 'auto') return this.plan.options.compress === 'zstd';
    const m = await this.deps.measureLink(ctx.src, ctx.dst, 'auto');
    this.emit({
      type: 'warning',
      id: ctx.item.id,
      message: `link ${link}: ${(m.bytesPerSec / 1e6).toFixed(0)} MB/s measured, ${m.zstd ? 'zstd' : 'no compression'}`,
    });
    return m.zstd;
  }

  /** Refines the throughput model from one measured stage and re-estimates those still waiting. */
  private learn(item: MigrationItem, measured: StageSample['measured'], wireBytes?: number): void {
    try {
      this.refineFrom(item, measured, wireBytes);
    } catch (err) {
      // estimates are advice: a bad number must not roll back a good migration
      this.emit({ type: 'warning', id: item.id, message: `estimates not refined: ${errorText(err)}` });
    }
  }

  private refineFrom(item: MigrationItem, measured: StageSample['measured'], wireBytes?: number): void {
    const key = `${item.container.runtime}:${linkKey(item)}`;
    const model: ThroughputModel | undefined = this.plan.models?.[key];
    const memoryBytes = this.plan.memoryBytes?.[item.id];
    if (!model || !memoryBytes || !this.plan.models || !this.plan.estimates) return;
    const next = refine(model, {
      memoryBytes,
      measured,
      ...(wireBytes ? { wireBytes } : {}),
    });
    this.plan.models[key] = next;
    for (const other of this.plan.items) {
      if (`${other.container.runtime}:${linkKey(other)}` !== key || other.id === item.id) continue;
      if (this.touched.has(other.id)) continue;
      const mem = this.plan.memoryBytes?.[other.id];
      if (mem === undefined) continue;
      const e = estimateStages(mem, next);
      this.plan.estimates[other.id] = e;
      this.emit({
        type: 'estimate',
        id: other.id,
        checkpointMs: Math.round(e.checkpointMs),
        transferMs: Math.round(e.transferMs),
        restoreMs: Math.round(e.restoreMs),
      });
    }
  }
}

/** A stop asked for before this container froze: it is skipped, not failed. */
class StopRequested extends StageError {
  constructor() {
    super('stopped before this container was frozen');
  }
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function runMigration(plan: Plan, deps: EngineDeps): MigrationRun {
  return new MigrationRun(plan, deps);
}
