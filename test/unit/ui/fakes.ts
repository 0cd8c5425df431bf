// A fake backend for unit tests only: canned inventory, plans and engine
// events, with every call recorded.
import { vi } from 'vitest';
import type { EngineEvent, RunSummary } from '../../../src/plan/migration.ts';
import type {
  Backend,
  ContainerRow,
  HostRefresh,
  HostStatus,
  PlanRequest,
  PlanView,
  RunHandle,
  SavedGroup,
} from '../../../src/store/types.ts';

export function row(host: string, name: string, over: Partial<ContainerRow> = {}): ContainerRow {
  const runtime = over.runtime ?? 'podman';
  return {
    key: `${host}/${runtime}/${name}`,
    host,
    runtime,
    name,
    image: 'localhost/ferry-workload:latest',
    state: 'running',
    memoryBytes: 64 * 1024 * 1024,
    group: null,
    stale: false,
    ...over,
  };
}

export function okHost(host: string, containers: ContainerRow[]): HostRefresh {
  return {
    status: {
      host,
      state: 'ok',
      reason: null,
      hint: null,
      warnings: [],
      containers: containers.length,
      refreshedAt: 1,
      durationMs: 120,
    },
    containers,
  };
}

export function badHost(host: string, state: HostStatus['state'], reason: string): HostRefresh {
  return {
    status: {
      host,
      state,
      reason,
      hint: null,
      warnings: [],
      containers: 0,
      refreshedAt: null,
      durationMs: 5000,
    },
    containers: [],
  };
}

/** The lab's sample workflow on alpha (podman wf, docker wfd), a lone container on gamma. */
export function labInventory(): Record<string, HostRefresh> {
  const stages = ['producer', 'parse', 'enrich', 'sink'];
  return {
    alpha: okHost('alpha', [
      ...stages.map((s) => row('alpha', `wf-${s}-1`, { group: 'wf' })),
      ...stages.map((s) => row('alpha', `wfd-${s}-1`, { group: 'wfd', runtime: 'docker' })),
      row('alpha', 'lonely', { state: 'exited', memoryBytes: null }),
    ]),
    beta: okHost('beta', []),
    gamma: okHost('gamma', [row('gamma', 't5-gamma', { group: 't5g', image: 'none' })]),
  };
}

export class FakeRun implements RunHandle {
  readonly runId = 'run-1';
  readonly cancel = vi.fn(() => {
    this.emit({ type: 'warning', message: 'stopping: no further container will be frozen' });
  });
  readonly done: Promise<RunSummary>;
  private resolve!: (s: RunSummary) => void;
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly events: EngineEvent[] = [];
  private t = 0;

  constructor() {
    this.done = new Promise((r) => {
      this.resolve = r;
    });
  }

  on(l: (e: EngineEvent) => void) {
    for (const e of this.events) l(e);
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Emits an event stamped with a run time that grows by `dt` ms. */
  // biome-ignore lint/suspicious/noExplicitAny: any event shape without at/t; the union is checked by the caller's literal
  emit(e: any, dt = 100): void {
    this.t += dt;
    const stamped = { ...e, at: 1_000_000 + this.t, t: this.t } as EngineEvent;
    this.events.push(stamped);
    for (const l of this.listeners) l(stamped);
  }

  finish(summary: Omit<RunSummary, 'runId'>): void {
    const s = { runId: this.runId, ...summary };
    this.emit({ type: 'run-finished', summary: s });
    this.resolve(s);
  }
}

export function planFor(req: PlanRequest, over: Partial<PlanView> = {}): PlanView {
  const items = req.members.map((m) => ({
    id: `${m.host}/${m.runtime ?? 'podman'}/${m.name}`,
    container: { host: m.host, runtime: m.runtime ?? 'podman', name: m.name },
    destination: req.to,
  }));
  return {
    items,
    options: req.options,
    edges: [],
    estimates: Object.fromEntries(
      items.map((i) => [i.id, { checkpointMs: 400, transferMs: 1200, restoreMs: 300 }]),
    ),
    memoryBytes: Object.fromEntries(items.map((i) => [i.id, 64 * 1024 * 1024])),
    links: { [`alpha->${req.to}`]: { bytesPerSec: 93 * 1024 * 1024, zstd: false } },
    predicted: {
      makespanMs: 2500 + items.length * 600,
      sequentialMs: items.length * 1900,
      downtimeMs: Object.fromEntries(items.map((i) => [i.id, 1900])),
    },
    findings: [],
    blocked: false,
    ...over,
  };
}

export class FakeBackend implements Backend {
  readonly hosts: string[];
  inventory: Record<string, HostRefresh>;
  groups: SavedGroup[] = [];
  planOver: Partial<PlanView> | ((req: PlanRequest) => PlanView) = {};
  planError: string | null = null;
  readonly runs: FakeRun[] = [];
  readonly planRequests: PlanRequest[] = [];
  readonly saved: SavedGroup[] = [];
  readonly refreshCalls: string[] = [];
  /** hosts whose refresh waits until released */
  private readonly held = new Map<string, () => void>();
  holdHosts = new Set<string>();

  constructor(inventory: Record<string, HostRefresh> = labInventory()) {
    this.inventory = inventory;
    this.hosts = Object.keys(inventory);
  }

  async refreshHost(host: string): Promise<HostRefresh> {
    this.refreshCalls.push(host);
    if (this.holdHosts.has(host)) await new Promise<void>((r) => this.held.set(host, r));
    const r = this.inventory[host];
    if (!r) throw new Error(`unknown host ${host}`);
    return structuredClone(r);
  }

  release(host: string): void {
    this.holdHosts.delete(host);
    this.held.get(host)?.();
    this.held.delete(host);
  }

  async plan(req: PlanRequest): Promise<PlanView> {
    this.planRequests.push(req);
    if (this.planError) throw new Error(this.planError);
    return typeof this.planOver === 'function' ? this.planOver(req) : planFor(req, this.planOver);
  }

  run(_plan: PlanView): RunHandle {
    const r = new FakeRun();
    this.runs.push(r);
    return r;
  }

  async loadGroups(): Promise<SavedGroup[]> {
    return this.groups;
  }

  async saveGroup(g: SavedGroup): Promise<void> {
    this.saved.push(g);
    this.groups = [...this.groups.filter((x) => x.name !== g.name), g];
  }

  async close(): Promise<void> {}
}
