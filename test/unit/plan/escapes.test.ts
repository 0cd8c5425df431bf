// What a copy would get beyond its container, read from create command lines
// and inventory, and the --allow names that let it through.
import { describe, expect, it } from 'vitest';
import { parseAllow, standingAllow, withStandingAllow } from '../../../src/config/allow.ts';
import type { Container } from '../../../src/inventory/model.ts';
import {
  containerEscapes,
  createEscapes,
  isAllowed,
  isSystemPath,
  splitEnv,
} from '../../../src/plan/escapes.ts';
import { withEnv } from '../../../src/runtime/create-argv.ts';
import { mk } from '../support/containers.ts';

const allowOf = (argv: string[]) => createEscapes(argv).map((e) => e.allow);

describe('escaping settings', () => {
  it('read from a create command line, up to the image (the command after it is data)', () => {
    // the lab's sample, as podman recorded it
    expect(
      allowOf([
        'podman',
        'run',
        '-d',
        '--name',
        'wf-sink-1',
        '--network',
        'host',
        '--restart',
        'no',
        '--label',
        'com.docker.compose.project=wf',
        '-e',
        'BALLAST_MB=64',
        'localhost/ferry-workload:latest',
        'sink',
      ]),
    ).toEqual(['host-network']);
    expect(
      allowOf([
        'podman',
        'create',
        '--privileged',
        '-v',
        '/:/host:rw',
        '--mount',
        'type=bind,src=/etc,dst=/x',
        '--cap-add',
        'sys_admin,CAP_NET_ADMIN',
        '--pid=host',
        '--device',
        '/dev/kvm',
        '--security-opt',
        'seccomp=unconfined',
        '--env-file',
        '/etc/shadow',
        '--log-opt',
        'path=/etc/cron.d/x',
        '--hooks-dir',
        '/tmp/h',
        '-v',
        '/srv/data:/data',
        '-itv',
        '/var/run/docker.sock:/s',
        'img',
        '--privileged',
        '--network',
        'host',
      ]),
    ).toEqual([
      'privileged',
      'bind:/',
      'bind:/etc',
      'cap:SYS_ADMIN',
      'cap:NET_ADMIN',
      'host-pid',
      'devices',
      'unconfined',
      'option:log-opt',
      'option:hooks-dir',
      'bind:/var/run/docker.sock',
    ]);
    // --privileged=false and a bridge network are no escape; a value that looks like a flag is a value
    expect(
      allowOf([
        'docker',
        'create',
        '--privileged=false',
        '--network',
        'wf_default',
        '-e',
        '--privileged',
        'img',
      ]),
    ).toEqual([]);
  });

  it('host system paths, their parents and `..` tricks; data paths are not', () => {
    for (const p of [
      '/',
      '/etc',
      '/etc/',
      '/var',
      '/var/lib',
      '/var/lib/docker/volumes/x',
      '/srv/../etc',
      '/run/podman/podman.sock',
      '/home',
    ])
      expect([p, isSystemPath(p)]).toEqual([p, true]);
    for (const p of ['/srv/data', '/tmp/t5-bind', '/data', '/mnt/backup', '/var/lib/postgresql'])
      expect([p, isSystemPath(p)]).toEqual([p, false]);
  });

  it('from the inventory: privileged, caps, host namespaces, devices, binds of system paths', () => {
    const c: Container = {
      ...mk('web'),
      privileged: true,
      networkMode: 'host',
      capAdd: ['CAP_SYS_PTRACE'],
      namespaceModes: { pid: 'host', ipc: 'shareable', uts: '', userns: '' },
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse' }],
      mounts: [
        { type: 'bind', source: '/etc', destination: '/e', name: null, driver: null, rw: true },
        { type: 'bind', source: '/srv/data', destination: '/d', name: null, driver: null, rw: true },
      ],
    };
    expect(containerEscapes(c).map((e) => e.allow)).toEqual([
      'privileged',
      'host-network',
      'devices',
      'bind:/etc',
      'cap:SYS_PTRACE',
      'host-pid',
    ]);
    expect(containerEscapes(mk('plain'))).toEqual([]);
  });

  it('--allow names: checked, caps normalised, binds and caps by family', () => {
    expect(parseAllow(['privileged', 'cap:sys_admin', 'bind:/srv/x', ' host-network '])).toEqual([
      'privileged',
      'cap:SYS_ADMIN',
      'bind:/srv/x',
      'host-network',
    ]);
    expect(() => parseAllow(['privilegd'])).toThrow(
      /--allow: unknown name 'privilegd' \(names: privileged, /,
    );
    expect(() => parseAllow(['bind:etc'])).toThrow(/unknown name/);
    expect(isAllowed({ allow: 'bind:/etc', what: '' }, ['binds'])).toBe(true);
    expect(isAllowed({ allow: 'cap:NET_ADMIN', what: '' }, ['caps'])).toBe(true);
    expect(isAllowed({ allow: 'bind:/etc', what: '' }, ['bind:/srv'])).toBe(false);
    expect(standingAllow({ FERRY_ALLOW: 'host-network,cap:net_raw' })).toEqual([
      'host-network',
      'cap:NET_RAW',
    ]);
    expect(() => standingAllow({ FERRY_ALLOW: 'everything' })).toThrow(
      /^FERRY_ALLOW: unknown name 'everything'/,
    );
    // the TUI adds the standing list to each plan's own: each name once, the plan's first
    expect(withStandingAllow(['privileged', 'host-network'], ['host-network', 'devices'])).toEqual([
      'privileged',
      'host-network',
      'devices',
    ]);
    // read only from the environment it is given
    expect(standingAllow({})).toEqual([]);
  });

  it('environment values leave the command line for an env file; -e KEY without a value stays', () => {
    expect(
      splitEnv([
        'docker',
        'create',
        '--name',
        'x',
        '-e',
        'A=1',
        '--env=B=two words',
        '-eC=3',
        '-e',
        'HOME',
        '-p',
        '80:80',
        '-it',
        'img',
        '-e',
        'NOT=env',
      ]),
    ).toEqual({
      argv: ['docker', 'create', '--name', 'x', '-e', 'HOME', '-p', '80:80', '-it', 'img', '-e', 'NOT=env'],
      env: ['A=1', 'B=two words', 'C=3'],
    });
    expect(() => splitEnv(['podman', 'create', '-e', 'A=line\nbreak', 'img'])).toThrow(
      /cannot be passed in an env file/,
    );
    expect(() => splitEnv(['podman', 'create', '-e', '*=x', 'img'])).toThrow(/cannot be passed/);
  });

  it("a recorded command gets the container's environment instead of its -e and --env-file flags", () => {
    // what podman recorded for a copy ferry made: its env file is gone with the temp dir
    const recorded = [
      'podman',
      'create',
      '--env-file',
      '/tmp/ferry.a1/create.env',
      '--name',
      'web',
      '-e',
      'A=old',
      '--env=B=x',
      '-it',
      'img',
      '-e',
      'cmd-arg',
    ];
    expect(withEnv(recorded, ['A=1', 'SECRET=s p'])).toEqual([
      'podman',
      'create',
      '-e',
      'A=1',
      '-e',
      'SECRET=s p',
      '--name',
      'web',
      '-it',
      'img',
      '-e',
      'cmd-arg',
    ]);
    expect(createEscapes(withEnv(recorded, []))).toEqual([]);
  });
});
