// The migration's sessions take the probes' privilege rule: a root login as
// it is, another login through `sudo -n` where that works, else as itself.
import { describe, expect, it } from 'vitest';
import { type SessionPool, sessionsFor } from '../../../src/migrate/session.ts';
import type { ExecResult } from '../../../src/ssh/index.ts';

/** A pool whose hosts answer the privilege probe as `who` says, and record every argv. */
function fakePool(who: Record<string, string>): {
  pool: SessionPool;
  calls: string[][];
  kills: Record<string, string[] | undefined>;
} {
  const calls: string[][] = [];
  const kills: Record<string, string[] | undefined> = {};
  const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, signal: null });
  const pool: SessionPool = {
    async exec(host, argv, opts) {
      calls.push([host, ...argv]);
      kills[argv.join(' ')] = opts?.killPrefix;
      if (argv[0] === 'sh' && argv[2]?.startsWith('u=$(id -u)')) return ok(who[host] ?? '');
      return ok('');
    },
    async spawn(host, argv, opts) {
      calls.push([host, ...argv]);
      kills[argv.join(' ')] = opts?.killPrefix;
      throw new Error('not used');
    },
  };
  return { pool, calls, kills };
}

describe('migration sessions and sudo', () => {
  it('a non-root login with sudo runs every command through sudo -n, as the probes do; root and sudo-less logins run it as is', async () => {
    const { pool, calls, kills } = fakePool({
      'beta-op': 'uid=1000\nsudo=ok\n',
      alpha: 'uid=0\n',
      'beta-guest': 'uid=1001\nsudo=no\n',
    });
    const session = sessionsFor(pool);
    await session('beta-op').exec(['podman', 'container', 'restore', 'web']);
    await session('beta-op').exec(['mktemp', '-d', '/tmp/ferry.XXXXXXXX']);
    await session('alpha').exec(['podman', 'container', 'checkpoint', 'web']);
    await session('beta-guest').exec(['podman', 'ps']);
    const commands = calls.filter((c) => c[1] !== 'sh');
    expect(commands).toEqual([
      ['beta-op', 'sudo', '-n', '--', 'podman', 'container', 'restore', 'web'],
      ['beta-op', 'sudo', '-n', '--', 'mktemp', '-d', '/tmp/ferry.XXXXXXXX'],
      ['alpha', 'podman', 'container', 'checkpoint', 'web'],
      ['beta-guest', 'podman', 'ps'],
    ]);
    // the rule is learnt once per host
    expect(calls.filter((c) => c[1] === 'sh').map((c) => c[0])).toEqual(['beta-op', 'alpha', 'beta-guest']);
    await expect(session('beta-op').spawn(['tar', '-cf', '-', '.'])).rejects.toThrow('not used');
    expect(calls.at(-1)).toEqual(['beta-op', 'sudo', '-n', '--', 'tar', '-cf', '-', '.']);
    // a cancelled command is killed through the same sudo: the login cannot signal root's processes
    expect(kills['sudo -n -- tar -cf - .']).toEqual(['sudo', '-n', '--']);
    expect(kills['sudo -n -- podman container restore web']).toEqual(['sudo', '-n', '--']);
    expect(kills['podman container checkpoint web']).toBeUndefined();
    expect(kills['podman ps']).toBeUndefined();
  });
});
