import { describe, expect, it } from 'vitest';
import { networkCreateArgv, networkDef } from '../../../src/migrate/networks.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';
import { parseRoutes } from '../../../src/plan/preflight.ts';
import { cidrHolds, cidrsOverlap } from '../../../src/runtime/cidr.ts';
import { createArgvFromInspect, withAddress } from '../../../src/runtime/create-argv.ts';

// as podman 4.3 (CNI) and docker 20.10 print a compose project's network
const PODMAN_NET = JSON.stringify([
  {
    name: 'fs_default',
    id: 'f1',
    driver: 'bridge',
    network_interface: 'cni-podman1',
    subnets: [
      {
        subnet: '10.89.0.0/24',
        gateway: '10.89.0.1',
        lease_range: { start_ip: '10.89.0.128', end_ip: '10.89.0.255' },
      },
    ],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: true,
    labels: { 'com.docker.compose.project': 'fs', 'io.podman.compose.project': 'fs' },
    options: { mtu: '1400' },
    ipam_options: { driver: 'host-local' },
  },
]);
const DOCKER_NET = JSON.stringify([
  {
    Name: 'fsd_default',
    Id: 'd1',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] },
    Internal: false,
    Options: {},
    Labels: {
      'com.docker.compose.network': 'default',
      'com.docker.compose.project': 'fsd',
      'com.docker.compose.version': '1.29.2',
    },
  },
]);

describe('networks travel with the group', () => {
  it('podman: the same driver, subnet, gateway, range, options, labels and DNS', () => {
    expect(networkCreateArgv('podman', networkDef('podman', PODMAN_NET))).toEqual([
      'podman',
      'network',
      'create',
      '--driver',
      'bridge',
      '--subnet',
      '10.89.0.0/24',
      '--gateway',
      '10.89.0.1',
      '--ip-range',
      '10.89.0.128/25',
      '--label',
      'com.docker.compose.project=fs',
      '--label',
      'io.podman.compose.project=fs',
      '--opt',
      'mtu=1400',
      'fs_default',
    ]);
  });

  it('docker: the compose labels, so that docker-compose on the destination sees its project', () => {
    expect(networkCreateArgv('docker', networkDef('docker', DOCKER_NET))).toEqual([
      'docker',
      'network',
      'create',
      '--driver',
      'bridge',
      '--subnet',
      '172.18.0.0/16',
      '--gateway',
      '172.18.0.1',
      '--label',
      'com.docker.compose.network=default',
      '--label',
      'com.docker.compose.project=fsd',
      '--label',
      'com.docker.compose.version=1.29.2',
      'fsd_default',
    ]);
  });

  it('the pre-created copy keeps the address (podman: --ip; docker: --ip and the service alias)', () => {
    expect(
      withAddress(['podman', 'create', '--ip=10.0.0.9', '--net', 'fs_default', 'img'], '10.89.0.5'),
    ).toEqual(['podman', 'create', '--ip', '10.89.0.5', '--net', 'fs_default', 'img']);
    const c = {
      Id: 'abcdef1234567890',
      Name: '/fsd_store_1',
      Image: 'sha256:x',
      Config: { Image: 'localhost/ferry-stack:latest', Cmd: ['redis-server'] },
      HostConfig: { NetworkMode: 'fsd_default' },
      NetworkSettings: {
        Networks: { fsd_default: { IPAddress: '172.18.0.2', Aliases: ['store', 'abcdef123456'] } },
      },
    };
    const argv = createArgvFromInspect(c);
    expect(argv.join(' ')).toContain('--network fsd_default --network-alias store --ip 172.18.0.2');
    expect(argv).not.toContain('abcdef123456');
    expect(createArgvFromInspect(c, { newAddress: true })).not.toContain('--ip');
    expect(DEFAULT_OPTIONS.newAddress).toBeUndefined();
  });

  it('subnets and routes', () => {
    expect(cidrsOverlap('10.89.0.0/24', '10.89.0.128/25')).toBe(true);
    expect(cidrsOverlap('10.89.0.0/24', '10.89.1.0/24')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/8', '10.89.1.0/24')).toBe(true);
    expect(cidrHolds('172.18.0.0/16', '172.18.3.4')).toBe(true);
    expect(cidrHolds('172.18.0.0/16', '172.19.0.1')).toBe(false);
    expect(
      parseRoutes(
        'default via 10.0.2.2 dev eth0\n10.99.1.0/24 dev eth0 proto kernel scope link src 10.99.1.12\nunreachable 10.99.0.0/16\n10.89.0.0/24 dev cni-podman1 proto kernel scope link src 10.89.0.1\n',
      ),
    ).toEqual([
      { subnet: '10.99.1.0/24', dev: 'eth0' },
      { subnet: '10.99.0.0/16', dev: '' },
      { subnet: '10.89.0.0/24', dev: 'cni-podman1' },
    ]);
  });
});
