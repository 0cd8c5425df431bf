// The real backend's wiring, over a pool that fails the way ssh2 does.
import { describe, expect, it } from 'vitest';
import { sshBackend } from '../../../src/cli/tui.ts';
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
    const b = sshBackend(failingPool(), ['gamma', 'beta'], {
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
    const b = sshBackend(failingPool(), ['alpha', 'beta']);
    await expect(
      b.plan({ members: [{ host: 'alpha', name: 'x' }], to: 'beta', options: DEFAULT_OPTIONS }),
    ).rejects.toThrow(/alpha: .*ECONNREFUSED.*\(check the host/);
  });
});
