// Preflight verdicts from facts and probe outputs captured on the lab, and
// variations of them for what the lab cannot show (old CRIU, GPUs, ...).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeProbe } from '../../../src/inventory/inventory.ts';
import type { Container, HostInventory } from '../../../src/inventory/model.ts';
import {
  compareVersions,
  type DestinationEvidence,
  destinationSections,
  evaluatePreflight,
  type Finding,
  type PreflightInput,
  parseDestinationEvidence,
  parseSourceEvidence,
  preflight,
  preflightGroup,
  type SourceEvidence,
} from '../../../src/plan/preflight.ts';
import { probeHost } from '../../../src/runtime/probe.ts';
import { fixtureExec, loadJson, loadScript, parsedFixture, replay } from '../support/fixtures.ts';

const inventory = async (fixture: string, host: string) =>
  mergeProbe(undefined, await probeHost({ name: host, exec: fixtureExec(`probe-${fixture}`) }));

let beta: HostInventory;
let alpha: HostInventory;
let gammaBroken: HostInventory;
let guest: HostInventory;
let staticC: Container;
let devC: Container;
let srcStatic: SourceEvidence;
let srcDev: SourceEvidence;
let dstAlpha: DestinationEvidence;
let dstGamma: DestinationEvidence;

beforeAll(async () => {
  [beta, alpha, gammaBroken, guest] = await Promise.all([
    inventory('beta', 'beta'),
    inventory('alpha', 'alpha'),
    inventory('gamma-criu-broken', 'gamma'),
    inventory('beta-guest', 'beta-guest'),
  ]);
  staticC = loadJson<Container>('container-t5-static');
  devC = loadJson<Container>('container-t5-dev');
  srcStatic = parseSourceEvidence(parsedFixture('preflight-source-t5-static').sections);
  srcDev = parseSourceEvidence(parsedFixture('preflight-source-t5-dev').sections);
  dstAlpha = parseDestinationEvidence(parsedFixture('preflight-destination-alpha').sections, staticC);
  dstGamma = parseDestinationEvidence(
    parsedFixture('preflight-destination-gamma-criu-broken').sections,
    staticC,
  );
});

const codes = (f: Finding[]) => f.map((x) => `${x.severity}:${x.code}`).sort();
const find = (f: Finding[], code: string) => f.find((x) => x.code === code);
const input = (over: Partial<PreflightInput> = {}): PreflightInput => ({
  container: staticC,
  source: beta,
  destination: alpha,
  sourceEvidence: srcStatic,
  destinationEvidence: dstAlpha,
  ...over,
});
/** A copy of an inventory, edited. */
const edit = (h: HostInventory, f: (h: HostInventory) => void): HostInventory => {
  const c = structuredClone(h);
  f(c);
  return c;
};

describe('evidence parsers on lab output', () => {
  it('source: cpuinfo image, pids, the UDP port the sink listens on, volume size', () => {
    expect('image' in srcStatic.cpuinfo && srcStatic.cpuinfo.image).toMatch(/^[A-Za-z0-9+/=]{100,}$/);
    expect(srcStatic.pid).toBe(staticC.pid);
    expect(srcStatic.listening).toEqual([{ proto: 'udp', ip: '127.0.0.1', port: 7500 }]);
    expect(srcStatic.volumeBytes.get('/var/lib/ferry-lab/hosts/beta/podman/volumes/t5-vol/_data')).toBe(4096);
    expect(srcStatic.failures).toEqual([]);
  });

  it('source: a process tree holding /dev/fuse and a TCP connection to sshd', () => {
    expect(srcDev.pids.length).toBeGreaterThan(1);
    expect(srcDev.devices).toEqual([{ path: '/dev/fuse', gpu: false }]);
    expect(srcDev.established).toEqual([expect.objectContaining({ remoteIp: '10.99.0.12', remotePort: 22 })]);
    expect(srcDev.externalUnix).toEqual([]);
  });

  it('destination: cpu check passed, listeners, a missing bind path', () => {
    expect(dstAlpha.cpuCheck).toEqual({ ok: true, output: '' });
    expect(dstAlpha.listeners?.some((l) => l.proto === 'udp' && l.port === 7103)).toBe(true);
    expect(dstAlpha.paths).toEqual(new Map([['/tmp/t5-bind', false]]));
  });
});

describe('preflight verdicts', () => {
  it('t5-static beta -> alpha: bind path missing, its network created there, volume carried', () => {
    const f = evaluatePreflight(input());
    expect(codes(f)).toEqual([
      'blocker:bind-source-missing',
      'warning:mac-kept',
      'warning:network-create',
      'warning:volume-carried',
    ]);
    expect(find(f, 'network-create')?.message).toBe(
      'will create network t5-net (10.89.50.0/24, bridge) on alpha',
    );
    expect(find(f, 'bind-source-missing')?.message).toBe(
      'bind mount /tmp/t5-bind (-> /data) does not exist on alpha',
    );
    expect(find(f, 'volume-carried')?.message).toBe(
      'named volume t5-vol (4.0 KiB) is copied to alpha with t5-static',
    );
    expect(find(f, 'mac-kept')?.message).toBe('t5-static keeps its MAC 02:42:0a:59:32:0a on t5-net');
  });

  it('to gamma with a broken CRIU: criu-broken (not a CPU verdict), image missing', () => {
    const f = evaluatePreflight(input({ destination: gammaBroken, destinationEvidence: dstGamma }));
    expect(codes(f)).toEqual([
      'blocker:bind-source-missing',
      'blocker:criu-broken',
      'warning:image-missing',
      'warning:mac-kept',
      'warning:network-create',
      'warning:volume-carried',
    ]);
    expect(find(f, 'criu-broken')).toMatchObject({
      host: 'gamma',
      message: expect.stringContaining('simulated failure'),
    });
    expect(find(f, 'image-missing')?.message).toBe(
      'image localhost/ferry-workload:latest (626e56060a07) is not on gamma: it will be transferred',
    );
  });

  it('a CPU the destination lacks, found by criu cpuinfo check there', () => {
    const f = evaluatePreflight(
      input({
        destinationEvidence: { ...dstAlpha, cpuCheck: { ok: false, output: 'Error: CPU: missing avx512f' } },
      }),
    );
    expect(find(f, 'cpu-incompatible')).toMatchObject({ severity: 'blocker', host: 'alpha' });
    expect(find(f, 'cpu-incompatible')?.message).toContain('missing avx512f');
    const none = evaluatePreflight(
      input({
        sourceEvidence: { ...srcStatic, cpuinfo: { error: 'criu: boom' } },
        destinationEvidence: { ...dstAlpha, cpuCheck: null },
      }),
    );
    expect(find(none, 'cpuinfo-unavailable')?.message).toContain('criu cpuinfo dump on beta: criu: boom');
  });

  it('name conflict, static IP and MAC conflicts with the option to drop them', () => {
    const twin = { ...staticC, host: 'alpha', id: 'f'.repeat(64), state: 'exited' as const };
    const dst = edit(alpha, (h) => {
      const p = h.runtimes.find((r) => r.kind === 'podman');
      p?.containers.push(twin, { ...staticC, host: 'alpha', name: 'other', id: 'e'.repeat(64) });
      p?.networks.push({
        name: 't5-net',
        id: 'n',
        driver: 'bridge',
        subnets: ['10.89.50.0/24'],
        userDefined: true,
      });
    });
    const f = evaluatePreflight(input({ destination: dst }));
    expect(find(f, 'name-conflict')?.message).toBe(
      'alpha already has a podman container named t5-static (ffffffffffff, exited)',
    );
    expect(find(f, 'static-ip-conflict')).toMatchObject({
      severity: 'blocker',
      message: 't5-static has static IP 10.89.50.10 on t5-net, which other already uses on alpha',
      options: [expect.objectContaining({ code: 'drop-static-ip' })],
    });
    expect(find(f, 'static-mac-conflict')).toMatchObject({
      severity: 'blocker',
      message: 't5-static has static MAC 02:42:0a:59:32:0a on t5-net, which other already uses on alpha',
      options: [expect.objectContaining({ code: 'drop-static-mac' })],
    });
    expect(find(f, 'mac-kept')).toBeUndefined();
    expect(find(f, 'network-missing')).toBeUndefined();
  });

  it('a static MAC: in use on another network there is no conflict; not a MAC, or one docker cannot set, is a blocker', () => {
    const onOtherNet = edit(alpha, (h) => {
      const p = h.runtimes.find((r) => r.kind === 'podman');
      p?.containers.push({
        ...staticC,
        host: 'alpha',
        name: 'other',
        id: 'e'.repeat(64),
        networks: staticC.networks.map((n) => ({ ...n, name: 'elsewhere', ip: '10.89.51.10' })),
      });
    });
    const f = evaluatePreflight(input({ destination: onOtherNet }));
    expect(find(f, 'static-mac-conflict')).toBeUndefined();
    expect(find(f, 'mac-kept')?.severity).toBe('warning');

    const bad = {
      ...staticC,
      networks: staticC.networks.map((n) => ({ ...n, mac: '02:42:0a:59:32:0a --privileged' })),
    };
    expect(find(evaluatePreflight(input({ container: bad })), 'static-mac-conflict')).toMatchObject({
      severity: 'blocker',
      message: 't5-static has a static MAC on t5-net that is not a MAC address',
    });

    // docker's client from 25 on sets a MAC per network, which an engine before 25 refuses
    const dockerC = { ...staticC, runtime: 'docker' as const };
    const versions = (client: string, engine: string) =>
      edit(alpha, (h) => {
        for (const r of h.runtimes)
          if (r.kind === 'docker') Object.assign(r.facts, { clientVersion: client, version: engine });
      });
    const mismatch = find(
      evaluatePreflight(input({ container: dockerC, destination: versions('28.2.2', '20.10.24+dfsg1') })),
      'static-mac-conflict',
    );
    expect(mismatch?.message).toBe(
      'docker on alpha cannot give t5-static its static MAC 02:42:0a:59:32:0a: its client 28.2.2 sets a MAC only on engines from 25 on, and the engine is 20.10.24+dfsg1',
    );
    for (const [client, engine] of [
      ['20.10.24', '20.10.24'],
      ['28.2.2', '28.2.2'],
    ] as const)
      expect(
        find(
          evaluatePreflight(input({ container: dockerC, destination: versions(client, engine) })),
          'static-mac-conflict',
        ),
      ).toBeUndefined();
  });

  it('an address taken on the destination is a blocker, unless the user allows a new address', () => {
    const dst = edit(alpha, (h) => {
      const p = h.runtimes.find((r) => r.kind === 'podman');
      p?.containers.push({ ...staticC, host: 'alpha', name: 'other', id: 'e'.repeat(64) });
      p?.networks.push({
        name: 't5-net',
        id: 'n',
        driver: 'bridge',
        subnets: ['10.89.50.0/24'],
        userDefined: true,
      });
    });
    const withStatic = (ipStatic: boolean | null) => ({
      ...staticC,
      networks: staticC.networks.map((n) => ({ ...n, ipStatic, macStatic: false })),
    });
    for (const ipStatic of [false, null]) {
      const f = evaluatePreflight(input({ container: withStatic(ipStatic), destination: dst }));
      expect(find(f, 'static-ip-conflict')).toBeUndefined();
      expect(find(f, 'address-taken')).toMatchObject({
        severity: 'blocker',
        message: "t5-static's address 10.89.50.10 on t5-net is taken on alpha by other",
        options: [expect.objectContaining({ code: 'new-address' })],
      });
    }
    const allowed = evaluatePreflight(
      input({ container: withStatic(false), destination: dst, choices: { newAddress: true } }),
    );
    expect(find(allowed, 'address-taken')).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('its established connections cannot be kept'),
    });
  });

  it('published ports and host-network listening ports in use', () => {
    const busy = {
      ...dstAlpha,
      listeners: [...(dstAlpha.listeners ?? []), { proto: 'tcp' as const, ip: '0.0.0.0', port: 7600 }],
    };
    const f = evaluatePreflight(input({ destinationEvidence: busy }));
    expect(find(f, 'port-in-use')?.message).toBe(
      'tcp port 7600 is already in use on alpha (0.0.0.0:7600); t5-static published 7600/tcp',
    );
    // a host-network container's own UDP port, taken on the destination
    const hostNet = { ...staticC, networkMode: 'host', networks: [], ports: [] };
    const udp = { ...dstAlpha, listeners: [{ proto: 'udp' as const, ip: '127.0.0.1', port: 7500 }] };
    const g = evaluatePreflight(input({ container: hostNet, destinationEvidence: udp }));
    expect(find(g, 'port-in-use')?.message).toContain('udp port 7500 is already in use on alpha');
    // a listener on another specific address does not collide
    const other = { ...dstAlpha, listeners: [{ proto: 'udp' as const, ip: '10.0.0.1', port: 7500 }] };
    expect(
      find(evaluatePreflight(input({ container: hostNet, destinationEvidence: other })), 'port-in-use'),
    ).toBeUndefined();
  });

  it('not enough disk for the checkpoint on either side (memory as the estimate)', () => {
    const tiny = (h: HostInventory) =>
      edit(h, (x) => {
        if (x.facts) x.facts.checkpointDir.freeBytes = 10 * 1024 * 1024;
      });
    const f = evaluatePreflight(input({ source: tiny(beta), destination: tiny(alpha) }));
    const disk = f.filter((x) => x.code === 'disk-space');
    expect(disk.map((x) => [x.severity, x.host])).toEqual([
      ['blocker', 'beta'],
      ['blocker', 'alpha'],
    ]);
    expect(disk[0]?.message).toMatch(
      /^\/var\/tmp\/ferry on beta has 10\.0 MiB free, the checkpoint of t5-static needs about 6\d\.\d MiB \(tmpfs: memory\)$/,
    );
    const unknown = evaluatePreflight(input({ container: { ...staticC, memoryBytes: null } }));
    expect(find(unknown, 'memory-unknown')?.severity).toBe('warning');
  });

  it("the destination's room counts the named volumes carried with the container", () => {
    const mem = staticC.memoryBytes ?? 0;
    // enough for the memory alone, not with the 4 KiB volume t5-vol
    const tight = edit(alpha, (x) => {
      if (x.facts) x.facts.checkpointDir.freeBytes = mem + 2048;
    });
    const disk = evaluatePreflight(input({ destination: tight })).filter((x) => x.code === 'disk-space');
    expect(disk.map((x) => [x.severity, x.host])).toEqual([['blocker', 'alpha']]);
  });

  it('findings come family by family, in one order: the destination inventory, then mounts, then volumes', () => {
    expect(evaluatePreflight(input()).map((x) => `${x.severity}:${x.code}`)).toEqual([
      'warning:network-create',
      'warning:mac-kept',
      'blocker:bind-source-missing',
      'warning:volume-carried',
    ]);
  });

  it('CRIU and runtime versions', () => {
    const withVersions = (criu: string, podman: string) =>
      edit(alpha, (h) => {
        if (!h.facts) return;
        h.facts.criu.version = criu;
        const p = h.runtimes.find((r) => r.kind === 'podman');
        if (p) p.facts.version = podman;
      });
    expect(codes(evaluatePreflight(input({ destination: withVersions('3.17', '4.3.1') })))).toContain(
      'blocker:criu-version-mismatch',
    );
    expect(codes(evaluatePreflight(input({ destination: withVersions('4.1.1', '4.3.1') })))).toContain(
      'warning:criu-version-mismatch',
    );
    expect(codes(evaluatePreflight(input({ destination: withVersions('4.2.1', '5.0.0') })))).toContain(
      'blocker:runtime-version-mismatch',
    );
    expect(codes(evaluatePreflight(input({ destination: withVersions('4.3.0', '4.3.1') })))).not.toContain(
      'warning:criu-version-mismatch',
    );
    expect(compareVersions('20.10.24+dfsg1', '20.10.9')).toBe(1);
  });

  it('destination runtime without checkpoint support, missing runtime, sudo refused', () => {
    const rootless = edit(alpha, (h) => {
      const p = h.runtimes.find((r) => r.kind === 'podman');
      if (p)
        p.facts.checkpoint = { supported: false, reason: 'rootless podman cannot checkpoint containers' };
    });
    expect(find(evaluatePreflight(input({ destination: rootless })), 'checkpoint-unsupported')?.message).toBe(
      'podman on alpha cannot restore checkpoints: rootless podman cannot checkpoint containers',
    );
    const noPodman = edit(alpha, (h) => {
      h.runtimes = h.runtimes.filter((r) => r.kind !== 'podman');
    });
    expect(find(evaluatePreflight(input({ destination: noPodman })), 'runtime-missing')?.message).toBe(
      'alpha has no podman, which t5-static runs in',
    );
    const f = evaluatePreflight(input({ destination: guest }));
    expect(find(f, 'sudo-denied')?.message).toMatch(
      /^on beta-guest \(destination\) user ferryguest has no passwordless sudo \(sudo -n true: sudo: a password is required\)/,
    );
    expect(codes(f)).toContain('blocker:criu-unknown');
    // a check that ran out of time on a busy host: a warning, the move may go ahead
    const busy = edit(alpha, (h) => {
      if (h.facts)
        h.facts.criu = { ...h.facts.criu, status: 'unknown', check: 'ran out of time', timedOut: true };
    });
    const late = evaluatePreflight(input({ destination: busy }));
    expect(codes(late)).toContain('warning:criu-unknown');
    expect(codes(late)).not.toContain('blocker:criu-unknown');
  });

  it('what CRIU cannot move: devices, established TCP over the host network, GPUs, external UNIX peers', () => {
    const f = evaluatePreflight(input({ container: devC, sourceEvidence: srcDev }));
    expect(find(f, 'device')?.message).toBe(
      't5-dev has device /dev/fuse mapped: CRIU cannot carry host hardware state to another machine',
    );
    expect(find(f, 'tcp-established')).toMatchObject({
      severity: 'blocker',
      options: [
        expect.objectContaining({ code: 'tcp-established' }),
        expect.objectContaining({ code: 'tcp-close' }),
      ],
    });
    expect(find(f, 'tcp-established')?.message).toMatch(
      /^t5-dev has 1 established TCP connection\(s\) to peers outside the group \(10\.99\.0\.12:\d+ -> 10\.99\.0\.12:22\): keep them with --tcp-established .* or close them with --tcp-close$/,
    );
    // the user's choice turns it into a warning
    const ev = { ...srcStatic, established: srcDev.established };
    for (const tcp of ['established', 'close'] as const) {
      const w = evaluatePreflight(input({ sourceEvidence: ev, choices: { tcp } }));
      expect(find(w, 'tcp-established')?.severity).toBe('warning');
    }
    // a peer that is a member going to the same destination: kept without asking
    const group = [{ name: 'sshd-peer', ips: ['10.99.0.12'], destination: 'alpha' }];
    const kept = evaluatePreflight(input({ sourceEvidence: ev, group }));
    expect(find(kept, 'tcp-established')).toBeUndefined();
    expect(find(kept, 'tcp-kept')?.message).toMatch(
      /^t5-static's connections to sshd-peer \(10\.99\.0\.12:\d+ -> 10\.99\.0\.12:22\) are kept/,
    );
    // docker passes no CRIU options: only runc.conf on both hosts lets it keep them
    const dockerC = { ...staticC, runtime: 'docker' as const };
    const noConf = evaluatePreflight(input({ container: dockerC, sourceEvidence: ev, group }));
    expect(find(noConf, 'tcp-established')?.message).toContain(
      'add the line tcp-established to /etc/criu/runc.conf on beta and alpha',
    );
    const conf = evaluatePreflight(
      input({
        container: dockerC,
        sourceEvidence: { ...ev, runcTcp: true },
        destinationEvidence: { ...dstAlpha, runcTcp: true },
        group,
      }),
    );
    expect(find(conf, 'tcp-established')).toBeUndefined();
    expect(find(conf, 'tcp-kept')?.severity).toBe('warning');
    // ... but not when it goes elsewhere
    const apart = evaluatePreflight(
      input({
        sourceEvidence: ev,
        group: [{ ...(group[0] as (typeof group)[number]), destination: 'gamma' }],
      }),
    );
    expect(find(apart, 'tcp-established')?.severity).toBe('blocker');
    const gpu = evaluatePreflight(
      input({
        sourceEvidence: {
          ...srcStatic,
          devices: [{ path: '/dev/nvidia0', gpu: true }],
          externalUnix: [{ path: '/run/dbus/system_bus_socket', inode: 1, peerInode: 2 }],
        },
      }),
    );
    expect(find(gpu, 'gpu')?.message).toContain('/dev/nvidia0');
    expect(find(gpu, 'external-unix-socket')?.message).toContain('/run/dbus/system_bus_socket');
  });

  it('a stopped container, a pod member, an unreachable destination', () => {
    expect(
      find(evaluatePreflight(input({ container: { ...staticC, state: 'exited' } })), 'not-running')?.severity,
    ).toBe('blocker');
    const pod = evaluatePreflight(
      input({ container: { ...staticC, pod: { id: 'p', name: 'mypod', infra: false } } }),
    );
    expect(find(pod, 'pod-member')?.severity).toBe('warning');
    const down = {
      ...alpha,
      stale: true,
      problems: [
        {
          severity: 'error' as const,
          code: 'unreachable' as const,
          message: 'alpha: ssh: no route',
          host: 'alpha',
        },
      ],
    };
    expect(evaluatePreflight(input({ destination: down }))).toEqual([
      {
        severity: 'blocker',
        code: 'destination-unreachable',
        message: 'alpha could not be probed: alpha: ssh: no route',
        host: 'alpha',
      },
    ]);
  });
});

describe('preflight()', () => {
  it('two round trips: the source CPU image travels to the destination check', async () => {
    const src = loadScript('probe-beta');
    const srcPf = loadScript('preflight-source-t5-static');
    const dst = loadScript('probe-alpha');
    const dstPf = loadScript('preflight-destination-alpha');
    const stdins: (string | undefined)[] = [];
    // one fixture for the inventory part, one for the preflight sections: joined as one answer
    const both = (a: typeof src, b: typeof src) => async (argv: string[], opts?: { stdin?: string }) => {
      stdins.push(opts?.stdin);
      const x = replay(a, argv);
      const y = replay(b, argv);
      return { ...x, stdout: x.stdout + y.stdout };
    };
    const r = await preflight({
      container: staticC,
      source: { name: 'beta', exec: both(src, srcPf) },
      destination: { name: 'alpha', exec: both(dst, dstPf) },
    });
    expect(r.roundTrips).toBe(2);
    expect(stdins).toHaveLength(2);
    expect(stdins[0]).toBeUndefined();
    expect(stdins[1]).toBe('image' in srcStatic.cpuinfo ? srcStatic.cpuinfo.image : 'none');
    expect(r.ok).toBe(false);
    expect(codes(r.findings)).toEqual([
      'blocker:bind-source-missing',
      'warning:mac-kept',
      'warning:network-create',
      'warning:volume-carried',
    ]);
  });

  it('never rejects when hosts are down: findings instead', async () => {
    const down = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const r = await preflight({
      container: staticC,
      source: { name: 'beta', exec: down },
      destination: { name: 'alpha', exec: down },
    });
    expect(codes(r.findings)).toEqual(['blocker:destination-unreachable', 'blocker:source-unreachable']);
  });
});

describe('a hostile source host', () => {
  it("bind sources from the source's inspect reach find on the destination as data, never as its expression", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pf-'));
    writeFileSync(join(dir, 'a-file'), '');
    const marker = join(dir, 'pwned');
    // what a compromised source can report: bind mounts that spell `DIR -exec touch MARKER ;`
    const hostile = (sources: string[]): Container => ({
      ...staticC,
      mounts: sources.map((source) => ({
        type: 'bind' as const,
        source,
        destination: '/data',
        name: null,
        driver: null,
        rw: true,
      })),
    });
    const section = destinationSections(hostile([dir, '-exec', 'touch', marker, ';'])).find(
      (x) => x.name === 'pf.paths',
    );
    if (!section) throw new Error('no pf.paths section');
    // the section's script as the destination runs it (without sudo), from a directory with files in it
    let out = '';
    try {
      out = execFileSync('sh', ['-c', section.script], {
        cwd: dir,
        env: { PATH: process.env.PATH, SUDO: '' },
      }).toString();
    } catch (err) {
      out = String((err as { stdout?: Buffer }).stdout ?? '');
    }
    expect(existsSync(marker)).toBe(false);
    // only the absolute paths are asked about, each as one word
    expect(out).toBe(`yes ${dir}\n`);
    expect(section.script).not.toContain("'-exec'");
    expect(
      destinationSections(hostile(['/srv/-exec x;$(touch y)|z'])).find((x) => x.name === 'pf.paths')?.script,
    ).toContain("find -- '/srv/-exec x;$(touch y)|z' -maxdepth 0");
    // and the plan refuses the relative ones by name, at --plan time
    const f = evaluatePreflight(input({ container: hostile([dir, '-exec', 'touch', marker, ';']) }));
    const invalid = f.filter((x) => x.code === 'invalid-path');
    // MARKER is absolute: it is asked about as a path (and does not exist)
    expect(invalid.map((x) => x.severity)).toEqual(['blocker', 'blocker', 'blocker']);
    expect(invalid[0]?.message).toBe(
      'beta reports bind mount source "-exec" (-> "/data") for t5-static: not an absolute path on one line, so it is not used',
    );
  });

  it('a copy that would be privileged or on the host network is a blocker unless allowed by name', () => {
    const c: Container = { ...staticC, privileged: true, networkMode: 'host' };
    const refused = evaluatePreflight(input({ container: c })).filter((x) => x.code === 'escape');
    expect(refused.map((x) => `${x.severity}: ${x.message}`)).toEqual([
      'blocker: t5-static would get privileged mode on alpha, which reaches beyond the container: refused unless allowed with --allow privileged (or FERRY_ALLOW, also for the TUI)',
      "blocker: t5-static would get the host's network on alpha, which reaches beyond the container: refused unless allowed with --allow host-network (or FERRY_ALLOW, also for the TUI)",
    ]);
    const allowed = evaluatePreflight(input({ container: c, allow: ['privileged', 'host-network'] })).filter(
      (x) => x.code === 'escape',
    );
    expect(allowed.map((x) => x.severity)).toEqual(['warning', 'warning']);
    expect(allowed[0]?.message).toBe(
      't5-static gets privileged mode on alpha (allowed by --allow privileged)',
    );
  });
});

describe('preflight after the planner probed the source', () => {
  it("runs only its own sections on the source: the planner's facts and inventory are not asked again", async () => {
    const beta = await probeHost({ name: 'beta', exec: fixtureExec('probe-beta') });
    const container = beta.runtimes
      .flatMap((r) => r.probe.data?.containers ?? [])
      .find((c) => c.name === 't5-static') as Container;
    const scripts: string[] = [];
    const src = loadScript('preflight-source-t5-static');
    const dst = loadScript('preflight-destination-alpha');
    const [report] = await preflightGroup([
      {
        container,
        source: {
          name: 'beta',
          exec: async (argv) => {
            scripts.push(argv[2] ?? '');
            return replay(src, argv);
          },
        },
        destination: { name: 'alpha', exec: async (argv) => replay(dst, argv) },
        sourceProbe: beta,
      },
    ]);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toContain('ferry_run pf.cpuinfo');
    expect(scripts[0]).not.toContain('ferry_run podman.containers');
    expect(scripts[0]).not.toContain('ferry_run criu.check');
    expect(scripts[0]).not.toContain('ferry_run podman.info');
    // the source's facts and inventory still reach the verdict, from the planner's probe
    expect(report?.input?.source.facts?.criu.status).toBe('ok');
    expect(report?.findings.map((f) => f.code)).not.toContain('container-gone');
  });
});
