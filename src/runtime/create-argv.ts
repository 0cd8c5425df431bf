// The create command a container's copy is made with on the destination, as
// the migration drivers build it from the source's inspect output. The plan
// shows the same line (env values elided), built by the same functions.
import type { CopyArgv } from '../inventory/model.ts';
import { forTerminal } from '../text/sanitize.ts';
import type { DockerInspect } from './docker-inspect.ts';
import { shQuote } from './exec.ts';

/** podman/docker create flags that take no value (all others take one). */
export const BOOLEAN_FLAGS = new Set([
  'd',
  'detach',
  'i',
  'interactive',
  't',
  'tty',
  'P',
  'publish-all',
  'q',
  'quiet',
  'privileged',
  'rm',
  'init',
  'read-only',
  'read-only-tmpfs',
  'replace',
  'rootfs',
  'no-healthcheck',
  'no-hosts',
  'oom-kill-disable',
  'env-host',
  'http-proxy',
  'passwd',
  'sig-proxy',
  'tls-verify',
  'disable-content-trust',
  'rmi',
  'unsetenv-all',
  'help',
]);

/**
 * A create argv in parts: up to `create`/`run`, each flag with its value
 * word if it takes one, and the image with the container's command.
 */
function createParts(
  argv: readonly string[],
): { head: string[]; flags: string[][]; rest: string[] } | undefined {
  const at = argv.findIndex((a) => a === 'create' || a === 'run');
  if (at < 0) return undefined;
  const flags: string[][] = [];
  let i = at + 1;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--' || !a.startsWith('-') || a.length < 2) break;
    const takesValue = a.startsWith('--')
      ? !a.includes('=') && !BOOLEAN_FLAGS.has(a.slice(2))
      : a.length === 2 && !BOOLEAN_FLAGS.has(a[1] as string);
    flags.push(takesValue && i + 1 < argv.length ? [a, argv[++i] as string] : [a]);
  }
  return { head: argv.slice(0, at + 1), flags, rest: argv.slice(i) };
}

const isEnvFlag = (flag: string) =>
  flag === '-e' ||
  flag === '--env' ||
  flag === '--env-file' ||
  flag.startsWith('--env=') ||
  flag.startsWith('--env-file=') ||
  /^-e./.test(flag);

/**
 * A recorded create command with the environment the container has (inspect's
 * Config.Env) instead of the flags that gave it: `-e`, `--env` and
 * `--env-file` (a file of the source's, or a temp file of an earlier move, is
 * not on the destination, and would be read there).
 */
export function withEnv(argv: readonly string[], env: readonly string[]): string[] {
  const p = createParts(argv);
  if (!p) return [...argv];
  return [
    ...p.head,
    ...env.flatMap((e) => ['-e', e]),
    ...p.flags.filter((f) => !isEnvFlag(f[0] as string)).flat(),
    ...p.rest,
  ];
}

/** KEY=VALUE -> KEY=… */
const hideValue = (kv: string) => (kv.includes('=') ? `${kv.slice(0, kv.indexOf('=') + 1)}…` : kv);

/** A create argv with the values of its environment variables elided (`-e KEY=…`): what may be shown or kept. */
export function elideEnv(argv: readonly string[]): string[] {
  const p = createParts(argv);
  if (!p) return [...argv];
  const flags = p.flags.map(([flag = '', value]) => {
    if ((flag === '-e' || flag === '--env') && value !== undefined) return [flag, hideValue(value)];
    if (flag.startsWith('--env=')) return [`--env=${hideValue(flag.slice(6))}`];
    if (/^-e./.test(flag)) return [`-e${hideValue(flag.slice(2))}`];
    return value === undefined ? [flag] : [flag, value];
  });
  return [...p.head, ...flags.flat(), ...p.rest];
}

/** One word of a create line fit for a terminal and a JSON document: controls shown as \uXXXX. */
export const displayWord = (word: string) =>
  forTerminal(word.replace(/\0/g, '\\0').replace(/\n/g, '\\n').replace(/\t/g, '\\t'));

/** A create argv as one shell-quoted line, every word sanitised (host text on its way to a terminal). */
export function createLine(argv: readonly string[]): string {
  return argv.map((w) => displayWord(shQuote(w.replace(/\0/g, '\\0')))).join(' ');
}

/** `podman run -d ...` as recorded at creation, turned into `podman create ...` */
export function createArgvFrom(createCommand: readonly string[]): string[] | undefined {
  const argv = [...createCommand];
  if (argv.length < 3) return undefined;
  argv[0] = 'podman';
  let i = 1;
  if (argv[i] === 'container') i++;
  if (argv[i] !== 'run' && argv[i] !== 'create') return undefined;
  argv[i] = 'create';
  return argv.filter((a) => a !== '-d' && a !== '--detach' && a !== '--detach=true');
}

/** The create argv with the container's address on its only network (podman allocates one at start otherwise). */
export function withAddress(argv: readonly string[], ip: string | undefined): string[] {
  if (!ip) return [...argv];
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k] as string;
    if (a === '--ip') k++;
    else if (!a.startsWith('--ip=')) out.push(a);
  }
  const at = out.indexOf('create') + 1;
  out.splice(at, 0, '--ip', ip);
  return out;
}

type Endpoint = NonNullable<NonNullable<DockerInspect['NetworkSettings']>['Networks']>[string];

/** The endpoint's names (compose: the service) and, unless told otherwise, its addresses, as `create` and `network connect` take them. */
function endpointArgs(
  c: DockerInspect,
  net: Endpoint,
  opts: { newAddress?: boolean },
  alias: string,
): string[] {
  const a: string[] = [];
  // docker adds the short id itself
  for (const name of net.Aliases ?? []) if (!c.Id.startsWith(name)) a.push(alias, name);
  if (!opts.newAddress && net.IPAddress) a.push('--ip', net.IPAddress);
  if (!opts.newAddress && net.GlobalIPv6Address) a.push('--ip6', net.GlobalIPv6Address);
  return a;
}

/** The network `docker create` attaches the copy to (NetworkMode); null for the default bridge. */
const primaryNetwork = (c: DockerInspect): string | null => {
  const mode = c.HostConfig.NetworkMode;
  return mode && mode !== 'default' ? mode : null;
};

/**
 * `docker network connect` of the copy `id` to each other network the
 * source is on (compose attaches a service to its networks after the first),
 * with its names and addresses there.
 */
export function connectArgvs(c: DockerInspect, id: string, opts: { newAddress?: boolean } = {}): string[][] {
  const primary = primaryNetwork(c) ?? 'bridge';
  return attachedNetworks(c)
    .filter((n) => n !== primary)
    .map((n) => [
      'docker',
      'network',
      'connect',
      ...endpointArgs(c, c.NetworkSettings?.Networks?.[n] ?? {}, opts, '--alias'),
      n,
      id,
    ]);
}

/** `docker create` argv that rebuilds a container from its inspect output, on the same address unless told otherwise. */
export function createArgvFromInspect(c: DockerInspect, opts: { newAddress?: boolean } = {}): string[] {
  const name = c.Name.replace(/^\//, '');
  const a = ['docker', 'create', '--name', name];
  const h = c.HostConfig;
  const primary = primaryNetwork(c);
  if (primary) a.push('--network', primary);
  const net = c.NetworkSettings?.Networks?.[primary ?? ''];
  if (net) a.push(...endpointArgs(c, net, opts, '--network-alias'));
  // docker sets it on the endpoint of the network the container is created on
  if (c.Config.MacAddress) a.push('--mac-address', c.Config.MacAddress);
  const restart = dockerRestartValue(h.RestartPolicy);
  if (restart) a.push('--restart', restart);
  for (const e of c.Config.Env ?? []) a.push('-e', e);
  for (const [k, v] of Object.entries(c.Config.Labels ?? {})) a.push('--label', `${k}=${v}`);
  for (const b of h.Binds ?? []) a.push('-v', b);
  for (const m of c.Mounts ?? []) {
    if (
      m.Type === 'volume' &&
      m.Name &&
      m.Destination &&
      !(h.Binds ?? []).some((b) => b.startsWith(`${m.Name}:`))
    ) {
      a.push('-v', `${m.Name}:${m.Destination}`);
    }
  }
  for (const [port, binds] of Object.entries(h.PortBindings ?? {})) {
    for (const b of binds ?? []) a.push('-p', `${b.HostIp ? `${b.HostIp}:` : ''}${b.HostPort ?? ''}:${port}`);
  }
  if (c.Config.User) a.push('--user', c.Config.User);
  if (c.Config.WorkingDir) a.push('--workdir', c.Config.WorkingDir);
  if (c.Config.Tty) a.push('-t');
  if (c.Config.OpenStdin) a.push('-i');
  if (h.Privileged) a.push('--privileged');
  for (const cap of h.CapAdd ?? []) a.push('--cap-add', cap);
  for (const cap of h.CapDrop ?? []) a.push('--cap-drop', cap);
  if (h.ShmSize) a.push('--shm-size', String(h.ShmSize));
  // --entrypoint takes one word: the rest of it goes before the command
  const entry = c.Config.Entrypoint ?? [];
  if (entry.length > 0) a.push('--entrypoint', entry[0] as string);
  a.push(c.Config.Image, ...entry.slice(1), ...(c.Config.Cmd ?? []));
  return a;
}

/** The networks a container is attached to, from its inspect (none for host, none or container: modes). */
export function attachedNetworks(inspect: {
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
}): string[] {
  const mode = inspect.HostConfig?.NetworkMode ?? '';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:') || mode.startsWith('ns:'))
    return [];
  return Object.keys(inspect.NetworkSettings?.Networks ?? {});
}

/** What a podman container's copy is created from: its inspect as the source reports it. */
export interface PodmanCreateSource {
  Config?: { CreateCommand?: string[] | null; Env?: string[] | null };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}

/**
 * The `podman create` argv of the destination's copy: the recorded command
 * with the environment the container has, and the source's address on its
 * only network unless it takes a new one. Undefined: none was recorded.
 */
export function podmanCopyArgv(c: PodmanCreateSource, newAddress: boolean): string[] | undefined {
  const recorded = c.Config?.CreateCommand ? createArgvFrom(c.Config.CreateCommand) : undefined;
  if (!recorded) return undefined;
  // the environment the container has, not the flags that gave it (an --env-file is not on the destination)
  const argv = withEnv(recorded, c.Config?.Env ?? []);
  const nets = attachedNetworks(c);
  const ip =
    nets.length === 1 && !newAddress
      ? c.NetworkSettings?.Networks?.[nets[0] as string]?.IPAddress
      : undefined;
  return withAddress(argv, ip);
}

/**
 * Both create lines of a copy (its address kept, and a new one), env values
 * elided, from the builder the driver uses; null when it builds none, or
 * when the inspect is not what it expects (it comes from a host).
 */
export function copyArgvOf(build: (newAddress: boolean) => string[] | undefined): CopyArgv | null {
  try {
    const same = build(false);
    const fresh = build(true);
    return same && fresh ? { sameAddress: elideEnv(same), newAddress: elideEnv(fresh) } : null;
  } catch {
    return null;
  }
}

/** docker's --restart value for a container's restart policy; none for 'no' or a name docker has not */
export function dockerRestartValue(rp?: { Name?: string; MaximumRetryCount?: number }): string | undefined {
  switch (rp?.Name) {
    case 'always':
    case 'unless-stopped':
      return rp.Name;
    case 'on-failure': {
      const n = rp.MaximumRetryCount;
      return n !== undefined && Number.isInteger(n) && n > 0 ? `on-failure:${n}` : 'on-failure';
    }
    default:
      return undefined;
  }
}
