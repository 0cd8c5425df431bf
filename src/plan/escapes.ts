// Settings that let a container reach beyond itself on the host it runs on.
// The destination's copy is configured from what the source says, and any
// host may be compromised: such settings are refused unless the operator
// allows each by name (`--allow privileged,bind:/srv/data,...`). The plan
// lists them as findings; the drivers check the very argv and OCI spec they
// use, so a source that changes its story after the plan is refused too.
import { capName } from '../config/allow.ts';
import type { Container } from '../inventory/model.ts';
import { BOOLEAN_FLAGS } from '../runtime/create-argv.ts';

export { ALLOW_NAMES, parseAllow } from '../config/allow.ts';

/** One escaping setting, under the name that `--allow` takes for it. */
export interface Escape {
  allow: string;
  /** what it is, e.g. "privileged mode", "a bind mount of /etc" */
  what: string;
}

export function isAllowed(e: Escape, allow: readonly string[]): boolean {
  if (allow.includes(e.allow)) return true;
  if (e.allow.startsWith('cap:')) return allow.includes('caps');
  if (e.allow.startsWith('bind:')) return allow.includes('binds');
  return false;
}

/** Host directories whose bind mount hands the container the host: system files, devices, runtimes' state, sockets. */
const SYSTEM_DIRS = [
  '/etc',
  '/root',
  '/home',
  '/boot',
  '/dev',
  '/proc',
  '/sys',
  '/run',
  '/var/run',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/var/lib/containers',
  '/var/lib/docker',
  '/var/lib/kubelet',
  '/var/log',
  '/var/spool',
];

/** `/`, a system directory, anything under one, or a parent of one (`/var` holds /var/lib/docker). */
export function isSystemPath(path: string): boolean {
  const p = normalize(path);
  if (p === '/') return true;
  return SYSTEM_DIRS.some((d) => p === d || p.startsWith(`${d}/`) || d.startsWith(`${p}/`));
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

// ------------------------------------------------------- create command lines

/** Options that make the runtime read or write a path on the destination host, or run a program of it, chosen by the source. */
// (not --env-file: ferry never passes the source's, it gives the copy the environment inspect shows)
const HOST_FILE_OPTIONS = new Set([
  'label-file',
  'cidfile',
  'conmon-pidfile',
  'pidfile',
  'pod-id-file',
  'rootfs',
  'init-path',
  'runtime',
  'oci-runtime',
  'hooks-dir',
  'secret',
  'volumes-from',
  'decryption-key',
  'authfile',
  'chrootdirs',
  'env-host',
  'seccomp-policy',
  'cgroup-conf',
]);

const HOST_NAMESPACES: Record<string, string> = {
  pid: 'host-pid',
  ipc: 'host-ipc',
  uts: 'host-uts',
  userns: 'host-userns',
};

/** A create argv as flags (name without dashes, value or null) up to the image. */
export function createFlags(argv: readonly string[]): { flags: { name: string; value: string | null }[] } {
  const flags: { name: string; value: string | null }[] = [];
  // `podman create ...`, or `podman run ...` as podman records a container's creation
  let i = argv.findIndex((a) => a === 'create' || a === 'run');
  if (i < 0) return { flags };
  for (i++; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) flags.push({ name, value: a.slice(eq + 1) });
      else if (BOOLEAN_FLAGS.has(name)) flags.push({ name, value: null });
      else flags.push({ name, value: argv[++i] ?? '' });
    } else if (a.startsWith('-') && a.length > 1) {
      // short flags: booleans may be grouped (-it); a value flag takes the rest, or the next word
      for (let k = 1; k < a.length; k++) {
        const name = a[k] as string;
        if (BOOLEAN_FLAGS.has(name)) {
          flags.push({ name, value: null });
          continue;
        }
        const rest = a.slice(k + 1).replace(/^=/, '');
        flags.push({ name, value: rest || (argv[++i] ?? '') });
        break;
      }
    } else break; // the image: what follows is the container's command
  }
  return { flags };
}

/** Every escaping setting of a `podman create` / `docker create` argv. */
export function createEscapes(argv: readonly string[]): Escape[] {
  const out: Escape[] = [];
  const add = (allow: string, what: string) => {
    if (!out.some((e) => e.allow === allow)) out.push({ allow, what });
  };
  for (const { name, value } of createFlags(argv).flags) {
    const v = value ?? 'true';
    switch (name) {
      case 'privileged':
        if (v !== 'false') add('privileged', 'privileged mode');
        break;
      case 'cap-add':
        for (const c of v.split(',').filter(Boolean)) add(`cap:${capName(c)}`, `capability ${capName(c)}`);
        break;
      case 'device':
      case 'device-cgroup-rule':
      case 'gpus':
        add('devices', `host devices (--${name} ${v})`);
        break;
      case 'network':
      case 'net':
        if (v === 'host' || v.startsWith('ns:')) add('host-network', `the host's network (--network ${v})`);
        break;
      case 'pid':
      case 'ipc':
      case 'uts':
      case 'userns':
        if (v === 'host' || v.startsWith('ns:'))
          add(HOST_NAMESPACES[name] as string, `the host's ${name} namespace (--${name} ${v})`);
        break;
      case 'v':
      case 'volume': {
        const src = v.split(':')[0] ?? '';
        if (src.startsWith('/') && isSystemPath(src)) add(`bind:${src}`, `a bind mount of ${src}`);
        else if (src.startsWith('.') || src.startsWith('~'))
          add(`option:volume`, `a bind mount of a relative host path ${src}`);
        break;
      }
      case 'mount': {
        const kv = new Map(
          v.split(',').map((p) => {
            const eq = p.indexOf('=');
            return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
          }),
        );
        const src = kv.get('source') ?? kv.get('src') ?? '';
        const type = kv.get('type') ?? '';
        if (type === 'bind' && (!src.startsWith('/') || isSystemPath(src)))
          add(`bind:${src}`, `a bind mount of ${src}`);
        else if (type === 'devpts' || type === 'glob') add(`option:mount`, `a ${type} mount`);
        break;
      }
      case 'security-opt':
        if (
          /^(seccomp|apparmor|systempaths)[=:]unconfined$/.test(v) ||
          /^label[=:](disable|type:spc_t)$/.test(v) ||
          /^unmask[=:]/.test(v)
        )
          add('unconfined', `confinement turned off (--security-opt ${v})`);
        break;
      case 'log-opt':
        if (/^path=/.test(v)) add('option:log-opt', `a log file at a host path (--log-opt ${v})`);
        break;
      default:
        if (HOST_FILE_OPTIONS.has(name)) add(`option:${name}`, `--${name}, which reaches host files`);
    }
  }
  return out;
}

// ------------------------------------------------------------ the inventory

/** Escaping settings of a container as its source reports them (the plan's view). */
export function containerEscapes(c: Container): Escape[] {
  const out: Escape[] = [];
  const add = (e: Escape) => {
    if (!out.some((x) => x.allow === e.allow)) out.push(e);
  };
  if (c.privileged) add({ allow: 'privileged', what: 'privileged mode' });
  if (c.networkMode === 'host' || c.networkMode.startsWith('ns:'))
    add({ allow: 'host-network', what: "the host's network" });
  for (const d of c.devices) add({ allow: 'devices', what: `host device ${d.hostPath}` });
  for (const m of c.mounts)
    if (m.type === 'bind' && m.source.startsWith('/') && isSystemPath(m.source))
      add({ allow: `bind:${m.source}`, what: `a bind mount of ${m.source}` });
  for (const cap of c.capAdd ?? []) add({ allow: `cap:${capName(cap)}`, what: `capability ${capName(cap)}` });
  for (const [ns, mode] of Object.entries(c.namespaceModes ?? {}))
    if (HOST_NAMESPACES[ns] && (mode === 'host' || mode.startsWith('ns:')))
      add({ allow: HOST_NAMESPACES[ns] as string, what: `the host's ${ns} namespace` });
  for (const o of c.securityOpt ?? [])
    if (createEscapes(['x', 'create', '--security-opt', o]).length > 0)
      add({ allow: 'unconfined', what: `confinement turned off (${o})` });
  if (c.createCommand) for (const e of createEscapes(c.createCommand)) add(e);
  return out;
}

// ------------------------------------------------------------- OCI specs

export interface OciSpec {
  hooks?: Record<string, unknown[] | undefined>;
  mounts?: { destination?: string; type?: string; source?: string; options?: string[] }[];
  process?: { capabilities?: Record<string, string[] | undefined> };
  linux?: {
    namespaces?: { type: string; path?: string }[];
    devices?: { path: string }[];
    seccomp?: unknown;
    maskedPaths?: string[];
  };
}

const NS_ALLOW: Record<string, string> = {
  network: 'host-network',
  pid: 'host-pid',
  ipc: 'host-ipc',
  uts: 'host-uts',
  mount: 'privileged',
};

/** What the destination's runtime gives a copy created from a vetted command line. */
export interface SpecBaseline {
  /** the copy's own userdata dirs: its hosts, resolv.conf, shm... are bind-mounted from there */
  ownDirs: string[];
  /** the copy's named volumes on the destination */
  volumes: string[];
  /** any podman volume path (.../volumes/NAME/_data) will do: where the destination puts them is not known yet */
  volumeLike?: boolean;
  /** bind sources of the create command line (checked by createEscapes) */
  binds: string[];
  /** the runtime's default capabilities (`podman info`: host.security.capabilities) */
  caps: string[];
  /** the runtime filters syscalls by default */
  seccomp: boolean;
}

/** Bind sources of a create command line (-v /src:..., --mount type=bind,src=/...). */
export function createBinds(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const { name, value } of createFlags(argv).flags) {
    const v = value ?? '';
    if ((name === 'v' || name === 'volume') && v.startsWith('/')) out.push(v.split(':')[0] as string);
    if (name === 'mount' && /(^|,)type=bind(,|$)/.test(v)) {
      const src = /(?:^|,)(?:source|src)=([^,]*)/.exec(v)?.[1];
      if (src) out.push(src);
    }
  }
  return out;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir.replace(/\/$/, '')}/`);

/**
 * What the source's OCI spec (its config.json, paths already rewritten for
 * the destination; podman restores from it) grants beyond what the runtime
 * gives a copy created from the vetted command line: hooks, other bind
 * mounts, host namespaces, devices, capabilities, no confinement.
 */
export function specEscapes(src: OciSpec, base: SpecBaseline): Escape[] {
  const out: Escape[] = [];
  const add = (allow: string, what: string) => {
    if (!out.some((e) => e.allow === allow)) out.push({ allow, what });
  };
  if (Object.values(src.hooks ?? {}).some((v) => Array.isArray(v) && v.length > 0))
    add('hooks', 'OCI hooks that run on the host');
  for (const m of src.mounts ?? []) {
    const opts = m.options ?? [];
    const bind = m.type === 'bind' || opts.some((o) => o === 'bind' || o === 'rbind');
    const source = m.source ?? '';
    if (!bind) {
      // a fresh sysfs or cgroup mount is harmless read-only; writable, it reaches the host's
      if ((m.type === 'sysfs' || m.type === 'cgroup') && !opts.includes('ro'))
        add('privileged', `a writable ${m.type} at ${m.destination}`);
      continue;
    }
    if (base.ownDirs.some((d) => under(source, d)) || base.volumes.some((d) => under(source, d))) continue;
    if (base.binds.includes(source)) continue;
    if (
      base.volumeLike &&
      /^\/[\w./-]*\/volumes\/[A-Za-z0-9][\w.-]*\/_data$/.test(source) &&
      !source.includes('/../')
    )
      continue;
    // podman's own read-only /sys for a container on the host's network
    if (source === '/sys' && m.destination === '/sys' && opts.includes('ro')) {
      add('host-network', "the host's /sys, read-only (host network)");
      continue;
    }
    add(`bind:${source}`, `a bind mount of ${source}`);
  }
  const ns = new Map((src.linux?.namespaces ?? []).map((n) => [n.type, n]));
  for (const [type, allow] of Object.entries(NS_ALLOW)) {
    const n = ns.get(type);
    if (!n) add(allow, `the host's ${type} namespace`);
    // podman puts the copy's own network namespace there on restore
    else if (n.path && !(type === 'network' && /^\/run\/netns\/[\w.-]+$/.test(n.path)))
      add(allow, `the ${type} namespace at ${n.path}`);
  }
  for (const d of src.linux?.devices ?? []) add('devices', `host device ${d.path}`);
  const caps = new Set(base.caps.map(capName));
  for (const c of new Set(Object.values(src.process?.capabilities ?? {}).flatMap((v) => v ?? [])))
    if (!caps.has(capName(c))) add(`cap:${capName(c)}`, `capability ${capName(c)}`);
  if (base.seccomp && !src.linux?.seccomp) add('unconfined', 'no seccomp filter');
  if ((src.linux?.maskedPaths ?? []).length === 0) add('unconfined', 'unmasked /proc and /sys paths');
  return out;
}

/** A path a driver puts on a remote command line: absolute, plain characters, no `..`. */
export function isPlainPath(p: unknown): p is string {
  return (
    typeof p === 'string' &&
    /^\/[A-Za-z0-9._+@:,=/-]*$/.test(p) &&
    !p.split('/').includes('..') &&
    p.length < 4096
  );
}

/**
 * A create argv without its `-e KEY=VALUE` flags, and those variables as the
 * lines of an env file: values on a command line are visible to every user
 * of the host in /proc. Throws on a variable an env file cannot carry.
 */
export function splitEnv(argv: readonly string[]): { argv: string[]; env: string[] } {
  const out: string[] = [];
  const env: string[] = [];
  let i = argv.indexOf('create');
  if (i < 0) return { argv: [...argv], env };
  out.push(...argv.slice(0, i + 1));
  const take = (kv: string, raw: string[]) => {
    if (!kv.includes('='))
      out.push(...raw); // -e KEY: the runtime's own environment, no value here
    else {
      const key = kv.slice(0, kv.indexOf('='));
      if (!/^[^\s=*#][^\s=*]*$/.test(key) || /[\r\n\0]/.test(kv))
        throw new Error(`environment variable ${JSON.stringify(key)} cannot be passed in an env file`);
      env.push(kv);
    }
  };
  for (i++; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-e' || a === '--env') take(argv[i + 1] ?? '', [a, argv[++i] ?? '']);
    else if (a.startsWith('--env=')) take(a.slice(6), [a]);
    else if (/^-e./.test(a)) take(a.slice(2), [a]);
    else if (a.startsWith('--')) {
      out.push(a);
      const name = a.slice(2);
      if (!a.includes('=') && !BOOLEAN_FLAGS.has(name) && i + 1 < argv.length) out.push(argv[++i] as string);
    } else if (a.startsWith('-') && a.length > 1) {
      out.push(a);
      const last = a[a.length - 1] as string;
      const allBool = [...a.slice(1)].every((ch) => BOOLEAN_FLAGS.has(ch));
      // -p 80:80 takes the next word; -it does not; -p80:80 carries its value
      if (!allBool && a.length === 2 && !BOOLEAN_FLAGS.has(last) && i + 1 < argv.length)
        out.push(argv[++i] as string);
    } else {
      out.push(...argv.slice(i));
      break;
    }
  }
  return { argv: out, env };
}
