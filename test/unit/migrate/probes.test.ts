// Holding a restored listening end's window probes: what is run in its
// network namespace on the destination, and what of the host's answer is used.
import { describe, expect, it } from 'vitest';
import { holdProbes, inNetns, NOWHERE } from '../../../src/migrate/probes.ts';
import type { HostSession } from '../../../src/migrate/types.ts';
import type { MigrationItem } from '../../../src/plan/migration.ts';
import type { ExecResult } from '../../../src/ssh/index.ts';

const item: MigrationItem = {
  id: 'alpha/podman/store',
  container: { host: 'alpha', runtime: 'podman', name: 'store' },
  destination: 'beta',
};
const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, signal: null });

function host(answers: (argv: string[]) => ExecResult) {
  const calls: string[][] = [];
  const session: HostSession = {
    host: 'beta',
    exec: async (argv) => {
      calls.push(argv);
      return answers(argv);
    },
    spawn: async () => {
      throw new Error('no streams here');
    },
  };
  return { session, calls };
}

describe('window probes of a restored listening end', () => {
  it('points the waiting neighbour entries nowhere in its namespace, and removes them on release', async () => {
    const h = host((argv) =>
      argv[0] === 'podman'
        ? ok('4242\n')
        : argv.includes('replace')
          ? ok('')
          : ok('10.89.0.3 eth0\n10.89.0.4 eth0\n$(reboot) eth0\n10.89.0.5 eth0;x\n'),
    );
    const held = await holdProbes(h.session, item, 'store');
    expect(h.calls[0]).toEqual(['podman', 'container', 'inspect', '--format', '{{.State.Pid}}', 'store']);
    expect(h.calls[1]?.slice(0, 5)).toEqual(['nsenter', '-t', '4242', '-n', 'sh']);
    expect(h.calls[1]?.at(-1)).toBe(NOWHERE);
    // only addresses and device names as they must look: nothing else of the host's answer is used
    expect(held?.entries).toEqual([
      { ip: '10.89.0.3', dev: 'eth0' },
      { ip: '10.89.0.4', dev: 'eth0' },
    ]);
    await held?.release();
    expect(h.calls[2]?.slice(0, 4)).toEqual(['nsenter', '-t', '4242', '-n']);
    expect(h.calls[2]?.slice(-5)).toEqual([NOWHERE, '10.89.0.3', 'eth0', '10.89.0.4', 'eth0']);
  });

  it('no pid (the copy is not running): nothing is held, and the caller waits for the kernel', async () => {
    const h = host(() => ok('0\n'));
    expect(await holdProbes(h.session, item, 'store')).toBeUndefined();
    expect(h.calls).toHaveLength(1);
  });

  it('runs a script in a namespace with its arguments as positional parameters, never as script text', () => {
    expect(inNetns('4242', 'echo "$1"', ['$(reboot)', 'eth0'])).toEqual([
      'nsenter',
      '-t',
      '4242',
      '-n',
      'sh',
      '-c',
      'echo "$1"',
      'sh',
      '$(reboot)',
      'eth0',
    ]);
  });
});
