// What the engine does to the world, as interfaces: it takes these as
// parameters and performs nothing else itself. live.ts wires the real ones
// (the fsynced journal, the system clock, the podman and docker drivers, the
// link measurement, the lock directories on the hosts); tests wire scripted ones.

import type { RuntimeKind } from '../inventory/model.ts';
import type { MigrationItem } from '../plan/migration.ts';
import type { MigrationDriver } from './driver.ts';
import type { JournalRecord, RunOwner } from './journal.ts';
import type { HostSession } from './types.ts';

/** Time as the engine reads it. */
export interface Clock {
  /** monotonic ms (durations, downtime, the events' `t`) */
  now(): number;
  /** wall clock, ms since the epoch (the records' and events' `at`, the run id) */
  wall(): number;
  sleep(ms: number): Promise<void>;
}

/** The run's journal: each record durable before write returns (recover reads it). */
export interface JournalSink {
  readonly path: string;
  write(record: JournalRecord): void;
  close(): void;
}

/** One migration per container at a time: its lock on its source host. */
export interface RunLocks {
  /** takes it, or throws saying who holds it / why it cannot be taken (nothing is touched then) */
  acquire(
    host: HostSession,
    item: MigrationItem,
    runId: string,
    onStale: (why: string) => void,
  ): Promise<void>;
  release(host: HostSession, item: MigrationItem, runId: string): Promise<void>;
}

/** A link's speed, and whether streams on it are compressed. */
export type MeasureLink = (
  from: HostSession,
  to: HostSession,
  compress: 'auto' | 'none' | 'zstd',
) => Promise<{ bytesPerSec: number; zstd: boolean }>;

/** Removes what earlier runs left on a host that no run needs (leftovers.ts); returns what it removed. */
export type SweepLeftovers = (host: HostSession, runId: string) => Promise<string[]>;

export interface EngineEffects {
  drivers: Record<RuntimeKind, MigrationDriver>;
  /** opens (creates) the journal of a new run */
  openJournal(runId: string): JournalSink;
  clock: Clock;
  measureLink: MeasureLink;
  /** false: no locks (tests of the engine alone) */
  locks: RunLocks | false;
  /** a new run's id, unique on this machine */
  newRunId(wallMs: number): string;
  /** this process, recorded in the journal: recover leaves a live run alone */
  owner(): RunOwner;
  /** run beside the migration on every host it touches; false: none (tests of the engine alone) */
  sweep: SweepLeftovers | false;
}
