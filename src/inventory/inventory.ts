// The live inventory: every host refreshed with one round trip, in parallel.
// A host that fails keeps its last good data, marked stale, with the error;
// the others go on. A runtime that fails on an otherwise healthy host keeps
// its own last good data the same way.
import pLimit from 'p-limit';
import { type HostProbe, type HostTarget, type ProbeOptions, probeHost } from '../runtime/probe.ts';
import { errorText } from '../text/error.ts';
import type { Container, ContainerKey, HostFacts, HostInventory, RuntimeInventory } from './model.ts';
import { containerKey } from './model.ts';

export interface InventoryOptions {
  /** hosts refreshed at once (default 8) */
  concurrency?: number;
  /** the probe, replaceable in tests */
  probe?: (target: HostTarget, opts?: ProbeOptions) => Promise<HostProbe>;
  /**
   * 'list': each refresh runs only the runtimes' list commands (and reads
   * memory from the cgroups); the facts that do not change (CRIU, versions,
   * kernel) are probed once per host, after its first list. 'full' (default):
   * every refresh inspects everything.
   */
  mode?: 'list' | 'full';
  /**
   * list mode: 'after' (default) the facts once per host after its first
   * list; 'with' in the same round trip as every list (ferry hosts); 'never'
   * (ferry ps)
   */
  facts?: 'after' | 'with' | 'never';
  /** a host's state changed outside a refresh (its facts arrived) */
  onUpdate?: (host: HostInventory) => void;
}

export interface ListedContainer {
  container: Container;
  /** from a refresh that failed: the last good data */
  stale: boolean;
}

export class Inventory {
  private readonly targets = new Map<string, HostTarget>();
  private readonly state = new Map<string, HostInventory>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly probe: (target: HostTarget, opts?: ProbeOptions) => Promise<HostProbe>;
  private readonly inflight = new Map<string, Promise<HostInventory>>();
  private readonly mode: 'list' | 'full';
  private readonly factsWhen: 'after' | 'with' | 'never';
  private readonly onUpdate: ((host: HostInventory) => void) | undefined;
  /** list mode: facts probed once per host (the probe that got them, or the one in flight) */
  private readonly facts = new Map<string, HostProbe | Promise<void>>();

  constructor(targets: readonly HostTarget[] = [], opts: InventoryOptions = {}) {
    this.limit = pLimit(opts.concurrency ?? 8);
    this.probe = opts.probe ?? ((t, o) => probeHost(t, o));
    this.mode = opts.mode ?? 'full';
    this.factsWhen = opts.facts ?? 'after';
    this.onUpdate = opts.onUpdate;
    for (const t of targets) this.addHost(t);
  }

  addHost(target: HostTarget): void {
    if (this.targets.has(target.name)) throw new Error(`host '${target.name}' is already in the inventory`);
    this.targets.set(target.name, target);
  }

  removeHost(name: string): void {
    this.targets.delete(name);
    this.state.delete(name);
  }

  target(name: string): HostTarget | undefined {
    return this.targets.get(name);
  }

  hostNames(): string[] {
    return [...this.targets.keys()];
  }

  /** Refreshes the named hosts (default all) in parallel; never rejects. */
  async refresh(hosts: readonly string[] = this.hostNames()): Promise<HostInventory[]> {
    return Promise.all(hosts.map((h) => this.refreshHost(h)));
  }

  /** One round trip to the host. A refresh already running for it is shared. */
  refreshHost(name: string): Promise<HostInventory> {
    const target = this.targets.get(name);
    if (!target) return Promise.reject(new Error(`unknown host '${name}'`));
    const running = this.inflight.get(name);
    if (running) return running;
    const p = this.limit(async () => {
      let probe: HostProbe;
      try {
        probe =
          this.mode === 'list'
            ? await this.probe(target, { inventory: 'list', facts: this.factsWhen === 'with' })
            : await this.probe(target);
      } catch (err) {
        // probeHost does not reject; a replaced probe might
        const why = errorText(err);
        probe = {
          host: name,
          startedAt: Date.now(),
          durationMs: 0,
          reached: false,
          meta: null,
          facts: null,
          runtimes: [],
          problems: [{ severity: 'error', code: 'unreachable', message: `${name}: ${why}`, host: name }],
          extra: new Map(),
        };
      }
      const known = this.facts.get(name);
      const next = mergeProbe(this.state.get(name), probe, known instanceof Promise ? undefined : known);
      if (this.targets.has(name)) this.state.set(name, next);
      // list first, details after: the facts once, when the host has answered
      if (this.mode === 'list' && this.factsWhen === 'after' && probe.reached && known === undefined)
        this.probeFacts(target);
      return next;
    }).finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }

  /** Facts are known for the host (list mode: they arrive after its first list). */
  hasFacts(name: string): boolean {
    const f = this.facts.get(name);
    return f !== undefined && !(f instanceof Promise);
  }

  /** Resolves once the host's facts probe (list mode) has finished, or at once if none runs. */
  async factsSettled(name: string): Promise<void> {
    const f = this.facts.get(name);
    if (f instanceof Promise) await f;
  }

  private probeFacts(target: HostTarget): void {
    const name = target.name;
    const running = this.limit(async () => {
      let probe: HostProbe | null = null;
      try {
        probe = await this.probe(target, { inventory: false });
      } catch {
        probe = null;
      }
      if (!probe?.reached || !probe.facts) {
        // try again after the next list
        this.facts.delete(name);
        return;
      }
      this.facts.set(name, probe);
      const cur = this.state.get(name);
      if (cur && this.targets.has(name) && !cur.stale) {
        const next = withFacts(cur, probe);
        this.state.set(name, next);
        this.onUpdate?.(next);
      }
    });
    this.facts.set(name, running);
  }

  host(name: string): HostInventory | undefined {
    return this.state.get(name);
  }

  hosts(): HostInventory[] {
    return this.hostNames()
      .map((h) => this.state.get(h))
      .filter((h): h is HostInventory => h !== undefined);
  }

  containers(): ListedContainer[] {
    return listContainers(this.hosts());
  }

  find(key: ContainerKey): ListedContainer | undefined {
    return this.containers().find((c) => containerKey(c.container) === key);
  }
}

export function listContainers(hosts: readonly HostInventory[]): ListedContainer[] {
  const out: ListedContainer[] = [];
  for (const h of hosts)
    for (const r of h.runtimes)
      for (const c of r.containers) out.push({ container: c, stale: h.stale || r.stale });
  return out;
}

/**
 * A listed host with the facts of an earlier facts probe: CRIU, kernel, the
 * checkpoint directory and each runtime's versions. Who the user is and
 * whether sudo works come from the list itself. Pure.
 */
export function withFacts(inv: HostInventory, factsProbe: HostProbe): HostInventory {
  const f: HostFacts | null = factsProbe.facts;
  if (!f || !inv.facts) return inv;
  const runtimeFacts = (kind: RuntimeInventory['kind'], listed: RuntimeInventory['facts']) => {
    const known = f.runtimes.find((r) => r.kind === kind);
    return listed.status === 'ok' && known?.status === 'ok' ? known : listed;
  };
  const runtimes = inv.runtimes.map((r) => ({ ...r, facts: runtimeFacts(r.kind, r.facts) }));
  const seen = new Set(inv.problems.map((p) => p.message));
  return {
    ...inv,
    facts: {
      ...inv.facts,
      kernel: f.kernel,
      criu: f.criu,
      checkpointDir: f.checkpointDir,
      runtimes: runtimes.map((r) => r.facts),
    },
    runtimes,
    // what the facts probe found (CRIU, a runtime's info) stays a problem of the host
    problems: [...inv.problems, ...factsProbe.problems.filter((p) => !seen.has(p.message))],
  };
}

/** The host's next state from its previous state and a new probe (and facts known from before). Pure. */
export function mergeProbe(
  prev: HostInventory | undefined,
  probe: HostProbe,
  facts?: HostProbe,
): HostInventory {
  if (facts && probe.reached && probe.facts) return withFacts(mergeProbe(prev, probe), facts);
  const at = probe.startedAt;
  if (!probe.reached || !probe.facts) {
    return {
      host: probe.host,
      stale: true,
      facts: prev?.facts ?? null,
      runtimes: (prev?.runtimes ?? []).map((r) => ({ ...r, stale: true })),
      problems: probe.problems,
      attemptedAt: at,
      refreshedAt: prev?.refreshedAt ?? null,
      durationMs: probe.durationMs,
    };
  }
  const runtimes: RuntimeInventory[] = probe.runtimes.map(({ runtime, probe: rp }) => {
    const before = prev?.runtimes.find((r) => r.kind === runtime.kind);
    if (rp.data) {
      return { kind: runtime.kind, facts: rp.facts, ...rp.data, stale: false, refreshedAt: at };
    }
    if (rp.facts.status === 'missing') {
      return {
        kind: runtime.kind,
        facts: rp.facts,
        containers: [],
        images: [],
        networks: [],
        volumes: [],
        pods: [],
        stale: false,
        refreshedAt: at,
      };
    }
    // it failed: keep what we knew
    return {
      kind: runtime.kind,
      facts: rp.facts,
      containers: before?.containers ?? [],
      images: before?.images ?? [],
      networks: before?.networks ?? [],
      volumes: before?.volumes ?? [],
      pods: before?.pods ?? [],
      stale: true,
      refreshedAt: before?.refreshedAt ?? null,
    };
  });
  return {
    host: probe.host,
    stale: false,
    facts: probe.facts,
    runtimes,
    problems: probe.problems,
    attemptedAt: at,
    refreshedAt: at,
    durationMs: probe.durationMs,
  };
}

/** The runtime inventory of a host for a container's runtime, if the host has it. */
export function runtimeOf(host: HostInventory, kind: Container['runtime']): RuntimeInventory | undefined {
  return host.runtimes.find((r) => r.kind === kind);
}
