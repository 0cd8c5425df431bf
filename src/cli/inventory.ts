// `ferry hosts` and `ferry ps`: the inventory for people and scripts. One
// probe per host, all hosts at once; a host that cannot be reached is named
// with its reason and the others are still listed. `--json` prints the
// HostsJson / PsJson shapes below (documented in README, "Scripting").

import { configFilePath } from '../config/paths.ts';
import { loadSettings } from '../config/settings.ts';
import { formatFileError } from '../config/yaml-file.ts';
import { Inventory } from '../inventory/inventory.ts';
import type {
  ContainerState,
  CriuStatus,
  HostInventory,
  RuntimeFacts,
  RuntimeKind,
} from '../inventory/model.ts';
import { poolExec } from '../runtime/exec.ts';
import { configuredHostAliases } from '../ssh/aliases.ts';
import {
  formatProblem,
  resolveJumpChain,
  resolveSshConfig,
  SshConfigError,
  type SshConfigOptions,
} from '../ssh/config.ts';
import { createSshPool } from '../ssh/index.ts';
import { errorText } from '../text/error.ts';
import { formatBytes } from '../text/numbers.ts';
import type { formatTable } from '../text/table.ts';

export interface InventoryArgs {
  /** like ssh -F */
  configFile?: string;
  /** --hosts: overrides config.yaml and the ssh config's Host names */
  hosts?: string[];
  json: boolean;
  /** like ssh -J: every host is reached through these */
  jump?: string;
}

/** Exit codes of `ferry hosts` and `ferry ps`. */
// as every ferry command: 1 for any error, 2 is kept for preflight blockers
export const EXIT = { ok: 0, hostFailed: 1, badConfig: 1 } as const;

/** Where the host list came from. */
export type HostListSource = 'flag' | 'config' | 'ssh-config';

export type HostList =
  | { ok: true; hosts: string[]; source: HostListSource }
  | { ok: false; errors: string[] };

/**
 * The hosts to look at: --hosts if given, else `hosts:` in
 * $XDG_CONFIG_HOME/ferry/config.yaml, else every concrete Host alias of the
 * ssh config. Errors are one line each (file:line:column for config.yaml).
 */
export function resolveHostList(o: {
  configFile?: string | undefined;
  hosts?: readonly string[] | undefined;
  /** ferry's config.yaml, default under $XDG_CONFIG_HOME */
  settingsFile?: string;
}): HostList {
  const given = unique((o.hosts ?? []).flatMap((h) => h.split(',')).map((h) => h.trim()));
  if (given.length > 0) return { ok: true, hosts: given, source: 'flag' };
  const settingsFile = o.settingsFile ?? configFilePath();
  const settings = loadSettings(settingsFile);
  if (!settings.ok) return { ok: false, errors: settings.errors.map(formatFileError) };
  if (settings.settings.hosts) return { ok: true, hosts: unique(settings.settings.hosts), source: 'config' };
  const aliases = configuredHostAliases(sshOptions(o.configFile));
  if (aliases.length > 0) return { ok: true, hosts: aliases, source: 'ssh-config' };
  const sshConfig = o.configFile ?? '~/.ssh/config';
  return {
    ok: false,
    errors: [
      `no hosts to look at: give --hosts a,b, list them under hosts: in ${settingsFile}, or name them in Host lines of ${sshConfig}`,
    ],
  };
}

/** One runtime on a host. */
export interface RuntimeJson {
  /** missing: not installed; error: installed but not answering */
  status: RuntimeFacts['status'];
  version: string | null;
  /** null when the runtime could not be listed */
  containers: number | null;
}

/** One host of `ferry hosts --json`. */
export interface HostJson {
  /** as listed: an ssh alias or [user@]host[:port] */
  name: string;
  /** HostName:port from the ssh config; null when the config could not be resolved */
  address: string | null;
  user: string | null;
  /** jump hosts in the order they are connected, as user@hostname:port */
  jumpChain: string[];
  /** the same hops as written in ProxyJump or -J (what the VIA column shows) */
  via: string[];
  reachable: boolean;
  /** why it was not reached (or its config not resolved); null when reachable */
  error: string | null;
  /** null when not reachable */
  podman: RuntimeJson | null;
  docker: RuntimeJson | null;
  criu: { status: CriuStatus; version: string | null } | null;
  /** containers in any state, in the runtimes that could be listed; null when not reachable */
  containers: number | null;
  /** other problems the probe found (sudo, a runtime not answering, CRIU), one line each */
  problems: string[];
}

/** `ferry hosts --json`: the hosts in the order they were listed. */
export interface HostsJson {
  hosts: HostJson[];
}

/** One container of `ferry ps --json`. */
export interface PsContainerJson {
  host: string;
  runtime: RuntimeKind;
  name: string;
  id: string;
  /** host:runtime/name, as --containers and groups.yaml take it */
  spec: string;
  image: string;
  state: ContainerState;
  /** memory in use; null when not running or unknown */
  memoryBytes: number | null;
  /** compose project (the GROUP column); null outside compose */
  project: string | null;
  service: string | null;
  pod: string | null;
}

/** A host or one runtime on it that could not be listed. */
export interface PsErrorJson {
  host: string;
  /** null: the whole host was not reached (exit code 1); else only this runtime (a warning) */
  runtime: RuntimeKind | null;
  error: string;
}

/** `ferry ps --json`: containers by host (as listed), runtime, name; then what could not be listed. */
export interface PsJson {
  containers: PsContainerJson[];
  errors: PsErrorJson[];
}

type Out = NodeJS.WritableStream;

export async function hostsCommand(args: InventoryArgs, out: Out, err: Out): Promise<number> {
  const list = hostListOrReport(args, err);
  if (!list) return EXIT.badConfig;
  // the column engine loads while the hosts answer (its cell widths cost ~15 ms to load)
  const text = args.json ? undefined : import('../text/table.ts');
  const inventories = await probeAll(list, args, 'with');
  const hosts = inventories.map((h) => hostJson(h, args));
  if (text) out.write(hostsTable(hosts, widthOf(out), (await text).formatTable));
  else out.write(`${JSON.stringify({ hosts } satisfies HostsJson, null, 2)}\n`);
  return hosts.every((h) => h.reachable) ? EXIT.ok : EXIT.hostFailed;
}

export async function psCommand(args: InventoryArgs, out: Out, err: Out): Promise<number> {
  const list = hostListOrReport(args, err);
  if (!list) return EXIT.badConfig;
  const text = args.json ? undefined : import('../text/table.ts');
  const inventories = await probeAll(list, args, 'never');
  const ps = psJson(inventories);
  for (const e of ps.errors) {
    err.write(
      e.runtime ? `ferry: warning: ${e.host}: ${e.runtime}: ${e.error}\n` : `ferry: ${e.host}: ${e.error}\n`,
    );
  }
  if (text) out.write(psTable(ps.containers, widthOf(out), (await text).formatTable));
  else out.write(`${JSON.stringify(ps, null, 2)}\n`);
  return ps.errors.some((e) => e.runtime === null) ? EXIT.hostFailed : EXIT.ok;
}

function hostListOrReport(args: InventoryArgs, err: Out): string[] | undefined {
  const r = resolveHostList(args);
  if (r.ok) return r.hosts;
  for (const e of r.errors) err.write(`ferry: ${e}\n`);
  return undefined;
}

function sshOptions(configFile: string | undefined): SshConfigOptions {
  return configFile ? { configFile } : {};
}

/** The runtimes' list commands, one round trip per host; the facts in the same one when `facts` is 'with'. */
async function probeAll(
  hosts: string[],
  args: InventoryArgs,
  facts: 'with' | 'never',
): Promise<HostInventory[]> {
  const pool = createSshPool({
    ...(args.configFile ? { configFile: args.configFile } : {}),
    ...(args.jump ? { jump: args.jump } : {}),
  });
  // every host at once: one slow host must not hold the others back
  const inv = new Inventory(
    hosts.map((name) => ({ name, exec: poolExec(pool, name) })),
    { concurrency: Math.max(1, hosts.length), mode: 'list', facts },
  );
  try {
    return await inv.refresh();
  } finally {
    await pool.close();
  }
}

/** A problem as one line, without the host name the caller prints anyway. */
function oneLine(message: string, host: string): string {
  const m = message.replace(/\s+/g, ' ').trim();
  return m.startsWith(`${host}: `) ? m.slice(host.length + 2) : m;
}

/** Why a host was not reached: the transport's own words when there are some. */
function unreachedWhy(h: HostInventory): string {
  const p = h.problems.find((x) => x.severity === 'error');
  if (!p) return 'not reached';
  return oneLine(p.code === 'unreachable' && p.stderr ? p.stderr : p.message, h.host);
}

function configErrorText(e: unknown): string {
  if (e instanceof SshConfigError) return e.problems.map(formatProblem).join('; ');
  return errorText(e);
}

function hostJson(h: HostInventory, args: InventoryArgs): HostJson {
  const options: SshConfigOptions = {
    ...sshOptions(args.configFile),
    ...(args.jump ? { proxyJump: args.jump } : {}),
  };
  let address: string | null = null;
  let user: string | null = null;
  let jumpChain: string[] = [];
  let via: string[] = [];
  let configError: string | null = null;
  try {
    const c = resolveSshConfig(h.host, options);
    address = `${c.hostName}:${c.port}`;
    user = c.user;
    const chain = resolveJumpChain(h.host, options);
    jumpChain = chain.map((hop) => `${hop.config.user}@${hop.config.hostName}:${hop.config.port}`);
    via = chain.map((hop) => hop.spec.spec);
  } catch (e) {
    configError = configErrorText(e);
  }
  const reachable = !h.stale && h.facts !== null;
  const runtime = (kind: RuntimeKind): RuntimeJson | null => {
    const r = h.runtimes.find((x) => x.kind === kind);
    if (!r) return null;
    return {
      status: r.facts.status,
      version: r.facts.version,
      containers: r.stale ? null : r.containers.length,
    };
  };
  const criu = h.facts?.criu;
  return {
    name: h.host,
    address,
    user,
    jumpChain,
    via,
    reachable,
    error: reachable ? null : (configError ?? unreachedWhy(h)),
    podman: reachable ? runtime('podman') : null,
    docker: reachable ? runtime('docker') : null,
    criu: reachable && criu ? { status: criu.status, version: criu.version } : null,
    containers: reachable ? h.runtimes.reduce((n, r) => n + (r.stale ? 0 : r.containers.length), 0) : null,
    problems: reachable ? h.problems.map((p) => oneLine(p.message, h.host)) : [],
  };
}

function psJson(hosts: readonly HostInventory[]): PsJson {
  const containers: PsContainerJson[] = [];
  const errors: PsErrorJson[] = [];
  for (const h of hosts) {
    if (h.stale || h.facts === null) {
      errors.push({ host: h.host, runtime: null, error: unreachedWhy(h) });
      continue;
    }
    for (const r of h.runtimes) {
      if (r.stale) {
        const p =
          h.problems.find((x) => x.runtime === r.kind) ?? h.problems.find((x) => x.message.includes(r.kind));
        const why = p ? oneLine(p.message, h.host) : `${r.kind} did not answer`;
        errors.push({ host: h.host, runtime: r.kind, error: why });
      }
      const sorted = [...r.containers].sort((a, b) => a.name.localeCompare(b.name));
      for (const c of sorted) {
        containers.push({
          host: c.host,
          runtime: c.runtime,
          name: c.name,
          id: c.id,
          spec: `${c.host}:${c.runtime}/${c.name}`,
          image: c.image.name,
          state: c.state,
          memoryBytes: c.memoryBytes,
          project: c.compose?.project ?? null,
          service: c.compose?.service ?? null,
          pod: c.pod?.name ?? null,
        });
      }
    }
  }
  return { containers, errors };
}

/** The terminal's width, 80 when it is not a terminal (pipes, scripts). */
function widthOf(out: Out): number {
  const columns = (out as { columns?: number }).columns;
  return typeof columns === 'number' && columns >= 40 ? columns : 80;
}

const dash = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '-' : String(v);

function runtimeCell(r: RuntimeJson | null): string {
  if (!r || r.status === 'missing') return '-';
  return r.status === 'ok' ? dash(r.version) : 'error';
}

/** the column engine, passed in: the headless start does not load it (see hostsCommand) */
type FormatTable = typeof formatTable;

function hostsTable(hosts: readonly HostJson[], width: number, table: FormatTable): string {
  const rows = hosts.map((h) => {
    const head = [h.name, dash(h.address), dash(h.via.join(','))];
    if (!h.reachable) return [...head, 'no', h.error ?? ''];
    const criu = h.criu ? `${h.criu.status}${h.criu.version ? ` ${h.criu.version}` : ''}` : '-';
    return [...head, 'yes', runtimeCell(h.podman), runtimeCell(h.docker), criu, dash(h.containers)];
  });
  return lines(
    table(
      [
        { title: 'HOST', flex: true },
        { title: 'ADDRESS', flex: true },
        { title: 'VIA', flex: true },
        { title: 'UP' },
        { title: 'PODMAN' },
        { title: 'DOCKER' },
        { title: 'CRIU' },
        { title: 'CTRS', align: 'right' },
      ],
      rows,
      width,
    ),
  );
}

function psTable(containers: readonly PsContainerJson[], width: number, table: FormatTable): string {
  return lines(
    table(
      [
        { title: 'HOST', flex: true },
        { title: 'RUNTIME' },
        { title: 'NAME', flex: true },
        { title: 'IMAGE', flex: true },
        { title: 'STATE' },
        { title: 'MEM', align: 'right' },
        { title: 'GROUP', flex: true },
      ],
      containers.map((c) => [
        c.host,
        c.runtime,
        c.name,
        c.image,
        c.state,
        c.memoryBytes === null ? '-' : formatBytes(c.memoryBytes),
        dash(c.project),
      ]),
      width,
    ),
  );
}

const lines = (ls: readonly string[]) => `${ls.join('\n')}\n`;

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs.filter(Boolean))];
}
