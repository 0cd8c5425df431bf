// Workflow group suggestions: containers that belong together because one
// compose project made them, they share a pod, or they talk over a
// user-defined network. A group lives on one host and one runtime.
import { COMPOSE_PROJECT } from '../inventory/compose.ts';
import type { Container, ContainerKey, HostInventory, RuntimeKind } from '../inventory/model.ts';
import { containerKey } from '../inventory/model.ts';

export type GroupReason =
  | { kind: 'compose'; project: string }
  | { kind: 'pod'; pod: string }
  | { kind: 'network'; network: string };

export interface GroupSuggestion {
  /** stable: the first reason's kind and name, with host and runtime */
  id: string;
  label: string;
  host: string;
  runtime: RuntimeKind;
  reasons: GroupReason[];
  /** sorted by key */
  members: ContainerKey[];
}

export interface SuggestOptions {
  /** networks that do not make a group (default: only user-defined networks do) */
  isUserNetwork?: (host: string, runtime: RuntimeKind, network: string) => boolean;
}

// networks the runtimes create by themselves
const BUILTIN_NETWORKS = new Set(['bridge', 'host', 'none', 'podman', 'default']);

/** Suggestions for every host and runtime of an inventory. */
export function suggestGroupsFromInventory(hosts: readonly HostInventory[]): GroupSuggestion[] {
  const userNets = new Map<string, boolean>();
  const containers: Container[] = [];
  for (const h of hosts)
    for (const r of h.runtimes) {
      containers.push(...r.containers);
      for (const n of r.networks) userNets.set(`${h.host}/${r.kind}/${n.name}`, n.userDefined);
    }
  return suggestGroups(containers, {
    isUserNetwork: (host, runtime, network) =>
      userNets.get(`${host}/${runtime}/${network}`) ?? !BUILTIN_NETWORKS.has(network),
  });
}

export function suggestGroups(
  containers: readonly Container[],
  opts: SuggestOptions = {},
): GroupSuggestion[] {
  const isUserNetwork = opts.isUserNetwork ?? ((_h, _r, n) => !BUILTIN_NETWORKS.has(n));
  const buckets = new Map<
    string,
    { host: string; runtime: RuntimeKind; reason: GroupReason; members: Set<ContainerKey> }
  >();
  const add = (c: Container, reason: GroupReason, name: string) => {
    const id = `${reason.kind}:${c.host}/${c.runtime}/${name}`;
    const b = buckets.get(id) ?? {
      host: c.host,
      runtime: c.runtime,
      reason,
      members: new Set<ContainerKey>(),
    };
    b.members.add(containerKey(c));
    buckets.set(id, b);
  };
  for (const c of containers) {
    // `docker compose run` one-offs are not part of the project's workflow
    const oneoff = c.labels['com.docker.compose.oneoff']?.toLowerCase() === 'true';
    if (c.compose && !oneoff) add(c, { kind: 'compose', project: c.compose.project }, c.compose.project);
    else if (!c.compose && c.labels[COMPOSE_PROJECT])
      add(c, { kind: 'compose', project: c.labels[COMPOSE_PROJECT] }, c.labels[COMPOSE_PROJECT]);
    if (c.pod) add(c, { kind: 'pod', pod: c.pod.name || c.pod.id }, c.pod.id);
    for (const n of c.networks)
      if (isUserNetwork(c.host, c.runtime, n.name)) add(c, { kind: 'network', network: n.name }, n.name);
  }
  // a network or pod shared by a single container groups nothing; compose projects of one still do
  const byMembers = new Map<string, GroupSuggestion>();
  const order = { compose: 0, pod: 1, network: 2 } as const;
  const sorted = [...buckets.entries()].sort(
    ([a, x], [b, y]) => order[x.reason.kind] - order[y.reason.kind] || a.localeCompare(b),
  );
  for (const [id, b] of sorted) {
    if (b.reason.kind !== 'compose' && b.members.size < 2) continue;
    const members = [...b.members].sort();
    const sig = `${b.host}/${b.runtime}|${members.join('|')}`;
    const same = byMembers.get(sig);
    if (same) {
      same.reasons.push(b.reason);
      continue;
    }
    byMembers.set(sig, {
      id,
      label: `${describe(b.reason)} on ${b.host} (${b.runtime})`,
      host: b.host,
      runtime: b.runtime,
      reasons: [b.reason],
      members,
    });
  }
  return [...byMembers.values()];
}

function describe(r: GroupReason): string {
  switch (r.kind) {
    case 'compose':
      return `compose project ${r.project}`;
    case 'pod':
      return `pod ${r.pod}`;
    case 'network':
      return `network ${r.network}`;
  }
}
