import { describe, expect, it } from 'vitest';
import { Inventory } from '../../../src/inventory/inventory.ts';
import type { HostInventory } from '../../../src/inventory/model.ts';
import { parseCgroupMemory, parseDockerLabels, parseDockerPorts } from '../../../src/runtime/listing.ts';
import { type HostProbe, type ProbeOptions, probeHost } from '../../../src/runtime/probe.ts';
import { fixtureExec, loadScript, replay, withSection } from '../support/fixtures.ts';

const ID = 'b5dd329205998ee30374bfb529f95475c757591e8c9070fd03e845788f0b0fd0';

describe('the fast probe: list commands and cgroup memory (alpha, captured)', () => {
  it('runs only the runtimes list commands and reads memory from the cgroups (docker: by pid)', async () => {
    let script = '';
    const exec = fixtureExec('list-alpha');
    await probeHost(
      {
        name: 'alpha',
        exec: (argv, o) => {
          script = argv[2] ?? '';
          return exec(argv, o);
        },
      },
      { inventory: 'list', facts: false },
    );
    expect(script).toContain('ps -a --format json');
    expect(script).toContain('ps -a --no-trunc --format');
    expect(script).not.toMatch(/podman' (info|stats|container inspect|images)/);
    expect(script).not.toMatch(/criu|docker' info/);
  });

  it('lists both runtimes with state, image, compose project and memory', async () => {
    const p = await probeHost(
      { name: 'alpha', exec: fixtureExec('list-alpha') },
      { inventory: 'list', facts: false },
    );
    expect(p.reached).toBe(true);
    expect(p.problems).toEqual([]);
    const [podman, docker] = p.runtimes.map((r) => r.probe);
    expect(podman?.facts.status).toBe('ok');
    expect(podman?.data?.containers).toHaveLength(7);
    expect(docker?.data?.containers).toHaveLength(7);
    const sink = podman?.data?.containers.find((c) => c.name === 'wf-sink-1');
    expect(sink).toMatchObject({
      host: 'alpha',
      runtime: 'podman',
      state: 'running',
      detail: 'list',
      image: { name: 'localhost/ferry-workload:latest' },
      compose: { project: 'wf', service: 'sink' },
    });
    // 64 MB of ballast: what the cgroup says, less inactive file pages
    expect(sink?.memoryBytes).toBeGreaterThan(60 * 1024 * 1024);
    expect(sink?.memoryBytes).toBeLessThan(80 * 1024 * 1024);
    // docker's cgroup parent can sit anywhere in the memory hierarchy: found through the pid
    const dsink = docker?.data?.containers.find((c) => c.name === 'wfd-sink-1');
    expect(dsink?.memoryBytes).toBeGreaterThan(60 * 1024 * 1024);
    const web = docker?.data?.containers.find((c) => c.name === 'fsd_web_1');
    expect(web).toMatchObject({ state: 'running', compose: { project: 'fsd', service: 'web' } });
    expect(web?.id).toMatch(/^[0-9a-f]{64}$/);
    expect(web?.ports).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8381, containerPort: 8080, protocol: 'tcp' },
      { hostIp: '::', hostPort: 8381, containerPort: 8080, protocol: 'tcp' },
    ]);
    // compose's config_files label holds a path with no comma here; the project survives the split
    expect(web?.labels['com.docker.compose.project.config_files']).toMatch(/compose\.yaml$/);
  });

  it('a runtime that is not installed is missing, not an error; a broken list is an error of that runtime only', async () => {
    const f = loadScript('list-alpha');
    const p = await probeHost(
      {
        name: 'alpha',
        exec: async (argv) =>
          replay(f, argv, (s) =>
            withSection(withSection(s, 'podman.list', '', 127), 'docker.list', 'not json', 1),
          ),
      },
      { inventory: 'list', facts: false },
    );
    const [podman, docker] = p.runtimes.map((r) => r.probe);
    expect(podman?.facts.status).toBe('missing');
    expect(docker?.facts.status).toBe('error');
    expect(docker?.data).toBeNull();
    expect(p.problems.map((x) => x.runtime)).toEqual(['docker']);
  });
});

describe('list output parsers', () => {
  it('docker labels: a value with commas stays whole', () => {
    expect(
      parseDockerLabels(
        'com.docker.compose.project=wf,com.docker.compose.depends_on=a:service_started:false,b:service_healthy:true,x=1',
      ),
    ).toEqual({
      'com.docker.compose.project': 'wf',
      'com.docker.compose.depends_on': 'a:service_started:false,b:service_healthy:true',
      x: '1',
    });
  });

  it('docker ports: published ranges and both families; unpublished ones are left out', () => {
    expect(parseDockerPorts('0.0.0.0:8000-8001->80-81/tcp, [::]:9000->9000/udp, 7000/tcp')).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      { hostIp: '::', hostPort: 9000, containerPort: 9000, protocol: 'udp' },
    ]);
  });

  it('cgroup memory: usage less inactive file pages; lines that do not fit are skipped', () => {
    const m = parseCgroupMemory(
      [
        `u ${ID} 67772416`,
        `i /sys/fs/cgroup/memory/libpod_parent/libpod-${ID}/memory.stat 4096`,
        'u notanid 5',
        `i /x/${ID}/memory.stat; rm -rf / 5`,
      ].join('\n'),
    );
    expect([...m]).toEqual([[ID, 67772416 - 4096]]);
  });
});

describe('inventory in list mode', () => {
  const f = loadScript('list-alpha');
  const full = loadScript('probe-alpha');

  function counted() {
    const calls: ProbeOptions[] = [];
    let factsFail = false;
    const probe = async (t: { name: string }, o: ProbeOptions = {}): Promise<HostProbe> => {
      calls.push(o);
      if (o.inventory === false && factsFail) throw new Error('busy');
      const fixture = o.inventory === 'list' ? f : full;
      return probeHost({ name: t.name, exec: async (argv) => replay(fixture, argv) }, o);
    };
    return { calls, probe, failFacts: (v: boolean) => (factsFail = v) };
  }

  it('lists on every refresh; probes the facts once per host, after its first list', async () => {
    const c = counted();
    const updates: HostInventory[] = [];
    const inv = new Inventory([{ name: 'alpha', exec: async () => ({ stdout: '', stderr: '', code: 0 }) }], {
      mode: 'list',
      probe: c.probe,
      onUpdate: (h) => updates.push(h),
    });
    const first = await inv.refresh();
    // the list is there before the facts
    expect(first[0]?.runtimes[0]?.containers.length).toBe(7);
    expect(first[0]?.facts?.criu.status).toBe('unknown');
    await inv.factsSettled('alpha');
    expect(updates.at(-1)?.facts?.criu.status).toBe('ok');
    await inv.refresh();
    await inv.refresh();
    expect(c.calls.map((o) => o.inventory)).toEqual(['list', false, 'list', 'list']);
    expect(inv.host('alpha')?.facts?.criu).toMatchObject({ status: 'ok', version: '4.2.1' });
    expect(inv.host('alpha')?.runtimes.find((r) => r.kind === 'podman')?.facts.version).toBe('4.3.1');
  });

  it('a facts probe that fails is tried again after the next list', async () => {
    const c = counted();
    c.failFacts(true);
    const inv = new Inventory([{ name: 'alpha', exec: async () => ({ stdout: '', stderr: '', code: 0 }) }], {
      mode: 'list',
      probe: c.probe,
    });
    await inv.refresh();
    await inv.factsSettled('alpha');
    expect(inv.hasFacts('alpha')).toBe(false);
    c.failFacts(false);
    await inv.refresh();
    await inv.factsSettled('alpha');
    expect(inv.hasFacts('alpha')).toBe(true);
    expect(c.calls.map((o) => o.inventory)).toEqual(['list', false, 'list', false]);
  });
});
