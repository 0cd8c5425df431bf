// HostSession over ferry's SSH pool: what the drivers use to reach a host.
import type { SshPool } from '../ssh/index.ts';
import type { HostSession } from './types.ts';

export function sshSession(pool: SshPool, host: string): HostSession {
  return {
    host,
    exec: (argv, opts) => pool.exec(host, argv, opts),
    spawn: (argv, opts) => pool.spawn(host, argv, opts),
  };
}

/** One HostSession per host, shared by every container that uses it. */
export function sessionsFor(pool: SshPool): (host: string) => HostSession {
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
