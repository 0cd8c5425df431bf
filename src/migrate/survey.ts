// The survey: planMigration(pool, request) plans a group against the live
// hosts. It resolves the members on their hosts, runs preflight for each
// (container, destination), builds the dependency DAG, measures each link
// once, estimates every stage and orders the group with the flow-shop
// scheduler. The result is what `--plan` prints and what `run(plan)` executes.
// Connections to all hosts are set up in parallel.
import {
  type MemberSpec,
  formatMemberSpec as memberLabel,
  parseMemberSpec,
  sameMember,
} from '../config/member-spec.ts';
import { mergeProbe } from '../inventory/inventory.ts';
import type { RuntimeKind } from '../inventory/model.ts';
import { type Container, containerKey } from '../inventory/model.ts';
import { buildDag, type UserEdge } from '../plan/dag.ts';
import type {
  MigrateOptions,
  MigrationItem,
  Plan,
  PlanFinding,
  PlannedCreate,
  PlanRequest,
} from '../plan/migration.ts';
import { CPUINFO_SECTION, type PreflightReport, preflightGroup } from '../plan/preflight.ts';
import {
  estimateStages,
  type StageEstimate,
  plan as schedulePlan,
  simulate,
  type ThroughputModel,
} from '../plan/schedule.ts';
import { createLine, displayWord } from '../runtime/create-argv.ts';
import { poolExec } from '../runtime/exec.ts';
import type { FactsCache } from '../runtime/facts-cache.ts';
import { type HostTarget, type ProbeOptions, probeHost } from '../runtime/probe.ts';
import type { SshPool } from '../ssh/index.ts';
import { errorText } from '../text/error.ts';
import { linkKey, scheduleInput } from './scheduling.ts';
import { sessionsFor } from './session.ts';
import { type DirectRoute, type LinkMeasure, measureLink, probeDirect } from './transfer.ts';
import type { HostSession } from './types.ts';

export interface MigrationPlan extends Plan {
  /** [before, after]: `after` is not frozen before `before` (dependencies first) */
  edges: [string, string][];
  /** measured memory of each container, bytes */
  memoryBytes: Record<string, number>;
  estimates: Record<string, StageEstimate>;
  links: Record<string, LinkMeasure & { direct?: DirectRoute }>;
  models: Record<string, ThroughputModel>;
  predicted: {
    makespanMs: number;
    /** with the sequential strategy, for comparison */
    sequentialMs: number;
    downtimeMs: Record<string, number>;
    stages: { id: string; stage: 'checkpoint' | 'transfer' | 'restore'; startMs: number; endMs: number }[];
  };
  findings: PlanFinding[];
  /** what each member's copy is created with on its destination, by item id */
  creates: Record<string, PlannedCreate>;
  /** some member has a blocker: that member will not be touched */
  blocked: boolean;
  /** how long planning took, ms */
  planMs: number;
  /** ms since planning started at which each step ended (FERRY_TIMING=1 prints them) */
  timings?: Record<string, number>;
  /** hosts whose slow facts came from the facts cache (FERRY_TIMING=1 prints them) */
  factsCached?: string[];
}

/**
 * The create command a member's copy gets on its destination, as the driver
 * builds it from the inspect the plan read (the driver re-reads and
 * re-checks it), for a person to see before anything runs.
 */
export function plannedCreate(c: Container, options: MigrateOptions): PlannedCreate {
  if (c.runtime === 'podman' && (options.restorePath === 'import' || c.autoRemove))
    return {
      argv: null,
      line: "restored from the source's checkpoint archive (--restore-path import): its configuration as the source sends it, checked at restore",
    };
  const argv = options.newAddress ? c.copyArgv?.newAddress : c.copyArgv?.sameAddress;
  if (!argv)
    return {
      argv: null,
      line:
        c.runtime === 'podman'
          ? 'none: podman recorded no create command for it, so it cannot be pre-created'
          : "unknown: the source's inspect of it could not be read",
    };
  return { argv: argv.map(displayWord), line: createLine(argv) };
}

/** A problem that stops planning altogether: a host that cannot be reached, a member that does not exist. */
export class PlanError extends Error {
  override name = 'PlanError';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/**
 * What a stage costs here before anything is measured: from the lab's
 * measurements (podman dumps 200 MB in 0.44 s; a pre-created container
 * restores in ~0.3 s plus ~3 ms/MB). Refined from each measured stage.
 */
export function defaultModel(runtime: RuntimeKind, linkBytesPerSec: number, zstd: boolean): ThroughputModel {
  return {
    linkBytesPerSec,
    dumpBytesPerSec: 400e6,
    restoreBytesPerSec: 350e6,
    fixedCheckpointMs: runtime === 'podman' ? 300 : 600,
    fixedRestoreMs: runtime === 'podman' ? 250 : 900,
    compressionRatio: zstd ? 3 : 1,
  };
}

/** The route the source would take to the destination by itself, or why it cannot. */
async function directRoute(pool: SshPool, source: HostSession, to: string): Promise<DirectRoute | string> {
  const s = await pool.settingsOf(to);
  const route = { target: `${s.user}@${s.hostName}`, port: s.port };
  const probe = await probeDirect(source, route);
  return typeof probe === 'string' ? probe : { ...route, setupMs: probe };
}

/** A link's estimate, and why the direct route was not taken (when it was asked for). */
interface LinkResult {
  link: LinkMeasure & { direct?: DirectRoute };
  problem?: { severity: 'blocker' | 'warning'; message: string };
}

/**
 * Each link's estimate, once per source -> destination pair, started as soon
 * as the pair is known: it needs no probe, so its setup and warm-up overlap
 * the probes and preflight. Its rate is read only from windows after quiet(),
 * once the probes are in (their CPU load would skew it, and the compression
 * choice with it; preflight's round trips are light),
 * and links are measured one after another for the same reason.
 */
class LinkEstimates {
  private readonly runs = new Map<string, Promise<LinkResult>>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly session: (host: string) => HostSession;
  private readonly pool: SshPool;
  private readonly options: MigrateOptions;
  private readonly deps: PlanDeps;
  private readonly stopper = new AbortController();
  private calm: () => void = () => undefined;
  private readonly calmed = new Promise<void>((resolve) => {
    this.calm = resolve;
  });

  constructor(pool: SshPool, options: MigrateOptions, deps: PlanDeps) {
    this.pool = pool;
    this.options = options;
    this.deps = deps;
    this.session = sessionsFor(pool);
  }

  start(from: string, to: string): void {
    const name = `${from}->${to}`;
    if (this.runs.has(name)) return;
    const run = this.chain.then(() => this.measure(from, to));
    // awaited by get(); until then a failure is no unhandled rejection
    run.catch(() => undefined);
    this.chain = run.catch(() => undefined);
    this.runs.set(name, run);
  }

  get(name: string): Promise<LinkResult> {
    const run = this.runs.get(name);
    if (!run) throw new Error(`link ${name} was never started`);
    return run;
  }

  /** the other work is done: rates may be read from now on */
  quiet(): void {
    this.calm();
  }

  /** the plan failed: streams end now (and still remove their temp dirs) */
  abandon(): void {
    this.stopper.abort();
    this.calm();
  }

  settled(): Promise<unknown> {
    return Promise.allSettled(this.runs.values());
  }

  private async measure(from: string, to: string): Promise<LinkResult> {
    const { options, deps } = this;
    const src = this.session(from);
    const dst = this.session(to);
    const quiet = { quiet: this.calmed, stop: this.stopper.signal };
    const route = options.transfer === 'relay' ? undefined : await directRoute(this.pool, src, to);
    const unavailable =
      typeof route === 'string'
        ? {
            severity: options.transfer === 'direct' ? ('blocker' as const) : ('warning' as const),
            message: options.transfer === 'direct' ? route : `${route}; ferry relays instead`,
          }
        : undefined;
    const direct = route && typeof route !== 'string' ? route : undefined;
    try {
      const link = await deps.measureLink(src, dst, options.compress, direct, quiet);
      return {
        link: { ...link, ...(direct ? { direct } : {}) },
        ...(unavailable ? { problem: unavailable } : {}),
      };
    } catch (err) {
      if (!direct || options.transfer !== 'auto') throw err;
      // auto: a direct route that answers but cannot carry the stream is relayed
      return {
        link: await deps.measureLink(src, dst, options.compress, undefined, quiet),
        problem: {
          severity: 'warning',
          message: `direct transfer ${from} -> ${to} failed its test (${errorText(err)}); ferry relays instead`,
        },
      };
    }
  }
}

/** "host: message", without saying the host twice when the message already starts with it */
const hostMessage = (host: string, message: string) =>
  message.startsWith(`${host}:`) ? message : `${host}: ${message}`;

/** A checkpoint is about the memory in use; 32 MB when stats could not say. */
const UNKNOWN_MEMORY = 32 * 1024 * 1024;

/**
 * [server, client] for each connection kept between members going to the same
 * host, the server being the end whose port listens: it is frozen first and
 * restored first, so that neither end ever sends to the other's address while
 * that one is being restored (it would answer with a reset).
 */
export function serverFirst(
  items: readonly MigrationItem[],
  containers: readonly Container[],
  reports: readonly PreflightReport[],
): [string, string][] {
  const byIp = new Map<string, MigrationItem>();
  containers.forEach((c, i) => {
    for (const n of c.networks) if (n.ip) byIp.set(n.ip, items[i] as MigrationItem);
  });
  const out: [string, string][] = [];
  reports.forEach((r, i) => {
    const me = items[i] as MigrationItem;
    const ev = r.input?.sourceEvidence;
    if (!ev) return;
    const listens = new Set(ev.listening.filter((l) => l.proto === 'tcp').map((l) => l.port));
    for (const s of ev.established) {
      const peer = byIp.get(s.remoteIp);
      if (!peer || peer.id === me.id || peer.destination !== me.destination || !listens.has(s.localPort))
        continue;
      if (!out.some(([a, b]) => a === me.id && b === peer.id)) out.push([me.id, peer.id]);
    }
  });
  return out;
}

/** What planning measures with (tests give their own). */
export interface PlanDeps {
  measureLink: typeof measureLink;
  /** each host's slow facts from earlier runs (the CLI's is on disk); none: every probe asks them */
  factsCache?: FactsCache;
}

export async function planMigration(
  pool: SshPool,
  req: PlanRequest,
  deps: PlanDeps = { measureLink },
): Promise<MigrationPlan> {
  const linkRuns = new LinkEstimates(pool, req.options, deps);
  try {
    return await planGroup(pool, req, linkRuns, deps.factsCache);
  } catch (err) {
    linkRuns.abandon();
    throw err;
  } finally {
    // a plan that fails still waits for its link streams to end (they remove their temp dirs)
    await linkRuns.settled();
  }
}

/** A host's probe, its slow facts from the cache when the host's facts key still matches. */
async function probeCached(
  target: HostTarget,
  opts: ProbeOptions,
  cache: FactsCache | undefined,
): Promise<ReturnType<typeof probeHost>> {
  if (!cache) return probeHost(target, opts);
  const probe = await probeHost(target, { ...opts, knownFacts: await cache.read(target.name) });
  if (probe.factsToKeep) await cache.write(target.name, probe.factsToKeep);
  return probe;
}

async function planGroup(
  pool: SshPool,
  req: PlanRequest,
  linkRuns: LinkEstimates,
  factsCache: FactsCache | undefined,
): Promise<MigrationPlan> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (step: string) => {
    timings[step] = Math.round(performance.now() - t0);
  };
  // req.options.allow holds the operator's standing allow list (FERRY_ALLOW): the CLI and the TUI's backend add it
  const options = req.options;
  if (req.members.length === 0 && !req.compose) throw new PlanError('the group has no members');
  const targets = new Map<string, HostTarget>();
  const target = (host: string) => {
    let t = targets.get(host);
    if (!t) {
      t = { name: host, exec: poolExec(pool, host) };
      targets.set(host, t);
    }
    return t;
  };
  // per-member destinations, matched as members are (a spec without a runtime matches either)
  const mapped = Object.entries(req.destinations ?? {}).map(([spec, host]) => {
    const key = parseMemberSpec(spec);
    if (!key) throw new PlanError(`'${spec}' in the destination map is not host:name or host:runtime/name`);
    return { key, spec, host, used: false };
  });
  const destinationOf = (m: MemberSpec): string => {
    const entry = mapped.find((e) => sameMember(e.key, m));
    if (entry) entry.used = true;
    const d = entry?.host ?? req.to;
    if (!d) throw new PlanError(`no destination for ${memberLabel(m)}`, 'give --to HOST or a mapping');
    if (d === m.host) throw new PlanError(`${memberLabel(m)} is already on ${d}`);
    return d;
  };
  const sources = [
    ...new Set([...req.members.map((m) => m.host), ...(req.compose ? [req.compose.host] : [])]),
  ];
  const destinations = [
    ...new Set([
      ...req.members.map((m) => {
        const to = destinationOf(m);
        // the link estimate needs no probe: it starts now, beside them
        linkRuns.start(m.host, to);
        return to;
      }),
      ...Object.values(req.destinations ?? {}),
      ...(req.to ? [req.to] : []),
    ]),
  ];
  // a compose project's members go to --to, unless the map may name one of them
  if (
    req.compose &&
    req.to &&
    req.to !== req.compose.host &&
    !mapped.some((e) => e.key.host === req.compose?.host)
  )
    linkRuns.start(req.compose.host, req.to);
  // every host at once, each in one round trip: sources give their inventory
  // and CPU image, destinations their inventory and facts (preflight needs both)
  const signal = req.signal ? { signal: req.signal } : {};
  const probes = new Map(
    (
      await Promise.all([
        ...sources.map((h) => probeCached(target(h), { extra: [CPUINFO_SECTION], ...signal }, factsCache)),
        ...destinations
          .filter((h) => !sources.includes(h))
          .map((h) => probeCached(target(h), { ...signal }, factsCache)),
      ])
    ).map((p) => [p.host, p]),
  );
  mark('probes');
  // preflight's round trips are light: the estimates' windows may start beside them
  linkRuns.quiet();
  // a destination that answers but whose probe fails is preflight's to report (as blockers)
  const unreachable = [...probes.values()]
    .filter((p) => !p.reached && (sources.includes(p.host) || p.problems[0]?.code === 'unreachable'))
    .map((p) => hostMessage(p.host, p.problems[0]?.message ?? 'not reachable'));
  if (unreachable.length > 0)
    throw new PlanError(
      unreachable.join('; '),
      'check the host with ferry ssh-config resolve HOST, or ssh to it',
    );

  const inventoryOf = (host: string) =>
    mergeProbe(undefined, probes.get(host) as NonNullable<ReturnType<typeof probes.get>>);
  const members = [...req.members];
  if (req.compose) {
    const { host, project } = req.compose;
    const found = inventoryOf(host)
      .runtimes.flatMap((r) => r.containers)
      .filter((c) => c.compose?.project === project);
    if (found.length === 0)
      throw new PlanError(
        `${host}: no container of compose project ${project}`,
        `list them with ferry ps --hosts ${host}`,
      );
    for (const c of found)
      if (!members.some((m) => sameMember(m, c)))
        members.push({ host: c.host, runtime: c.runtime, name: c.name });
  }

  // each member on its host
  const containers: Container[] = members.map((m) => {
    const inv = inventoryOf(m.host);
    const found = inv.runtimes
      .filter((r) => !m.runtime || r.kind === m.runtime)
      .flatMap((r) => {
        const named = r.containers.filter((c) => c.name === m.name);
        // an id only when nothing has that name, and only a long, unique prefix
        if (named.length > 0 || !/^[0-9a-f]{12,64}$/.test(m.name)) return named;
        const byId = r.containers.filter((c) => c.id.startsWith(m.name));
        return byId.length === 1 ? byId : [];
      });
    if (found.length === 0)
      throw new PlanError(
        `${m.host}: no ${m.runtime ?? 'podman or docker'} container named ${m.name}`,
        `list them with ferry ps --hosts ${m.host}`,
      );
    if (found.length > 1)
      throw new PlanError(
        `${m.host}: ${m.name} exists in both podman and docker`,
        `name it ${m.host}:podman/${m.name} or ${m.host}:docker/${m.name}`,
      );
    return found[0] as Container;
  });
  const items: MigrationItem[] = containers.map((c, i) => ({
    id: containerKey(c),
    container: { host: c.host, runtime: c.runtime, name: c.name },
    destination: destinationOf(members[i] as MemberSpec),
  }));
  const unused = mapped.filter((e) => !e.used);
  if (unused.length > 0)
    throw new PlanError(
      `the destination map names ${unused.map((e) => e.spec).join(', ')}, which ${unused.length === 1 ? 'is' : 'are'} not in the group`,
      'each key of --map must be a member, as host:name or host:runtime/name',
    );
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new PlanError(`${it.id} is named twice in the group`);
    seen.add(it.id);
  }

  // dependencies: compose depends_on, pods, --network container:, and the user's own
  const keyOf = (m: MemberSpec) => {
    const i = members.findIndex((x) => sameMember(x, m));
    if (i < 0) throw new PlanError(`${memberLabel(m)} is used in an ordering but is not a member`);
    return (items[i] as MigrationItem).id;
  };
  const userEdges: UserEdge[] = (req.after ?? []).map((e) => ({
    from: keyOf(e.member),
    to: keyOf(e.after),
    ...(e.note ? { note: e.note } : {}),
  }));
  const dag = buildDag(containers, userEdges);
  if (!dag.ok) throw new PlanError(dag.error.message, 'remove one of the edges named above');
  // a DAG edge from -> to: `from` needs `to`, so `to` goes first
  const edges: [string, string][] = dag.dag.edges.filter((e) => e.from !== e.to).map((e) => [e.to, e.from]);

  // preflight of every member at once, beside the link estimates (each link
  // reads its rate only from windows after the probes: see LinkEstimates)
  for (const it of items) linkRuns.start(it.container.host, it.destination);
  const peers = containers.map((c, i) => ({
    name: c.name,
    ips: c.networks.flatMap((n) => (n.ip ? [n.ip] : [])),
    destination: (items[i] as MigrationItem).destination,
  }));
  const choices = {
    ...(options.tcpEstablished
      ? { tcp: 'established' as const }
      : options.tcpClose
        ? { tcp: 'close' as const }
        : {}),
    ...(options.newAddress ? { newAddress: true } : {}),
  };
  const reports = await preflightGroup(
    containers.map((c, i) => {
      const sourceProbe = probes.get(c.host);
      const destinationProbe = probes.get((items[i] as MigrationItem).destination);
      return {
        container: c,
        source: target(c.host),
        destination: target((items[i] as MigrationItem).destination),
        allow: options.allow,
        group: peers.filter((_, j) => j !== i),
        choices,
        ...(sourceProbe ? { sourceProbe } : {}),
        ...(destinationProbe ? { destinationProbe } : {}),
        ...signal,
      };
    }),
  );
  mark('preflight');
  const linkNames = [...new Set(items.map(linkKey))];
  const measuredLinks = await Promise.all(linkNames.map((name) => linkRuns.get(name)));
  mark('links');
  const links: Record<string, LinkMeasure & { direct?: DirectRoute }> = {};
  const routeProblems: PlanFinding[] = [];
  linkNames.forEach((name, n) => {
    const { link, problem } = measuredLinks[n] as LinkResult;
    links[name] = link;
    if (problem)
      for (const it of items.filter((i) => linkKey(i) === name))
        routeProblems.push({ id: it.id, code: 'direct-unavailable', ...problem });
  });

  const findings: PlanFinding[] = [
    ...dag.dag.warnings.map((message) => ({ id: '', severity: 'warning' as const, code: 'dag', message })),
    ...routeProblems,
    ...reports.flatMap((r: PreflightReport) =>
      r.findings.map((f) => ({ id: r.container, severity: f.severity, code: f.code, message: f.message })),
    ),
  ];

  const models: Record<string, ThroughputModel> = {};
  const memoryBytes: Record<string, number> = {};
  const estimates: Record<string, StageEstimate> = {};
  items.forEach((it, i) => {
    const c = containers[i] as Container;
    const link = links[linkKey(it)] as LinkMeasure;
    const modelKey = `${it.container.runtime}:${linkKey(it)}`;
    models[modelKey] ??= defaultModel(it.container.runtime, link.bytesPerSec, link.zstd);
    memoryBytes[it.id] = c.memoryBytes ?? UNKNOWN_MEMORY;
    estimates[it.id] = estimateStages(memoryBytes[it.id] as number, models[modelKey]);
  });

  // connections between members survive only when both ends are frozen at
  // the same moment and restored with --tcp-established
  const keepsTcp = findings.some((f) => f.code === 'tcp-kept');
  const runOptions = keepsTcp ? { ...options, tcpEstablished: true, consistentCut: true } : options;
  const restoreAfter = keepsTcp ? serverFirst(items, containers, reports) : [];
  for (const e of restoreAfter) if (!edges.some(([a, b]) => a === e[0] && b === e[1])) edges.push(e);
  const input = scheduleInput(items, estimates, edges, runOptions);
  // streams sharing a link share its bandwidth: the fixed-time model prices
  // that only by letting one transfer run at a time
  if (options.strategy === 'parallel') input.caps = { ...input.caps, transferPerLink: 1 };
  const schedule = schedulePlan(runOptions.strategy, input);
  const byId = new Map(items.map((i) => [i.id, i]));
  const ordered = schedule.order.map((id) => byId.get(id) as MigrationItem);
  const sequential = simulate(schedule.order, 'sequential', input);

  return {
    items: ordered,
    options: runOptions,
    edges,
    restoreAfter,
    memoryBytes,
    estimates,
    links,
    models,
    predicted: {
      makespanMs: Math.round(schedule.makespanMs),
      sequentialMs: Math.round(sequential.makespanMs),
      downtimeMs: Object.fromEntries(Object.entries(schedule.downtimeMs).map(([k, v]) => [k, Math.round(v)])),
      stages: schedule.stages.map((s) => ({
        ...s,
        startMs: Math.round(s.startMs),
        endMs: Math.round(s.endMs),
      })),
    },
    findings,
    creates: Object.fromEntries(
      items.map((it, i) => [
        it.id,
        plannedCreate(reports[i]?.input?.container ?? (containers[i] as Container), runOptions),
      ]),
    ),
    blocked: findings.some((f) => f.severity === 'blocker'),
    planMs: Math.round(performance.now() - t0),
    timings,
    factsCached: [...probes.values()].filter((p) => p.factsCached).map((p) => p.host),
  };
}
