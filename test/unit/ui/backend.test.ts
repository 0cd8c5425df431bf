// The real backend's wiring, over a pool that fails the way ssh2 does.
import { describe, expect, it } from 'vitest';
import { backendEnvironment, sshBackend } from '../../../src/cli/tui.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';
import { SshError, type SshPool } from '../../../src/ssh/index.ts';

const CHANGED =
  'REMOTE HOST IDENTIFICATION HAS CHANGED for gamma (port 22): the server offered ssh-ed25519 SHA256:new, but /var/lib/ferry-lab/known_hosts:4 records ssh-ed25519 SHA256:old. Someone could be eavesdropping, or the host was reinstalled; refusing to connect.';

function failingPool(): SshPool {
  const pool = {
    async exec(host: string) {
      if (host === 'gamma')
        throw new SshError('HOST_KEY_CHANGED', 'gamma', CHANGED, { hint: 'ssh-keygen -R gamma' });
      throw new SshError('UNREACHABLE', host, 'connect ECONNREFUSED 10.99.0.12:22');
    },
    async close() {},
  };
  // only exec and close are used on these paths
  return pool as unknown as SshPool;
}

describe('sshBackend', () => {
  it("a changed host key: refused, with the SSH layer's whole message and hint", async () => {
    const b = sshBackend(failingPool(), ['gamma', 'beta'], backendEnvironment({}), {
      groups: { load: async () => [], save: async () => {} },
    });
    const gamma = await b.refreshHost('gamma');
    expect(gamma.status.state).toBe('refused');
    expect(gamma.status.reason).toBe(`gamma: ${CHANGED}`);
    expect(gamma.status.hint).toBe('ssh-keygen -R gamma');
    const beta = await b.refreshHost('beta');
    expect(beta.status).toMatchObject({
      state: 'unreachable',
      reason: 'beta: connect ECONNREFUSED 10.99.0.12:22',
    });
    expect(beta.containers).toEqual([]);
  });

  it('a plan that cannot reach a host rejects with the reason and the hint', async () => {
    const b = sshBackend(failingPool(), ['alpha', 'beta'], backendEnvironment({}));
    await expect(
      b.plan({ members: [{ host: 'alpha', name: 'x' }], to: 'beta', options: DEFAULT_OPTIONS }),
    ).rejects.toThrow(/alpha: .*ECONNREFUSED.*\(check the host/);
  });

  it('a bad standing allow list (FERRY_ALLOW, read at start) fails each plan, naming it; nothing is asked of a host', async () => {
    let asked = 0;
    const pool = {
      ...failingPool(),
      exec: async () => {
        asked++;
        throw new Error('not here');
      },
    } as unknown as SshPool;
    const b = sshBackend(
      pool,
      ['alpha', 'beta'],
      backendEnvironment({ FERRY_ALLOW: 'host-network,everything' }),
    );
    await expect(
      b.plan({ members: [{ host: 'alpha', name: 'x' }], to: 'beta', options: DEFAULT_OPTIONS }),
    ).rejects.toThrow(/^FERRY_ALLOW: unknown name 'everything'/);
    expect(asked).toBe(0);
  });

  it('reads the environment once, at start: the journal dir, the test hooks, the step deadlines, FERRY_ALLOW', () => {
    const env = backendEnvironment({
      XDG_STATE_HOME: '/s',
      FERRY_ALLOW: 'host-network, cap:net_raw',
      FERRY_STEP_DEADLINE_MS: '10000',
      FERRY_TEST_KILL_AT: 'restore:failed',
    });
    expect(env.journalDir).toBe('/s/ferry/runs');
    expect(env.standingAllow).toEqual(['host-network', 'cap:NET_RAW']);
    expect(env.deadlines.checkpoint).toBe(10_000);
    expect(env.journalHooks).toEqual({ killAt: 'restore:failed' });
  });
});
