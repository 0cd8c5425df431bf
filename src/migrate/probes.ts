// A restored listening end sends a window probe to each peer as its sockets
// leave TCP repair mode. Its peers (members restored after it) have no
// network namespace yet, so the probe waits in the neighbour queue for their
// address; should a peer's namespace come up before the kernel gives up
// (~3 s), the probe reaches it before its socket is back and is answered with
// a reset. Instead of waiting for the kernel to give up, those waiting
// entries are pointed at an address no port has, which drops the queued
// probe at once, and removed once the peers run (their next packet resolves
// afresh). A stale entry heals by itself within seconds should the removal
// never come.
import type { MigrationItem } from '../plan/migration.ts';
import type { HostSession } from './types.ts';

/** locally administered, never a real port's */
export const NOWHERE = '02:00:00:00:fe:ff';

export interface HeldProbes {
  /** the entries pointed nowhere, "ip dev" */
  entries: { ip: string; dev: string }[];
  release(): Promise<void>;
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const DEV = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * argv running `script` with `args` as its positional parameters ($1…) in the
 * network namespace of process `pid`: the arguments stay data, never script text.
 */
export function inNetns(pid: string, script: string, args: readonly string[]): string[] {
  return ['nsenter', '-t', pid, '-n', 'sh', '-c', script, 'sh', ...args];
}

/**
 * In the network namespace of `item`'s copy on `dst` (`ref`: its name or id
 * there): every neighbour entry still waiting for an answer drops what it
 * queued. Undefined when that cannot be done (then wait for the kernel).
 */
export async function holdProbes(
  dst: HostSession,
  item: MigrationItem,
  ref: string,
): Promise<HeldProbes | undefined> {
  const rt = item.container.runtime;
  const pid = (await dst.exec([rt, 'container', 'inspect', '--format', '{{.State.Pid}}', ref])).stdout.trim();
  if (!/^[1-9]\d*$/.test(pid)) return undefined;
  const r = await dst.exec(
    inNetns(
      pid,
      'ip -4 neigh show nud incomplete | while read -r a _ d _; do ip neigh replace "$a" dev "$d" lladdr "$1" nud stale && echo "$a $d"; done',
      [NOWHERE],
    ),
  );
  if (r.code !== 0) return undefined;
  const entries = r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([ip, dev]) => ip !== undefined && dev !== undefined && IPV4.test(ip) && DEV.test(dev))
    .map(([ip, dev]) => ({ ip: ip as string, dev: dev as string }));
  return {
    entries,
    release: async () => {
      if (entries.length === 0) return;
      // only entries still pointed nowhere: one the kernel resolved meanwhile stays
      await dst.exec(
        inNetns(
          pid,
          'm=$1; shift; while [ $# -gt 1 ]; do ip neigh show "$1" dev "$2" | grep -qi "$m" && ip neigh del "$1" dev "$2"; shift 2; done; true',
          [NOWHERE, ...entries.flatMap((e) => [e.ip, e.dev])],
        ),
      );
    },
  };
}
