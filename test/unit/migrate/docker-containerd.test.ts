// The docker driver checkpoints through the containerd that runs the
// container: its address and namespace come from the shim's command line
// (what a host says), and only a real shim's plain values pass. The restart
// policy it lifts for the checkpoint and puts back is docker's own value.
import { describe, expect, it } from 'vitest';
import { shimContainerd } from '../../../src/migrate/docker.ts';
import { dockerRestartValue } from '../../../src/runtime/create-argv.ts';

// /proc/PPID/cmdline of a container's parent on the lab (docker 20.10, containerd 1.6)
const LAB_SHIM = [
  '/usr/bin/containerd-shim-runc-v2',
  '-namespace',
  'moby',
  '-id',
  '8979680884fe23a3c75546510c6a32774a4e6e7c883bc0efc2c851ce0cc7df2e',
  '-address',
  '/var/lib/ferry-lab/hosts/alpha/docker/exec/containerd/containerd.sock',
  '',
];

describe("the containerd of a docker container, from its shim's command line", () => {
  it("reads the lab's shim", () => {
    expect(shimContainerd(LAB_SHIM)).toEqual({
      address: '/var/lib/ferry-lab/hosts/alpha/docker/exec/containerd/containerd.sock',
      namespace: 'moby',
    });
  });

  it('takes nothing from a process that is not a shim', () => {
    expect(shimContainerd(['/usr/bin/conmon', ...LAB_SHIM.slice(1)])).toBeUndefined();
    expect(shimContainerd(['/tmp/x;containerd-shim', ...LAB_SHIM.slice(1)])).toBeUndefined();
    expect(shimContainerd([])).toBeUndefined();
  });

  it('refuses an address or namespace that is not plain', () => {
    const withArg = (flag: string, value: string) => {
      const a = [...LAB_SHIM];
      a[a.indexOf(flag) + 1] = value;
      return shimContainerd(a);
    };
    for (const address of ['run/containerd.sock', '/run/$(reboot).sock', '/run/a b.sock', '--help', ''])
      expect(withArg('-address', address), address).toBeUndefined();
    for (const namespace of ['--debug', 'a b', 'moby;id', ''])
      expect(withArg('-namespace', namespace), namespace).toBeUndefined();
  });
});

describe("docker's restart value for a restart policy", () => {
  it('gives each policy docker has, and none for no policy or another name', () => {
    expect(dockerRestartValue({ Name: 'always' })).toBe('always');
    expect(dockerRestartValue({ Name: 'unless-stopped' })).toBe('unless-stopped');
    expect(dockerRestartValue({ Name: 'on-failure', MaximumRetryCount: 3 })).toBe('on-failure:3');
    expect(dockerRestartValue({ Name: 'on-failure', MaximumRetryCount: 0 })).toBe('on-failure');
    expect(dockerRestartValue({ Name: 'on-failure', MaximumRetryCount: 1.5 })).toBe('on-failure');
    expect(dockerRestartValue({ Name: 'no' })).toBeUndefined();
    expect(dockerRestartValue({ Name: '--privileged' })).toBeUndefined();
    expect(dockerRestartValue(undefined)).toBeUndefined();
  });
});
