// Both adapters, fed with probe outputs captured from the lab.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Container } from '../../../src/inventory/model.ts';
import { dockerRuntime, parseDockerStats } from '../../../src/runtime/docker.ts';
import { parsePodmanStats, podmanRuntime, staticAddressing } from '../../../src/runtime/podman.ts';
import type { RuntimeProbe } from '../../../src/runtime/runtime.ts';
import { parseScriptOutput } from '../../../src/runtime/script.ts';
import { FIXTURES, loadScript, parsedFixture, withSection } from '../support/fixtures.ts';

const podman = podmanRuntime();
const docker = dockerRuntime();

function probe(fixture: string, rt = podman): RuntimeProbe {
  return rt.parseProbe(parsedFixture(fixture).sections, fixture.replace(/^probe-/, ''));
}
const byName = (p: RuntimeProbe, name: string): Container => {
  const c = p.data?.containers.find((x) => x.name === name);
  if (!c) throw new Error(`${name} not in ${p.data?.containers.map((x) => x.name).join(', ')}`);
  return c;
};

describe('podman adapter on lab output', () => {
  const alpha = probe('probe-alpha');

  it('reads facts: version, rootful, runc, checkpoint support', () => {
    expect(alpha.facts).toMatchObject({
      kind: 'podman',
      status: 'ok',
      version: '4.3.1',
      rootless: false,
      ociRuntime: { name: 'runc' },
      checkpoint: { supported: true },
      dataRoot: '/var/lib/ferry-lab/hosts/alpha/podman/root',
    });
    expect(alpha.problems).toEqual([]);
  });

  it('lists the sample workflow with compose labels, depends_on and memory', () => {
    // other tests' containers may share the host: the workflow is the labelled ones
    const names = alpha.data?.containers
      .filter((c) => c.labels['io.ferry.lab'] === 'workflow')
      .map((c) => c.name);
    expect(names?.sort()).toEqual(['wf-enrich-1', 'wf-parse-1', 'wf-producer-1', 'wf-sink-1']);
    const producer = byName(alpha, 'wf-producer-1');
    expect(producer).toMatchObject({
      host: 'alpha',
      runtime: 'podman',
      state: 'running',
      networkMode: 'host',
      restartPolicy: { name: 'no' },
      image: {
        name: 'localhost/ferry-workload:latest',
        digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      },
      compose: {
        project: 'wf',
        service: 'producer',
        dependsOn: [{ service: 'parse', condition: 'service_started', restart: false }],
      },
    });
    expect(producer.id).toMatch(/^[0-9a-f]{64}$/);
    expect(producer.image.id).toMatch(/^[0-9a-f]{64}$/);
    expect(producer.pid).toBeGreaterThan(1);
    // 64 MB ballast
    expect(producer.memoryBytes).toBeGreaterThan(60e6);
    expect(producer.labels['io.ferry.lab']).toBe('workflow');
    expect(byName(alpha, 'wf-sink-1').compose?.dependsOn).toEqual([]);
    expect(alpha.data?.images.some((i) => i.names.includes('localhost/ferry-workload:latest'))).toBe(true);
  });

  const beta = probe('probe-beta');
  it('reads a static IP and MAC, published ports, bind mounts, named volumes and restart policy', () => {
    const c = byName(beta, 't5-static');
    expect(c.networkMode).toBe('bridge');
    expect(c.networks).toEqual([
      expect.objectContaining({
        name: 't5-net',
        ip: '10.89.50.10',
        mac: '02:42:0a:59:32:0a',
        ipStatic: true,
        macStatic: true,
      }),
    ]);
    expect(c.ports).toEqual([{ containerPort: 7600, protocol: 'tcp', hostIp: '', hostPort: 7600 }]);
    expect(c.mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'bind', source: '/tmp/t5-bind', destination: '/data', name: null }),
        expect.objectContaining({ type: 'volume', name: 't5-vol', destination: '/vol' }),
      ]),
    );
    expect(c.restartPolicy).toEqual({ name: 'on-failure', maxRetries: 3 });
    const src = byName(beta, 't5-src');
    expect(src.networks[0]).toMatchObject({ name: 't5-net', ipStatic: false, macStatic: false });
    expect(beta.data?.networks.find((n) => n.name === 't5-net')).toMatchObject({
      userDefined: true,
      subnets: ['10.89.50.0/24'],
    });
    expect(beta.data?.networks.find((n) => n.name === 'podman')?.userDefined).toBe(false);
    expect(beta.data?.volumes.map((v) => v.name)).toContain('t5-vol');
  });

  it("keeps the copy's create line as the driver builds it: env values elided, the address kept or not", () => {
    const c = byName(beta, 't5-static');
    const same = c.copyArgv?.sameAddress ?? [];
    expect(same.slice(0, 2)).toEqual(['podman', 'create']);
    expect(same.join(' ')).toContain('--ip 10.89.50.10');
    // a dynamic address is kept by ferry's --ip, dropped with --new-address
    const dynamic = byName(beta, 't5-src');
    const ip = dynamic.networks[0]?.ip as string;
    expect(dynamic.copyArgv?.sameAddress.join(' ')).toContain(`podman create --ip ${ip} `);
    expect(dynamic.copyArgv?.newAddress).not.toContain('--ip');
    const env = same.filter((_, i) => same[i - 1] === '-e');
    expect(env.length).toBeGreaterThan(0);
    for (const e of env) expect(e).toMatch(/^[^=]+=…$/);
    expect(same).toContain('/tmp/t5-bind:/data');
    expect(same.at(-2)).toBe('localhost/ferry-workload:latest');
  });

  it('reads pods: membership, infra, dependencies', () => {
    const member = byName(beta, 't5-inpod');
    const pod = beta.data?.pods.find((p) => p.name === 't5-pod');
    expect(pod?.infraId).toBeTruthy();
    expect(member.pod).toEqual({ id: pod?.id, name: 't5-pod', infra: false });
    const infra = beta.data?.containers.find((c) => c.id === pod?.infraId);
    expect(infra?.pod).toMatchObject({ name: 't5-pod', infra: true });
    expect(member.dependencies).toContain(pod?.infraId);
    expect(member.ports.map((p) => p.hostPort)).toEqual([7603]);
  });

  it('reads stopped containers and devices', () => {
    expect(byName(beta, 't5-exited')).toMatchObject({ state: 'created', pid: null, memoryBytes: null });
    expect(byName(beta, 't5-dev').devices).toEqual([{ hostPath: '/dev/fuse', containerPath: '/dev/fuse' }]);
  });

  it('reads the same through sudo (beta-op) as as root (beta)', () => {
    const op = probe('probe-beta-op');
    expect(op.problems).toEqual([]);
    expect(op.data?.containers.map((c) => c.name).sort()).toEqual(
      beta.data?.containers.map((c) => c.name).sort(),
    );
  });

  it('says permission denied for a user without sudo (beta-guest), naming the command', () => {
    const g = probe('probe-beta-guest');
    expect(g.data).toBeNull();
    expect(g.facts.status).toBe('error');
    expect(g.problems).toHaveLength(1);
    expect(g.problems[0]).toMatchObject({
      code: 'permission-denied',
      severity: 'error',
      command: 'podman info --format json',
    });
    expect(g.problems[0]?.message).toMatch(
      /beta-guest: `podman info --format json` failed: permission denied.*events\.log: permission denied/,
    );
  });

  it('has an empty but healthy inventory on gamma', () => {
    const g = probe('probe-gamma');
    expect(g.problems).toEqual([]);
    expect(g.data?.containers).toEqual([]);
    expect(g.data?.images).toEqual([]);
  });
});

describe('docker adapter on lab output', () => {
  const alpha = probe('probe-alpha', docker);

  it('reads facts: server version, experimental, data root', () => {
    expect(alpha.facts).toMatchObject({
      kind: 'docker',
      status: 'ok',
      version: '20.10.24+dfsg1',
      clientVersion: '28.2.2',
      experimental: true,
      dataRoot: '/var/lib/ferry-lab/hosts/alpha/docker/data',
      checkpoint: { supported: true },
    });
  });

  it('lists the docker workflow with labels and memory from the cgroups', () => {
    expect(
      alpha.data?.containers
        .filter((c) => c.compose?.project === 'wfd')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['wfd-enrich-1', 'wfd-parse-1', 'wfd-producer-1', 'wfd-sink-1']);
    const enrich = byName(alpha, 'wfd-enrich-1');
    expect(enrich.compose).toMatchObject({
      project: 'wfd',
      service: 'enrich',
      dependsOn: [{ service: 'sink' }],
    });
    expect(enrich.memoryBytes).toBeGreaterThan(60e6);
    expect(enrich.image).toMatchObject({ name: 'localhost/ferry-workload:latest', digest: null });
    expect(enrich.image.id).toMatch(/^[0-9a-f]{64}$/);
    expect(enrich.pod).toBeNull();
  });

  const beta = probe('probe-beta', docker);
  it('reads a static IP from IPAM config, ports, mounts and restart policy', () => {
    const c = byName(beta, 't5-dstatic');
    expect(c.networks).toEqual([
      expect.objectContaining({ name: 't5-dnet', ip: '10.89.60.10', ipStatic: true, macStatic: false }),
    ]);
    expect(c.networks[0]?.mac).toMatch(/^02:42:/);
    expect(c.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ containerPort: 7600, protocol: 'tcp', hostPort: 7602 }),
      ]),
    );
    expect(c.mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'bind', source: '/tmp/t5-bind' }),
        expect.objectContaining({ type: 'volume', name: 't5-dvol' }),
      ]),
    );
    expect(c.restartPolicy.name).toBe('unless-stopped');
    expect(byName(beta, 't5-db').networks[0]?.ipStatic).toBe(false);
    expect(byName(beta, 't5-dcreated')).toMatchObject({
      state: 'created',
      devices: [{ hostPath: '/dev/fuse' }],
    });
    expect(beta.data?.networks.find((n) => n.name === 't5-dnet')).toMatchObject({
      userDefined: true,
      subnets: ['10.89.60.0/24'],
    });
    expect(beta.data?.networks.find((n) => n.name === 'host')?.userDefined).toBe(false);
  });

  it("keeps the copy's create line as the driver builds it from inspect", () => {
    const c = byName(beta, 't5-dstatic');
    const line = c.copyArgv?.sameAddress.join(' ');
    expect(line).toMatch(/^docker create --name t5-dstatic --network t5-dnet --ip 10\.89\.60\.10 /);
    expect(line).toContain('-e IN_PORT=… -e PATH=…');
    expect(line).toContain('-v /tmp/t5-bind:/data -p 7602:7600/tcp');
    expect(c.copyArgv?.newAddress).not.toContain('--ip');
  });

  it('says permission denied on the socket for beta-guest', () => {
    const g = probe('probe-beta-guest', docker);
    expect(g.data).toBeNull();
    expect(g.problems.map((p) => p.code)).toEqual(['permission-denied']);
    expect(g.problems[0]?.message).toMatch(/docker\.sock.*permission denied/);
  });

  it('treats a docker client without a daemon (bastion) as a warning', () => {
    const b = probe('probe-bastion', docker);
    expect(b.facts.status).toBe('error');
    expect(b.problems.map((p) => p.severity)).toEqual(['warning']);
    expect(b.problems[0]?.message).toMatch(/Cannot connect to the Docker daemon/);
  });
});

describe('robustness of the adapters', () => {
  const f = loadScript('probe-alpha');
  const parse = (stdout: string, rt = podman) =>
    rt.parseProbe(parseScriptOutput(stdout, f.nonce, f.sections).sections, 'alpha');

  it('malformed inspect JSON: an error naming the command and showing the output', () => {
    const p = parse(withSection(f.stdout, 'podman.containers', '[{"Id": "abc", '));
    expect(p.data).toBeNull();
    expect(p.problems[0]).toMatchObject({ code: 'malformed-output', severity: 'error' });
    expect(p.problems[0]?.message).toMatch(
      /^alpha: `podman ps -aq --no-trunc; podman container inspect <ids>` printed output that could not be parsed .*JSON/,
    );
    expect(p.problems[0]?.message).toContain('output starts "[{\\"Id\\": \\"abc\\", "');
  });

  it('a non-array JSON root is malformed too', () => {
    const p = parse(withSection(f.stdout, 'docker.containers', '{"message": "no"}'), docker);
    expect(p.problems[0]?.code).toBe('malformed-output');
  });

  it('a broken optional section (stats) is a warning and the inventory stays', () => {
    const p = parse(withSection(f.stdout, 'podman.stats', 'garbage'));
    expect(p.data?.containers.length).toBe(probe('probe-alpha').data?.containers.length);
    expect(p.data?.containers.every((c) => c.memoryBytes === null)).toBe(true);
    expect(p.problems).toEqual([expect.objectContaining({ severity: 'warning', code: 'malformed-output' })]);
  });

  it('a section cut off (no result) is an error, not a crash', () => {
    const cut = f.stdout.slice(0, f.stdout.indexOf(':begin:podman.containers@@'));
    const p = parse(cut);
    expect(p.data).toBeNull();
    expect(p.problems.map((x) => x.code)).toContain('section-missing');
  });

  it('a missing binary is "not installed", and an error only when required', () => {
    const text = withSection(f.stdout, 'podman.info', '', 127).replace(
      /(stderr:podman\.info@@\n)/,
      '$1sh: 1: podman: not found',
    );
    expect(parse(text).facts.status).toBe('missing');
    const viaSudo = withSection(f.stdout, 'docker.info', '', 1).replace(
      /(stderr:docker\.info@@\n)/,
      '$1sudo: docker: command not found',
    );
    expect(parse(viaSudo, docker).facts.status).toBe('missing');
    // a missing file is not a missing runtime
    const conf = withSection(f.stdout, 'podman.info', '', 125).replace(
      /(stderr:podman\.info@@\n)/,
      '$1Error: open /etc/containers/nope.conf: no such file or directory',
    );
    expect(parse(conf).facts.status).toBe('error');
    expect(parse(conf).problems[0]?.code).toBe('command-failed');
    expect(parse(text).problems).toEqual([]);
    const required = podmanRuntime({ required: true }).parseProbe(
      parseScriptOutput(text, f.nonce, f.sections).sections,
      'alpha',
    );
    expect(required.problems[0]).toMatchObject({ code: 'missing-binary' });
  });

  it('never throws on fuzzed inspect output', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          json.map((v) => JSON.stringify(v)),
          fc.array(json).map((v) => JSON.stringify(v)),
        ),
        (body) => {
          for (const rt of [podman, docker])
            for (const s of rt.probeSections()) parse(withSection(f.stdout, s.name, body), rt);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('stats parsers', () => {
  it('podman: raw ContainerStats lines and the human --format json', () => {
    const human = parsePodmanStats(readFileSync(`${FIXTURES}stats-podman-human.txt`, 'utf8'));
    expect(human.size).toBe(5);
    // the four workflow stages carry 64 MB of ballast each ("67.8MB" in podman's decimal units)
    expect([...human.values()].filter((v) => v > 60e6 && v < 80e6)).toHaveLength(4);
    for (const id of human.keys()) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(parsePodmanStats('{"ContainerID":"abc","MemUsage":123}\n')).toEqual(new Map([['abc', 123]]));
    expect(parsePodmanStats('')).toEqual(new Map());
  });

  it('docker: human MemUsage and cgroup MemBytes lines', () => {
    const human = parseDockerStats(readFileSync(`${FIXTURES}stats-docker-human.txt`, 'utf8'));
    expect(human.size).toBe(4);
    for (const v of human.values()) expect(v).toBeGreaterThan(60e6);
    expect(parseDockerStats('{"ID":"x","MemBytes":42,"Source":"cgroup"}')).toEqual(new Map([['x', 42]]));
    expect(() => parseDockerStats('{"ID": broken')).toThrow(/line 1/);
  });
});

describe('podman static addressing from the create command', () => {
  const img = 'localhost/ferry-workload:latest';
  it('finds --ip, --mac-address and --network name:ip=', () => {
    expect(staticAddressing(['podman', 'run', '--ip', '10.0.0.2', img], img)?.get('')).toEqual({
      ip: true,
      mac: false,
    });
    expect(staticAddressing(['podman', 'run', '--mac-address=02:00:00:00:00:01', img], img)?.get('')).toEqual(
      { ip: false, mac: true },
    );
    expect(
      staticAddressing(['podman', 'run', '--network', 'n1:ip=10.0.0.2,mac=02:00:00:00:00:01', img], img)?.get(
        'n1',
      ),
    ).toEqual({
      ip: true,
      mac: true,
    });
  });
  it('ignores what follows the image, and says unknown without a create command', () => {
    expect(staticAddressing(['podman', 'run', 'ferry-workload', '--ip', '1.2.3.4'], img)?.size).toBe(0);
    expect(staticAddressing([], img)).toBeNull();
  });
});
