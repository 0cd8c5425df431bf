// The dependency DAG of a group: who must run before whom. Edges come from
// compose depends_on labels, pod infra containers (and other runtime-level
// dependencies such as --network container:X), and edges the user adds.
// An edge `from -> to` means `from` depends on `to`: `to` is restored first.
import { z } from 'zod';
import type { Container, ContainerKey } from '../inventory/model.ts';
import { containerKey } from '../inventory/model.ts';

export type EdgeKind = 'depends_on' | 'pod-infra' | 'runtime' | 'user';

export interface DependencyEdge {
  from: ContainerKey;
  to: ContainerKey;
  kind: EdgeKind;
  /** e.g. the compose condition, or the user's note */
  detail: string;
}

export const userEdgeSchema = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  note: z.string().optional(),
});
export type UserEdge = z.infer<typeof userEdgeSchema>;

export const workflowGroupSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  members: z.array(z.string().min(1)),
  userEdges: z.array(userEdgeSchema).default([]),
});
/** A group as the user keeps it: members by key, plus the edges they added by hand. */
export type WorkflowGroup = z.infer<typeof workflowGroupSchema>;

export interface Dag {
  nodes: ContainerKey[];
  edges: DependencyEdge[];
  /** dependencies first: restore in this order */
  order: ContainerKey[];
  /** nodes whose dependencies are all in earlier levels: each level can go in parallel */
  levels: ContainerKey[][];
  /** dependencies that point outside the group, unknown services, and the like */
  warnings: string[];
}

export interface CycleProblem {
  /** the nodes of one cycle, first repeated at the end: a -> b -> a */
  cycle: ContainerKey[];
  edges: DependencyEdge[];
  message: string;
}

export type DagResult = { ok: true; dag: Dag } | { ok: false; error: CycleProblem };

export class DependencyCycleError extends Error {
  readonly problem: CycleProblem;
  constructor(problem: CycleProblem) {
    super(problem.message);
    this.problem = problem;
    this.name = 'DependencyCycleError';
  }
}

/** The edges the containers themselves declare, among `members`. */
export function derivedEdges(members: readonly Container[]): { edges: DependencyEdge[]; warnings: string[] } {
  const edges: DependencyEdge[] = [];
  const warnings: string[] = [];
  const byId = new Map(members.map((c) => [c.id, c]));
  const byService = new Map<string, Container[]>();
  for (const c of members) {
    if (!c.compose) continue;
    const k = `${c.host}/${c.runtime}/${c.compose.project}/${c.compose.service}`;
    byService.set(k, [...(byService.get(k) ?? []), c]);
  }
  for (const c of members) {
    const from = containerKey(c);
    if (c.compose) {
      for (const d of c.compose.dependsOn) {
        const targets = byService.get(`${c.host}/${c.runtime}/${c.compose.project}/${d.service}`) ?? [];
        if (targets.length === 0)
          warnings.push(
            `${c.name} depends on service '${d.service}' of project ${c.compose.project}, which is not in the group`,
          );
        for (const t of targets)
          edges.push({ from, to: containerKey(t), kind: 'depends_on', detail: d.condition });
      }
    }
    for (const id of c.dependencies) {
      const t = byId.get(id) ?? [...byId.values()].find((x) => x.id.startsWith(id));
      if (!t) {
        warnings.push(`${c.name} needs container ${id.slice(0, 12)}, which is not in the group`);
        continue;
      }
      if (t === c) continue;
      const infra = c.pod !== null && t.pod?.infra === true && t.pod.id === c.pod.id;
      edges.push({
        from,
        to: containerKey(t),
        kind: infra ? 'pod-infra' : 'runtime',
        detail: infra ? `pod ${c.pod?.name}` : '',
      });
    }
    // a pod member always needs its pod's infra container, declared or not
    if (c.pod && !c.pod.infra) {
      const infra = members.find((m) => m.pod?.infra && m.pod.id === c.pod?.id && m.host === c.host);
      if (infra && !edges.some((e) => e.from === from && e.to === containerKey(infra)))
        edges.push({ from, to: containerKey(infra), kind: 'pod-infra', detail: `pod ${c.pod.name}` });
    }
  }
  return { edges: dedupe(edges), warnings };
}

function dedupe(edges: DependencyEdge[]): DependencyEdge[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const k = `${e.from}\n${e.to}\n${e.kind}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The DAG of `members` plus user edges; a cycle is rejected with the cycle named. */
export function buildDag(members: readonly Container[], userEdges: readonly UserEdge[] = []): DagResult {
  const nodes = members.map(containerKey).sort();
  const nodeSet = new Set(nodes);
  const { edges, warnings } = derivedEdges(members);
  for (const u of userEdges) {
    if (!nodeSet.has(u.from) || !nodeSet.has(u.to)) {
      warnings.push(`user edge ${u.from} -> ${u.to} names a container that is not in the group; ignored`);
      continue;
    }
    edges.push({ from: u.from, to: u.to, kind: 'user', detail: u.note ?? '' });
  }
  return dagOf(nodes, dedupe(edges), warnings);
}

export function dagOf(
  nodes: readonly ContainerKey[],
  edges: readonly DependencyEdge[],
  warnings: string[] = [],
): DagResult {
  const cycle = findCycle(nodes, edges);
  if (cycle) return { ok: false, error: cycle };
  // Kahn, smallest key first, so the order is deterministic
  const deps = new Map(nodes.map((n) => [n, new Set<ContainerKey>()]));
  for (const e of edges) if (e.from !== e.to) deps.get(e.from)?.add(e.to);
  const done = new Set<ContainerKey>();
  const levels: ContainerKey[][] = [];
  while (done.size < nodes.length) {
    const level = nodes.filter((n) => !done.has(n) && [...(deps.get(n) ?? [])].every((d) => done.has(d)));
    if (level.length === 0) break; // unreachable: no cycle
    for (const n of level) done.add(n);
    levels.push(level);
  }
  return { ok: true, dag: { nodes: [...nodes], edges: [...edges], order: levels.flat(), levels, warnings } };
}

/** One cycle among the edges, or null. Self-loops count. */
export function findCycle(
  nodes: readonly ContainerKey[],
  edges: readonly DependencyEdge[],
): CycleProblem | null {
  const out = new Map<ContainerKey, DependencyEdge[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const color = new Map<ContainerKey, 0 | 1 | 2>();
  const stack: DependencyEdge[] = [];
  const path: ContainerKey[] = [];
  const visit = (n: ContainerKey): CycleProblem | null => {
    color.set(n, 1);
    path.push(n);
    for (const e of (out.get(n) ?? []).slice().sort((a, b) => a.to.localeCompare(b.to))) {
      const c = color.get(e.to) ?? 0;
      stack.push(e);
      if (c === 1) {
        const start = path.indexOf(e.to);
        const cycleNodes = [...path.slice(start), e.to];
        const cycleEdges = stack.slice(stack.length - (cycleNodes.length - 1));
        return { cycle: cycleNodes, edges: cycleEdges, message: cycleMessage(cycleEdges) };
      }
      if (c === 0) {
        const found = visit(e.to);
        if (found) return found;
      }
      stack.pop();
    }
    path.pop();
    color.set(n, 2);
    return null;
  };
  const all = [...new Set([...nodes, ...edges.map((e) => e.from)])].sort();
  for (const n of all) {
    if ((color.get(n) ?? 0) === 0) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return null;
}

function cycleMessage(edges: readonly DependencyEdge[]): string {
  const first = edges[0];
  if (!first) return 'dependency cycle';
  const names = [shortName(first.from), ...edges.map((e) => shortName(e.to))];
  const why = edges.map((e) => `${shortName(e.from)} -> ${shortName(e.to)} (${e.kind})`).join(', ');
  return `dependency cycle: ${names.join(' -> ')}; edges: ${why}. Remove one of these edges.`;
}

/** host/runtime/name -> name, for messages */
function shortName(key: ContainerKey): string {
  return key.split('/').slice(2).join('/') || key;
}

/** Adds a user edge to a group, refusing unknown members and edges that close a cycle. */
export function addUserEdge(
  group: WorkflowGroup,
  edge: UserEdge,
  containers: readonly Container[],
): { ok: true; group: WorkflowGroup } | { ok: false; message: string; cycle?: CycleProblem } {
  const members = new Set(group.members);
  for (const k of [edge.from, edge.to])
    if (!members.has(k)) return { ok: false, message: `${k} is not a member of group ${group.name}` };
  if (edge.from === edge.to) return { ok: false, message: `${edge.from} cannot depend on itself` };
  if (group.userEdges.some((e) => e.from === edge.from && e.to === edge.to)) return { ok: true, group };
  const next = { ...group, userEdges: [...group.userEdges, edge] };
  const r = groupDag(next, containers);
  if (!r.ok) return { ok: false, message: r.error.message, cycle: r.error };
  return { ok: true, group: next };
}

export function removeUserEdge(group: WorkflowGroup, edge: Pick<UserEdge, 'from' | 'to'>): WorkflowGroup {
  return { ...group, userEdges: group.userEdges.filter((e) => e.from !== edge.from || e.to !== edge.to) };
}

/** The group's DAG, with its members looked up among the inventory's containers. */
export function groupDag(group: WorkflowGroup, containers: readonly Container[]): DagResult {
  const byKey = new Map(containers.map((c) => [containerKey(c), c]));
  const members = group.members.map((k) => byKey.get(k)).filter((c): c is Container => c !== undefined);
  const r = buildDag(members, group.userEdges);
  const missing = group.members.filter((k) => !byKey.has(k));
  if (r.ok && missing.length > 0) r.dag.warnings.push(`not in the inventory: ${missing.join(', ')}`);
  return r;
}

export function groupFromSuggestion(s: {
  id: string;
  label: string;
  members: readonly ContainerKey[];
}): WorkflowGroup {
  return { id: s.id, name: s.label, members: [...s.members], userEdges: [] };
}
