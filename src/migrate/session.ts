// HostSession over ferry's SSH pool: what the drivers use to reach a host.
// Privilege follows the probes' rule (src/runtime/script.ts, sudo mode auto):
// a root login runs commands as they are; any other login puts `sudo -n`
// before them when sudo -n works there, and runs them as itself otherwise
// (rootless podman, the docker group). Learnt once per host, on first use.
import type { ExecOptions, ExecResult, RemoteProcess } from '../ssh/index.ts';
import type { HostSession } from './types.ts';

/** What a session needs of the pool: ferry's SshPool fits. */
export interface SessionPool {
  exec(host: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(
    host: string,
    argv: string[],
    opts?: { signal?: AbortSignal; killPrefix?: string[] },
  ): Promise<RemoteProcess>;
}

/** `id -u`, then whether `sudo -n` works for a non-root login: one round trip. */
const PRIVILEGE_PROBE = [
  'sh',
  '-c',
  'u=$(id -u); echo "uid=$u"; [ "$u" = 0 ] || { sudo -n true </dev/null >/dev/null 2>&1 && echo sudo=ok || echo sudo=no; }',
];

/** The argv prefix that runs a command with the privilege the probes use on that login. */
export function privilegePrefix(probeOutput: string): string[] {
  const uid = /^uid=(\d+)$/m.exec(probeOutput)?.[1];
  if (uid === '0') return [];
  return /^sudo=ok$/m.test(probeOutput) ? ['sudo', '-n', '--'] : [];
}

export function sshSession(pool: SessionPool, host: string): HostSession {
  let prefix: Promise<string[]> | undefined;
  const privileged = () => {
    prefix ??= pool.exec(host, PRIVILEGE_PROBE, { idempotent: true }).then(
      (r) => privilegePrefix(r.stdout),
      (err: unknown) => {
        prefix = undefined; // a lost connection: ask again next time
        throw err;
      },
    );
    return prefix;
  };
  return {
    host,
    // a cancelled command is killed through sudo too: the login cannot signal root's processes
    exec: async (argv, opts) => {
      const p = await privileged();
      return pool.exec(host, [...p, ...argv], p.length > 0 ? { ...opts, killPrefix: p } : opts);
    },
    spawn: async (argv, opts) => {
      const p = await privileged();
      return pool.spawn(host, [...p, ...argv], p.length > 0 ? { ...opts, killPrefix: p } : opts);
    },
  };
}

/** One HostSession per host, shared by every container that uses it. */
export function sessionsFor(pool: SessionPool): (host: string) => HostSession {
  const cache = new Map<string, HostSession>();
  return (host) => {
    let s = cache.get(host);
    if (!s) {
      s = sshSession(pool, host);
      cache.set(host, s);
    }
    return s;
  };
}
