// The docker driver reads `docker container inspect` field by field
// (runtime/json.ts): on what real docker printed (captured on the lab) the
// copy's create line is the same as from the raw output; what a hostile host
// prints in other types is absent or, where it would reach the command line,
// refused.
import { describe, expect, it } from 'vitest';
import { readDockerInspect } from '../../../src/migrate/docker.ts';
import { StageError } from '../../../src/migrate/driver.ts';
import { connectArgvs, createArgvFromInspect } from '../../../src/runtime/create-argv.ts';
import { type JsonObject, obj, parseJsonArray } from '../../../src/runtime/json.ts';
import { parsedFixture } from '../support/fixtures.ts';

const captured = parseJsonArray(parsedFixture('probe-beta').sections.get('docker.containers')?.stdout ?? '');
// and one of them as a compose service on its project's network, with aliases
const first = captured[0] ?? {};
const containers: JsonObject[] = [
  ...captured,
  {
    ...first,
    HostConfig: { ...obj(first.HostConfig), NetworkMode: 'wfd_default' },
    NetworkSettings: {
      Networks: {
        wfd_default: { IPAddress: '172.20.0.5', GlobalIPv6Address: '', Aliases: ['enrich', 'wfd-enrich-1'] },
      },
    },
  },
];

describe('docker inspect, read field by field', () => {
  it("real docker's output gives the same create line as before (the raw object, cast)", () => {
    expect(captured.length).toBeGreaterThanOrEqual(3);
    for (const raw of containers) {
      const c = readDockerInspect(raw, 'beta');
      // the raw object is what the driver used before, unchecked
      const before = createArgvFromInspect(raw as unknown as Parameters<typeof createArgvFromInspect>[0]);
      expect(createArgvFromInspect(c)).toEqual(before);
      expect(createArgvFromInspect(c, { newAddress: true })).toEqual(
        createArgvFromInspect(raw as unknown as Parameters<typeof createArgvFromInspect>[0], {
          newAddress: true,
        }),
      );
      expect([c.Id, c.Name, c.Config.Image]).toEqual([
        raw.Id,
        raw.Name,
        (raw.Config as { Image: string }).Image,
      ]);
    }
  });

  it('a field of another type is absent; a list or map for the command line that is not strings is refused', () => {
    const c = readDockerInspect(
      { Id: ['x'], Name: '/web', Config: { Image: 'web:1', Tty: 'yes' }, HostConfig: { ShmSize: 'big' } },
      'beta: web',
    );
    expect(c).toMatchObject({ Id: '', Name: '/web', Config: { Image: 'web:1', Tty: false } });
    expect(c.HostConfig.ShmSize).toBeUndefined();
    const cmd = () => readDockerInspect({ Config: { Image: 'web:1', Cmd: ['sh', { x: 1 }] } }, 'beta: web');
    expect(cmd).toThrow(StageError);
    expect(cmd).toThrow('beta: web: docker inspect gives Config.Cmd that is not a list of strings');
    expect(() => readDockerInspect({ Config: { Labels: { a: 1 } } }, 'beta: web')).toThrow(
      /Config\.Labels that is not a map of strings/,
    );
    expect(() => readDockerInspect({ HostConfig: { CapAdd: 'ALL' } }, 'beta: web')).toThrow(
      /HostConfig\.CapAdd/,
    );
  });
  it('a service on two networks with a static MAC: created on the first with its MAC, connected to the second with its name and address', () => {
    const id = 'a1b2c3d4e5f6'.padEnd(64, '0');
    const raw = {
      ...first,
      Id: id,
      Config: { ...obj(first.Config), MacAddress: '02:FE:77:32:00:05' },
      HostConfig: { ...obj(first.HostConfig), NetworkMode: 'fsd_default' },
      NetworkSettings: {
        Networks: {
          fsd_default: { IPAddress: '172.20.0.5', Aliases: ['store', 'a1b2c3d4e5f6'] },
          fsd_back: { IPAddress: '172.21.0.7', GlobalIPv6Address: 'fd00::7', Aliases: ['store'] },
        },
      },
    };
    const c = readDockerInspect(raw, 'alpha: store');
    const argv = createArgvFromInspect(c);
    const flagValue = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect([
      flagValue('--network'),
      flagValue('--network-alias'),
      flagValue('--ip'),
      flagValue('--mac-address'),
    ]).toEqual(['fsd_default', 'store', '172.20.0.5', '02:fe:77:32:00:05']);
    expect(argv.filter((a) => a === '--network')).toHaveLength(1);
    expect(connectArgvs(c, 'f'.repeat(64))).toEqual([
      [
        'docker',
        'network',
        'connect',
        '--alias',
        'store',
        '--ip',
        '172.21.0.7',
        '--ip6',
        'fd00::7',
        'fsd_back',
        'f'.repeat(64),
      ],
    ]);
    expect(connectArgvs(c, 'f'.repeat(64), { newAddress: true })).toEqual([
      ['docker', 'network', 'connect', '--alias', 'store', 'fsd_back', 'f'.repeat(64)],
    ]);
    // on the default bridge, every other network is connected
    const bridge = readDockerInspect(
      {
        ...raw,
        HostConfig: { NetworkMode: 'default' },
        NetworkSettings: { Networks: { bridge: {}, fsd_back: {} } },
      },
      'alpha: store',
    );
    expect(createArgvFromInspect(bridge)).not.toContain('--network');
    expect(connectArgvs(bridge, 'x').map((a) => a.at(-2))).toEqual(['fsd_back']);
  });

  it('a MAC, an address or an alias that is not one is refused, naming the field', () => {
    const bad = (patch: JsonObject) => () => readDockerInspect({ ...first, ...patch }, 'alpha: store');
    expect(bad({ Config: { ...obj(first.Config), MacAddress: '02:42:ac:11:00:02 --privileged' } })).toThrow(
      'alpha: store: docker inspect gives Config.MacAddress that is not a MAC address',
    );
    expect(bad({ NetworkSettings: { Networks: { n: { IPAddress: '--privileged' } } } })).toThrow(
      'docker inspect gives NetworkSettings.Networks.n.IPAddress that is not an IPv4 address',
    );
    expect(bad({ NetworkSettings: { Networks: { n: { GlobalIPv6Address: '10.0.0.1' } } } })).toThrow(
      /GlobalIPv6Address that is not an IPv6 address/,
    );
    expect(bad({ NetworkSettings: { Networks: { n: { Aliases: ['ok', '--cap-add=ALL'] } } } })).toThrow(
      'docker inspect gives NetworkSettings.Networks.n.Aliases that is not a list of names',
    );
  });
});
