// A migration as the planner, the engine, the store and the CLI all see it:
// what moves where, with which options, the plan that orders it, and the
// typed events of its run that the TUI and the headless output both read.
// Declarations and defaults only: the store imports this, not the engine.
import type { MemberSpec } from '../config/member-spec.ts';
import type { RuntimeKind } from '../inventory/model.ts';
import type { StageEstimate, Strategy, ThroughputModel } from './schedule.ts';

export interface ContainerRef {
  host: string;
  runtime: RuntimeKind;
  /** name (or id) on the source host; the copy keeps the name */
  name: string;
}

export interface MigrationItem {
  /** stable key: host/runtime/name */
  id: string;
  container: ContainerRef;
  destination: string;
}

export const COMPRESSIONS = ['auto', 'none', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
/** precreate: the optimized path (container created on the destination before the freeze); import: podman's --export/--import */
export const RESTORE_PATHS = ['auto', 'precreate', 'import'] as const;
export type RestorePath = (typeof RESTORE_PATHS)[number];

export interface MigrateOptions {
  strategy: Strategy;
  compress: Compression;
  /** checkpoint and restore established TCP connections (--tcp-established) */
  tcpEstablished: boolean;
  /** dump established connections but restore them closed (--tcp-close) */
  tcpClose?: boolean;
  /** a member whose address is taken on the destination takes a new one */
  newAddress?: boolean;
  fileLocks: boolean;
  keepSource: boolean;
  /** pause every member first, then checkpoint them: no item in flight between members is lost */
  consistentCut: boolean;
  restorePath: RestorePath;
  /** run inside the restored container; it must exit 0 */
  healthCommand?: string[];
  /** concurrency cap for parallel and auto */
  maxParallel: number;
  /** relay: through ferry (default); direct: the source sends to the destination with its own ssh (a blocker if it cannot); auto: direct where it can, relay elsewhere */
  transfer: TransferMode;
  /** settings that reach beyond the container (privileged, host-network, bind:/PATH...), allowed by name: src/plan/escapes.ts */
  allow: string[];
}

export const TRANSFER_MODES = ['relay', 'direct', 'auto'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];

export const DEFAULT_OPTIONS: MigrateOptions = {
  strategy: 'auto',
  compress: 'auto',
  tcpEstablished: false,
  fileLocks: false,
  keepSource: false,
  consistentCut: false,
  restorePath: 'auto',
  maxParallel: 4,
  transfer: 'relay',
  allow: [],
};

/** What run(plan) executes: items in checkpoint order, dependencies first. The planner fills the rest. */
export interface Plan {
  items: MigrationItem[];
  options: MigrateOptions;
  /** [before, after]: `after` is not frozen before `before` has been */
  edges?: [string, string][];
  /** [first, then]: `then` is restored only once `first` runs (the server end of a kept TCP connection first) */
  restoreAfter?: [string, string][];
  memoryBytes?: Record<string, number>;
  estimates?: Record<string, StageEstimate>;
  /** by "runtime:src->dst": the throughput model the estimates came from, refined as stages are measured */
  models?: Record<string, ThroughputModel>;
  /** by link "src->dst": measured speed, the compression decision, and the source's own route when it sends directly */
  links?: Record<string, { bytesPerSec: number; zstd: boolean; direct?: { target: string; port: number } }>;
  /** members with a blocker are not touched */
  findings?: PlanFinding[];
}

/** What to plan: the members, where each goes, with which options. */
export interface PlanRequest {
  members: MemberSpec[];
  /** ... or every container of a compose project on one host (added to `members`) */
  compose?: { host: string; project: string };
  /** the whole group to one host ... */
  to?: string;
  /** ... or per member ("host:name" or "host:runtime/name" -> destination), overriding `to` */
  destinations?: Record<string, string>;
  options: MigrateOptions;
  /** extra ordering the user asked for: `member` is checkpointed after `after` has started */
  after?: { member: MemberSpec; after: MemberSpec; note?: string }[];
  signal?: AbortSignal;
}

export interface PlanFinding {
  /** the container key, or "" for the group */
  id: string;
  severity: 'blocker' | 'warning';
  code: string;
  message: string;
}

/** What the destination will create for a member: the driver's create command, shown. */
export interface PlannedCreate {
  /** its words, env values elided (`KEY=…`), each sanitised; null: the copy is not made from a command line */
  argv: string[] | null;
  /** the command as one shell-quoted line, or how the copy is made instead */
  line: string;
}

export type Stage = 'prestage' | 'checkpoint' | 'transfer' | 'restore' | 'verify' | 'finalize';

export type Outcome = 'migrated' | 'rolled-back' | 'skipped' | 'failed';

interface At {
  /** wall clock, ms since the epoch */
  at: number;
  /** ms since the run started: a Gantt chart's x axis */
  t: number;
}

export type EngineEvent =
  | (At & { type: 'run-started'; runId: string; strategy: Strategy; order: string[]; items: MigrationItem[] })
  | (At & { type: 'stage-started'; id: string; stage: Stage })
  /** consistent cut: this member is paused (its downtime starts) */
  | (At & { type: 'paused'; id: string })
  | (At & {
      type: 'stage-finished';
      id: string;
      stage: Stage;
      ms: number;
      detail?: Record<string, number | string>;
    })
  | (At & { type: 'bytes'; id: string; bytes: number; rateBytesPerSec: number })
  | (At & { type: 'estimate'; id: string; checkpointMs: number; transferMs: number; restoreMs: number })
  | (At & { type: 'warning'; id?: string; message: string })
  | (At & { type: 'error'; id: string; stage: Stage; message: string })
  | (At & { type: 'rollback'; id: string; ok: boolean; message: string })
  | (At & { type: 'container-done'; id: string; outcome: Outcome; downtimeMs?: number; message?: string })
  | (At & { type: 'run-finished'; summary: RunSummary });

export interface RunSummary {
  runId: string;
  strategy: Strategy;
  makespanMs: number;
  results: { id: string; outcome: Outcome; downtimeMs?: number; message?: string }[];
  /** the run did not start: a member is locked by another run (nothing was touched) */
  refused?: string;
}
