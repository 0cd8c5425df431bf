import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDependsOn, parseDependsOn } from '../../../src/inventory/compose.ts';
import { mergeProbe } from '../../../src/inventory/inventory.ts';
import { containerKey } from '../../../src/inventory/model.ts';
import {
  addUserEdge,
  buildDag,
  dagOf,
  findCycle,
  groupDag,
  groupFromSuggestion,
  removeUserEdge,
  workflowGroupSchema,
} from '../../../src/plan/dag.ts';
import { suggestGroups, suggestGroupsFromInventory } from '../../../src/plan/groups.ts';
import { probeHost } from '../../../src/runtime/probe.ts';
import { mk, svc } from '../support/containers.ts';
import { fixtureExec } from '../support/fixtures.ts';

describe('compose depends_on', () => {
  it('parses compose v2 labels and bare names', () => {
    expect(parseDependsOn('parse:service_started:false')).toEqual([
      { service: 'parse', condition: 'service_started', restart: false },
    ]);
    expect(parseDependsOn('db:service_healthy:true,cache:service_started:false')).toEqual([
      { service: 'db', condition: 'service_healthy', restart: true },
      { service: 'cache', condition: 'service_started', restart: false },
    ]);
    expect(parseDependsOn('a, b,,')).toEqual([
      { service: 'a', condition: 'service_started', restart: false },
      { service: 'b', condition: 'service_started', restart: false },
    ]);
    expect(parseDependsOn('')).toEqual([]);
  });

  it('round-trips and never throws (fuzzed)', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ service: word, condition: word, restart: fc.boolean() }), {
          selector: (d) => d.service,
        }),
        (deps) => {
          expect(parseDependsOn(formatDependsOn(deps))).toEqual(deps);
        },
      ),
    );
    fc.assert(fc.property(fc.string(), (s) => void parseDependsOn(s)));
  });
});

describe('group suggestions', () => {
  it('the lab sample workflow (captured on alpha) is suggested as one group per runtime', async () => {
    const inv = mergeProbe(undefined, await probeHost({ name: 'alpha', exec: fixtureExec('probe-alpha') }));
    const groups = suggestGroupsFromInventory([inv]);
    const wf = groups.find((g) => g.id === 'compose:alpha/podman/wf');
    expect(wf?.members).toEqual([
      'alpha/podman/wf-enrich-1',
      'alpha/podman/wf-parse-1',
      'alpha/podman/wf-producer-1',
      'alpha/podman/wf-sink-1',
    ]);
    expect(wf?.label).toBe('compose project wf on alpha (podman)');
    expect(groups.find((g) => g.id === 'compose:alpha/docker/wfd')?.members).toHaveLength(4);
    // the workflow DAG: producer -> parse -> enrich -> sink, the sink restored first
    const containers = inv.runtimes.flatMap((r) => r.containers);
    const dag = groupDag(groupFromSuggestion(wf ?? { id: '', label: '', members: [] }), containers);
    if (!dag.ok) throw new Error(dag.error.message);
    expect(dag.dag.order.map((k) => k.split('/')[2])).toEqual([
      'wf-sink-1',
      'wf-enrich-1',
      'wf-parse-1',
      'wf-producer-1',
    ]);
    expect(dag.dag.warnings).toEqual([]);
  });

  it('pods and shared user-defined networks (captured on beta)', async () => {
    const inv = mergeProbe(undefined, await probeHost({ name: 'beta', exec: fixtureExec('probe-beta') }));
    const groups = suggestGroupsFromInventory([inv]);
    const pod = groups.find((g) => g.reasons.some((r) => r.kind === 'pod'));
    expect(pod?.members.map((k) => k.split('/')[2]).sort()).toEqual([
      expect.stringMatching(/-infra$/),
      't5-inpod',
    ]);
    // t5-static and t5-src share t5-net and also form compose project t5c: one group, two reasons
    const t5c = groups.find((g) => g.id === 'compose:beta/podman/t5c');
    expect(t5c?.reasons).toEqual([
      { kind: 'compose', project: 't5c' },
      { kind: 'network', network: 't5-net' },
    ]);
    const t5p = groups.find((g) => g.id === 'compose:beta/docker/t5p');
    expect(t5p?.reasons.map((r) => r.kind)).toEqual(['compose', 'network']);
    // the default podman network groups nothing
    expect(groups.some((g) => g.reasons.some((r) => r.kind === 'network' && r.network === 'podman'))).toBe(
      false,
    );
  });

  it('a network shared across projects makes its own group; one-offs and lone containers do not', () => {
    const net = (name: string) => [
      { name, ip: null, ipv6: null, mac: null, ipStatic: false, macStatic: false, aliases: [] },
    ];
    const cs = [
      svc('a', 'web', '', { networks: net('shared') }),
      svc('b', 'db', '', { networks: net('shared') }),
      mk('lonely', { networks: net('solo') }),
      mk('run-1', { labels: { 'com.docker.compose.project': 'a', 'com.docker.compose.oneoff': 'True' } }),
      mk('other-host', { host: 'h2', networks: net('shared') }),
    ];
    const g = suggestGroups(cs);
    expect(g.map((x) => x.id)).toEqual([
      'compose:h1/podman/a',
      'compose:h1/podman/b',
      'network:h1/podman/shared',
    ]);
    expect(g[2]?.members).toEqual(['h1/podman/a-web-1', 'h1/podman/b-db-1']);
  });
});

describe('dependency DAG', () => {
  const chain = [
    svc('p', 'a', 'b:service_started:false'),
    svc('p', 'b', 'c:service_healthy:true'),
    svc('p', 'c'),
  ];

  it('orders dependencies first, in parallel levels', () => {
    const r = buildDag([...chain, svc('p', 'd', 'c')]);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.dag.levels).toEqual([
      ['h1/podman/p-c-1'],
      ['h1/podman/p-b-1', 'h1/podman/p-d-1'],
      ['h1/podman/p-a-1'],
    ]);
    expect(r.dag.edges).toContainEqual({
      from: 'h1/podman/p-b-1',
      to: 'h1/podman/p-c-1',
      kind: 'depends_on',
      detail: 'service_healthy',
    });
  });

  it('adds pod infra edges and warns about dependencies outside the group', () => {
    const pod = { id: 'pod1', name: 'mypod', infra: false };
    const infra = mk('infra', { pod: { ...pod, infra: true } });
    const member = mk('member', { pod, dependencies: [infra.id] });
    const r = buildDag([member, infra, svc('q', 'x', 'missing')]);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.dag.edges).toContainEqual({
      from: 'h1/podman/member',
      to: 'h1/podman/infra',
      kind: 'pod-infra',
      detail: 'pod mypod',
    });
    expect(r.dag.edges.filter((e) => e.kind === 'pod-infra')).toHaveLength(1);
    expect(r.dag.order.indexOf('h1/podman/infra')).toBeLessThan(r.dag.order.indexOf('h1/podman/member'));
    expect(r.dag.warnings).toEqual([
      "q-x-1 depends on service 'missing' of project q, which is not in the group",
    ]);
  });

  it('rejects a cycle with a message naming it', () => {
    const r = buildDag(chain, [{ from: 'h1/podman/p-c-1', to: 'h1/podman/p-a-1' }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.cycle).toEqual([
      'h1/podman/p-a-1',
      'h1/podman/p-b-1',
      'h1/podman/p-c-1',
      'h1/podman/p-a-1',
    ]);
    expect(r.error.message).toBe(
      'dependency cycle: p-a-1 -> p-b-1 -> p-c-1 -> p-a-1; edges: p-a-1 -> p-b-1 (depends_on), p-b-1 -> p-c-1 (depends_on), p-c-1 -> p-a-1 (user). Remove one of these edges.',
    );
    const compose = buildDag([svc('x', 'a', 'b'), svc('x', 'b', 'a')]);
    expect(compose.ok ? '' : compose.error.message).toMatch(/^dependency cycle: x-a-1 -> x-b-1 -> x-a-1/);
  });

  it('user edges: data model and API', () => {
    const containers = chain;
    let g = groupFromSuggestion({ id: 'g1', label: 'p', members: containers.map(containerKey) });
    const d = svc('p', 'd');
    const add = addUserEdge(g, { from: 'h1/podman/p-c-1', to: 'h1/podman/p-d-1', note: 'reads its socket' }, [
      ...containers,
      d,
    ]);
    expect(add).toEqual({ ok: false, message: 'h1/podman/p-d-1 is not a member of group p' });
    g = { ...g, members: [...g.members, containerKey(d)] };
    const ok = addUserEdge(g, { from: 'h1/podman/p-c-1', to: 'h1/podman/p-d-1', note: 'reads its socket' }, [
      ...containers,
      d,
    ]);
    if (!ok.ok) throw new Error(ok.message);
    const dag = groupDag(ok.group, [...containers, d]);
    expect(dag.ok && dag.dag.order[0]).toBe('h1/podman/p-d-1');
    const cyc = addUserEdge(ok.group, { from: 'h1/podman/p-d-1', to: 'h1/podman/p-a-1' }, [...containers, d]);
    expect(cyc.ok).toBe(false);
    expect(cyc.ok ? '' : cyc.message).toMatch(/dependency cycle: .*p-d-1 -> p-a-1 \(user\)/);
    expect(addUserEdge(ok.group, { from: 'h1/podman/p-a-1', to: 'h1/podman/p-a-1' }, containers).ok).toBe(
      false,
    );
    expect(removeUserEdge(ok.group, { from: 'h1/podman/p-c-1', to: 'h1/podman/p-d-1' }).userEdges).toEqual(
      [],
    );
    // the model is what the store will save
    expect(workflowGroupSchema.parse(JSON.parse(JSON.stringify(ok.group)))).toEqual(ok.group);
    expect(() => workflowGroupSchema.parse({ id: 'x', name: 'x', members: [1] })).toThrow();
  });

  it('on random graphs: an order respecting every edge, or a real cycle', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 8 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 14 })),
          ),
        ([n, pairs]) => {
          const nodes = Array.from({ length: n }, (_, i) => `h/podman/n${i}`);
          const edges = pairs.map(([a, b]) => ({
            from: nodes[a] ?? '',
            to: nodes[b] ?? '',
            kind: 'user' as const,
            detail: '',
          }));
          const r = dagOf(nodes, edges);
          if (r.ok) {
            expect(r.dag.order.slice().sort()).toEqual(nodes.slice().sort());
            const pos = new Map(r.dag.order.map((k, i) => [k, i]));
            for (const e of edges) expect(pos.get(e.to) ?? -1).toBeLessThan(pos.get(e.from) ?? -1);
          } else {
            const c = r.error.cycle;
            expect(c[0]).toBe(c[c.length - 1]);
            for (let i = 0; i + 1 < c.length; i++)
              expect(edges.some((e) => e.from === c[i] && e.to === c[i + 1])).toBe(true);
            expect(findCycle(nodes, edges)).not.toBeNull();
          }
        },
      ),
    );
  });
});
