// What the TUI shows and the one interface through which it reaches the world.
// The store and the components see only these shapes; src/cli/tui.ts builds
// the real backend (SSH pool, inventory, planner, engine), unit tests a fake.
import type { SavedGroup as ConfigSavedGroup } from '../config/groups.ts';
import type { MemberSpec } from '../config/member-spec.ts';
import type { RuntimeKind } from '../inventory/model.ts';
import type {
  EngineEvent,
  PlanRequest as GroupPlanRequest,
  MigrateOptions,
  MigrationItem,
  PlanFinding,
  PlannedCreate,
  RunSummary,
} from '../plan/migration.ts';
import type { Strategy } from '../plan/schedule.ts';

export type { EngineEvent, MemberSpec, PlanFinding, PlannedCreate, RunSummary, RuntimeKind, Strategy };

export interface ContainerRow {
  /** host/runtime/name, as containerKey */
  key: string;
  host: string;
  runtime: RuntimeKind;
  name: string;
  image: string;
  state: string;
  memoryBytes: number | null;
  /** compose project, when the container has one */
  group: string | null;
  /** from a refresh that failed: the last good data */
  stale: boolean;
}

/**
 * connecting: no answer yet; ok; stale: the last refresh failed, older data shown;
 * unreachable: never answered; refused: the SSH layer refused it (host key, auth).
 */
export type HostState = 'connecting' | 'ok' | 'stale' | 'unreachable' | 'refused';

export interface HostStatus {
  host: string;
  state: HostState;
  /** one line: why the host is not ok (the SSH layer's or the probe's message) */
  reason: string | null;
  hint: string | null;
  /** partial problems on a reachable host (a runtime that failed, sudo) */
  warnings: string[];
  containers: number;
  refreshedAt: number | null;
  durationMs: number | null;
}

export interface HostRefresh {
  status: HostStatus;
  containers: ContainerRow[];
}

/**
 * What the TUI asks to plan: the marked members, all to one host (the
 * planner's request, less what only the command line names); `signal` is
 * aborted when the person leaves the plan before it is ready.
 */
export type PlanRequest = Pick<GroupPlanRequest, 'members' | 'options' | 'signal'> & { to: string };

/** The part of src/migrate/survey.ts's MigrationPlan that the TUI shows and runs. */
export interface PlanView {
  items: MigrationItem[];
  options: MigrateOptions;
  edges: [string, string][];
  estimates: Record<string, { checkpointMs: number; transferMs: number; restoreMs: number }>;
  memoryBytes?: Record<string, number>;
  /** measured links, "from->to" */
  links?: Record<string, { bytesPerSec: number; zstd: boolean }>;
  predicted: { makespanMs: number; downtimeMs: Record<string, number>; sequentialMs: number };
  findings: PlanFinding[];
  /** what each member's copy is created with (env values elided, host text sanitised), by item id */
  creates?: Record<string, PlannedCreate>;
  blocked: boolean;
}

/** A running migration: src/migrate/engine.ts's MigrationRun fits. */
export interface RunHandle {
  readonly runId: string;
  on(listener: (e: EngineEvent) => void): () => void;
  cancel(): void;
  readonly done: Promise<RunSummary>;
}

/** A saved group as the TUI lists and saves it: the part of groups.yaml's it shows. */
export type SavedGroup = Pick<ConfigSavedGroup, 'name' | 'description' | 'members' | 'to'>;

export interface Backend {
  /** the hosts to show, in display order */
  readonly hosts: readonly string[];
  /** one round trip; never rejects for a host that fails (the status says why) */
  refreshHost(host: string): Promise<HostRefresh>;
  /** rejects with a message fit for the screen (unreachable host, unknown member) */
  plan(req: PlanRequest): Promise<PlanView>;
  run(plan: PlanView): RunHandle;
  loadGroups(): Promise<SavedGroup[]>;
  saveGroup(group: SavedGroup): Promise<void>;
  close(): Promise<void>;
}
