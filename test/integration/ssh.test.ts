// ferry's SSH layer (ssh2) against the lab's real sshd processes.
import { execFileSync } from 'node:child_process';
import { appendFile, chmod, copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshSession } from '../../src/migrate/session.ts';
import { SshError } from '../../src/ssh/errors.ts';
import { createSshPool } from '../../src/ssh/index.ts';
import { LAB_DIR, lab, SKIP_LAB, SSH_CONFIG, sshOk } from '../support/lab.ts';

const KEY = join(LAB_DIR, 'keys/id_ed25519');
const KNOWN = join(LAB_DIR, 'known_hosts');
let dir: string;

async function writeConfig(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, body);
  return file;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function errorOf(p: Promise<unknown>): Promise<SshError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SshError) return err;
    throw err;
  }
  throw new Error('expected an SshError, but the call succeeded');
}

describe.skipIf(SKIP_LAB)('ssh connections against the lab', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ssh-'));
  });

  it('authenticates with a key file, and measures setup and round trips', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    try {
      let t = performance.now();
      const r = await pool.exec('alpha', ['sh', '-c', 'echo "$FERRY_LAB_HOST"; echo oops >&2; exit 3']);
      const directMs = performance.now() - t;
      expect(r).toMatchObject({ stdout: 'alpha\n', stderr: 'oops\n', code: 3 });
      t = performance.now();
      expect((await pool.exec('gamma', ['printenv', 'FERRY_LAB_HOST'])).stdout).toBe('gamma\n');
      const jumpMs = performance.now() - t;
      const rtts: number[] = [];
      for (let i = 0; i < 20; i++) {
        const s = performance.now();
        await pool.exec('alpha', ['true']);
        rtts.push(performance.now() - s);
      }
      console.log(
        `ssh setup: direct ${directMs.toFixed(0)} ms, gamma through bastion ${jumpMs.toFixed(0)} ms; warm exec round trip median ${median(rtts).toFixed(1)} ms`,
      );
      // one connection per host, reused
      expect(pool.connectedHosts().sort()).toEqual(['alpha', 'bastion', 'gamma']);
    } finally {
      await pool.close();
    }
  });

  it('quotes arguments so that nothing reaches the remote shell unquoted', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    try {
      const marker = `/tmp/ferry-pwned-${process.pid}`;
      const args = [`$(touch ${marker})`, `\`touch ${marker}\``, "it's", 'a;b|c&d', '', 'new\nline', '*'];
      const r = await pool.exec('alpha', ['printf', '%s\\0', ...args]);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(args);
      expect((await pool.exec('alpha', ['test', '-e', marker])).code).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('streams stdin and stdout, and cancels a remote command with an AbortSignal', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    try {
      const payload = Buffer.alloc(4 * 1024 * 1024, 7);
      const local = execFileSync('sha256sum', { input: payload }).toString().split(' ')[0];
      const r = await pool.exec('alpha', ['sha256sum'], { stdin: payload });
      expect(r.stdout.split(' ')[0]).toBe(local);

      const ac = new AbortController();
      const marker = `ferry-cancel-${process.pid}`;
      // the marker stays in the parent shell's command line; [f] keeps pgrep from matching itself
      const running = pool.exec('alpha', ['sh', '-c', `sleep 60; : ${marker}`], { signal: ac.signal });
      const pattern = `[f]${marker.slice(1)}`;
      await new Promise((res) => setTimeout(res, 500));
      expect((await pool.exec('alpha', ['pgrep', '-f', pattern])).code).toBe(0);
      ac.abort();
      expect((await errorOf(running)).code).toBe('ABORTED');
      // the remote process goes with its channel
      let gone = false;
      for (let i = 0; i < 20 && !gone; i++) {
        gone = (await pool.exec('alpha', ['pgrep', '-f', pattern])).code === 1;
        if (!gone) await new Promise((res) => setTimeout(res, 250));
      }
      expect(gone).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('through sudo (the beta-op login), a cancelled command takes the root processes it started with it', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    // the migration's session: every command through sudo -n, as root on beta
    const op = sshSession(pool, 'beta-op');
    try {
      for (const how of ['exec', 'spawn'] as const) {
        const marker = `ferry-sudo-cancel-${how}-${process.pid}`;
        const pattern = `[f]${marker.slice(1)}`;
        const argv = ['sh', '-c', `sleep 60 & wait; : ${marker}`];
        const ac = new AbortController();
        const running =
          how === 'exec'
            ? op.exec(argv, { signal: ac.signal }).catch(() => undefined)
            : op.spawn(argv, { signal: ac.signal }).then((p) => p.done.catch(() => undefined));
        let seen = false;
        for (let i = 0; i < 40 && !seen; i++) {
          seen = (await pool.exec('beta', ['pgrep', '-u', 'root', '-f', pattern])).code === 0;
          if (!seen) await new Promise((res) => setTimeout(res, 250));
        }
        expect(seen, `${how}: the command runs as root`).toBe(true);
        ac.abort();
        // a spawn whose stdout nobody reads settles too: its channel's close waits on that stream
        const settled = await Promise.race([
          running.then(() => true),
          new Promise<boolean>((res) => setTimeout(() => res(false), 15_000).unref()),
        ]);
        expect(settled, `${how}: the cancelled command never settled`).toBe(true);
        let gone = false;
        for (let i = 0; i < 20 && !gone; i++) {
          gone = (await pool.exec('beta', ['pgrep', '-f', pattern])).code === 1;
          if (!gone) await new Promise((res) => setTimeout(res, 250));
        }
        expect(gone, `${how}: still running as root after the cancel`).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });

  it('a host that floods its output is stopped at the cap with an error naming it, not buffered without limit', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    try {
      const over = await errorOf(
        pool.exec('alpha', ['sh', '-c', 'head -c 3145728 /dev/zero'], { maxOutputBytes: 1024 * 1024 }),
      );
      expect(over.code).toBe('OUTPUT_LIMIT');
      expect(over.message).toMatch(/^alpha: 'sh -c' wrote more than 1024 KiB to stdout: stopped$/);
      // a flood without end is stopped the same way
      const flood = pool.exec('alpha', ['sh', '-c', 'exec yes FLOOD'], { maxOutputBytes: 1024 * 1024 });
      expect((await errorOf(flood)).code).toBe('OUTPUT_LIMIT');
      // the default cap holds too (16 MiB): 20 MiB of stderr is refused
      const loud = await errorOf(pool.exec('alpha', ['sh', '-c', 'head -c 20971520 /dev/zero >&2']));
      expect(loud.message).toContain('to stderr');
      // the connection is still good, and output under the cap is whole
      expect((await pool.exec('alpha', ['sh', '-c', 'head -c 3000000 /dev/zero'])).stdout).toHaveLength(
        3000000,
      );
    } finally {
      await pool.close();
    }
  });

  it('authenticates through a real ssh-agent', async () => {
    const agent = await execa('ssh-agent', ['-s']);
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(agent.stdout)?.[1];
    const pid = /SSH_AGENT_PID=(\d+);/.exec(agent.stdout)?.[1];
    expect(sock).toBeTruthy();
    try {
      await execa('ssh-add', [KEY], { env: { SSH_AUTH_SOCK: sock } });
      const cfg = await writeConfig(
        'agent.conf',
        `Host alpha\n  HostName 10.99.0.11\n  User root\n  IdentityFile ${dir}/no-such-key\n  UserKnownHostsFile ${KNOWN}\n  StrictHostKeyChecking yes\n`,
      );
      const withAgent = createSshPool({ configFile: cfg, env: { SSH_AUTH_SOCK: sock } });
      expect((await withAgent.exec('alpha', ['whoami'])).stdout).toBe('root\n');
      await withAgent.close();
      // and without the agent the same config has no way in
      const without = createSshPool({ configFile: cfg, env: {} });
      expect((await errorOf(without.exec('alpha', ['whoami']))).code).toBe('AUTH_FAILED');
      await without.close();
    } finally {
      if (pid) process.kill(Number(pid));
    }
  });

  describe('an encrypted key', () => {
    const passphrase = 'correct horse battery staple';
    let cfg: string;
    let authorizedBefore: string;

    beforeAll(async () => {
      const key = join(dir, 'enc_key');
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', key]);
      authorizedBefore = await readFile(join(LAB_DIR, 'authorized_keys'), 'utf8');
      await appendFile(join(LAB_DIR, 'authorized_keys'), await readFile(`${key}.pub`, 'utf8'));
      cfg = await writeConfig(
        'enc.conf',
        `Host alpha\n  HostName 10.99.0.11\n  User root\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${KNOWN}\n`,
      );
    });
    afterAll(async () => {
      await writeFile(join(LAB_DIR, 'authorized_keys'), authorizedBefore);
    });

    it('fails headless with a message that says how to give the passphrase', async () => {
      const pool = createSshPool({ configFile: cfg, env: {} });
      const err = await errorOf(pool.exec('alpha', ['true']));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toMatch(/encrypted/);
      expect(err.message).toMatch(/SSH_ASKPASS/);
      expect(err.message).not.toContain(passphrase);
      await pool.close();
    });

    it('works with the passphrase from an interactive prompt', async () => {
      const asked: string[] = [];
      const pool = createSshPool({
        configFile: cfg,
        env: {},
        prompter: {
          confirmHostKey: async () => false,
          passphrase: async ({ keyFile }) => {
            asked.push(keyFile);
            return passphrase;
          },
          password: async () => undefined,
          keyboardInteractive: async () => undefined,
        },
      });
      expect((await pool.exec('alpha', ['whoami'])).stdout).toBe('root\n');
      expect(asked).toEqual([join(dir, 'enc_key')]);
      await pool.close();
    });

    it('works headless through SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force', async () => {
      const askpass = join(dir, 'askpass.sh');
      await writeFile(askpass, `#!/bin/sh\necho '${passphrase}'\n`);
      await chmod(askpass, 0o700);
      const pool = createSshPool({
        configFile: cfg,
        env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
      });
      expect((await pool.exec('alpha', ['whoami'])).stdout).toBe('root\n');
      await pool.close();
    });
  });

  describe('host keys', () => {
    it('refuses an unknown host in strict mode, naming its SHA256 fingerprint', async () => {
      const empty = join(dir, 'empty_known_hosts');
      await writeFile(empty, '');
      const cfg = await writeConfig(
        'strict.conf',
        `Host alpha\n  HostName 10.99.0.11\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${empty}\n  StrictHostKeyChecking yes\n`,
      );
      const pool = createSshPool({ configFile: cfg, env: {} });
      const err = await errorOf(pool.exec('alpha', ['true']));
      expect(err.code).toBe('HOST_KEY_UNKNOWN');
      const fp = execFileSync('ssh-keygen', [
        '-lf',
        join(LAB_DIR, 'hosts/alpha/ssh/ssh_host_ed25519_key.pub'),
      ])
        .toString()
        .split(' ')[1];
      expect(err.message).toContain(fp);
      expect(await readFile(empty, 'utf8')).toBe('');
      await pool.close();
    });

    for (const hashed of [false, true]) {
      it(`accepts a new host under accept-new and records it${hashed ? ' hashed' : ''}, readable by ssh-keygen -F`, async () => {
        const file = join(dir, `new_known_hosts_${hashed}`);
        const cfg = await writeConfig(
          `accept-${hashed}.conf`,
          `Host alpha\n  HostName 10.99.0.11\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${file}\n  StrictHostKeyChecking accept-new\n  HashKnownHosts ${hashed ? 'yes' : 'no'}\n`,
        );
        const pool = createSshPool({ configFile: cfg, env: {} });
        expect((await pool.exec('alpha', ['whoami'])).stdout).toBe('root\n');
        await pool.close();
        const written = await readFile(file, 'utf8');
        expect(written.startsWith('|1|')).toBe(hashed);
        const found = await execa('ssh-keygen', ['-F', '10.99.0.11', '-f', file], { reject: false });
        expect(found.exitCode).toBe(0);
        expect(found.stdout).toContain('ssh-ed25519');
        // and OpenSSH itself now trusts it
        const ossh = await execa(
          'ssh',
          [
            '-F',
            '/dev/null',
            '-o',
            `UserKnownHostsFile=${file}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            'BatchMode=yes',
            '-i',
            KEY,
            'root@10.99.0.11',
            'true',
          ],
          { reject: false },
        );
        expect(ossh.exitCode, ossh.stderr).toBe(0);
      });
    }

    it('refuses a changed host key loudly, whatever StrictHostKeyChecking says', async () => {
      const old = join(dir, 'known_hosts_before_rekey');
      await copyFile(KNOWN, old);
      const oldFp = execFileSync('ssh-keygen', [
        '-lf',
        join(LAB_DIR, 'hosts/beta/ssh/ssh_host_ed25519_key.pub'),
      ])
        .toString()
        .split(' ')[1];
      const rekey = await lab(['rekey', 'beta']);
      expect(rekey.exitCode, rekey.stderr).toBe(0);
      const newFp = execFileSync('ssh-keygen', [
        '-lf',
        join(LAB_DIR, 'hosts/beta/ssh/ssh_host_ed25519_key.pub'),
      ])
        .toString()
        .split(' ')[1];
      expect(newFp).not.toBe(oldFp);
      const line = (await readFile(old, 'utf8')).split('\n').findIndex((l) => l.startsWith('beta,')) + 1;
      for (const mode of ['yes', 'no', 'accept-new']) {
        const cfg = await writeConfig(
          `changed-${mode}.conf`,
          `Host beta\n  HostName 10.99.0.12\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${old}\n  StrictHostKeyChecking ${mode}\n`,
        );
        const pool = createSshPool({ configFile: cfg, env: {} });
        const err = await errorOf(pool.exec('beta', ['true']));
        expect(err.code, mode).toBe('HOST_KEY_CHANGED');
        expect(err.message).toContain(`${old}:${line}`);
        expect(err.message).toContain(oldFp);
        expect(err.message).toContain(newFp);
        await pool.close();
      }
      // the lab's own known_hosts followed the rotation
      const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
      expect((await pool.exec('beta', ['printenv', 'FERRY_LAB_HOST'])).stdout).toBe('beta\n');
      await pool.close();
    });

    it('verifies every hop of a jump chain with its own key', async () => {
      const withoutBastion = join(dir, 'known_hosts_no_bastion');
      const lines = (await readFile(KNOWN, 'utf8')).split('\n').filter((l) => !l.startsWith('bastion,'));
      await writeFile(withoutBastion, lines.join('\n'));
      const cfg = await writeConfig(
        'hops.conf',
        `Host bastion\n  HostName 10.99.0.2\nHost gamma\n  HostName 10.99.1.13\n  ProxyJump bastion\nHost *\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${withoutBastion}\n  StrictHostKeyChecking yes\n`,
      );
      const pool = createSshPool({ configFile: cfg, env: {} });
      const err = await errorOf(pool.exec('gamma', ['true']));
      expect(err.code).toBe('HOST_KEY_UNKNOWN');
      expect(err.host).toBe('bastion');
      await pool.close();
    });
  });

  it('reaches gamma through a two-hop chain, bastion then alpha', async () => {
    const cfg = await writeConfig(
      'twohop.conf',
      `Host bastion\n  HostName 10.99.0.2\nHost alpha\n  HostName 10.99.0.11\nHost gamma\n  HostName 10.99.1.13\n  ProxyJump bastion,alpha\nHost *\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${KNOWN}\n  StrictHostKeyChecking yes\n`,
    );
    const pool = createSshPool({ configFile: cfg, env: {} });
    try {
      // gamma sees the connection coming from alpha's back address
      const r = await pool.exec('gamma', ['sh', '-c', 'echo "$FERRY_LAB_HOST $SSH_CLIENT"']);
      expect(r.stdout).toMatch(/^gamma 10\.99\.1\.11 /);
    } finally {
      await pool.close();
    }
  });

  it('runs a ProxyCommand as the transport', async () => {
    const cfg = await writeConfig(
      'proxycommand.conf',
      `Host gamma\n  HostName 10.99.1.13\n  ProxyCommand ssh -F ${SSH_CONFIG} -o BatchMode=yes -W %h:%p bastion\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${KNOWN}\n`,
    );
    const pool = createSshPool({ configFile: cfg, env: {} });
    try {
      const r = await pool.exec('gamma', ['sh', '-c', 'echo "$FERRY_LAB_HOST $SSH_CLIENT"']);
      expect(r.stdout).toMatch(/^gamma 10\.99\.1\.2 /);
    } finally {
      await pool.close();
    }
  });

  it('detects a ProxyJump cycle', async () => {
    const cfg = await writeConfig(
      'cycle.conf',
      `Host a\n  HostName 10.99.0.11\n  ProxyJump b\nHost b\n  HostName 10.99.0.12\n  ProxyJump a\nHost *\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${KNOWN}\n`,
    );
    const pool = createSshPool({ configFile: cfg, env: {} });
    const err = await errorOf(pool.exec('a', ['true']));
    expect(['JUMP_CYCLE', 'CONFIG']).toContain(err.code);
    expect(err.message).toMatch(/cycle/i);
    await pool.close();
  });

  it('queues channels past the server MaxSessions instead of failing', async () => {
    const port = 2222;
    const pidFile = '/tmp/ferry-test-sshd.pid';
    const start = await lab([
      'exec',
      'beta',
      '--',
      '/usr/sbin/sshd',
      '-f',
      join(LAB_DIR, 'hosts/beta/sshd_config'),
      '-o',
      `Port=${port}`,
      '-o',
      'MaxSessions=2',
      '-o',
      `PidFile=${pidFile}`,
    ]);
    expect(start.exitCode, start.stderr).toBe(0);
    try {
      const betaKey = (await readFile(KNOWN, 'utf8'))
        .split('\n')
        .find((l) => l.startsWith('beta,'))
        ?.split(' ')
        .slice(1)
        .join(' ');
      const kh = join(dir, 'kh_2222');
      await writeFile(kh, `[10.99.0.12]:${port} ${betaKey}\n`);
      const cfg = await writeConfig(
        'max2.conf',
        `Host beta2\n  HostName 10.99.0.12\n  Port ${port}\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${kh}\n`,
      );
      const pool = createSshPool({ configFile: cfg, env: {} });
      const t = performance.now();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => pool.exec('beta2', ['sh', '-c', `sleep 0.3; echo ${i}`])),
      );
      const ms = performance.now() - t;
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
      // at most two at a time: 10 x 0.3 s needs at least 5 rounds
      expect(ms).toBeGreaterThan(1400);
      await pool.close();
    } finally {
      await lab(['exec', 'beta', '--', 'sh', '-c', `kill $(cat ${pidFile})`]);
    }
  });

  it('reconnects an idempotent call after sshd comes back, with a clear error while it is down', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    try {
      expect((await pool.exec('alpha', ['true'], { idempotent: true })).code).toBe(0);
      expect((await lab(['sshd', 'alpha', 'stop'])).exitCode).toBe(0);
      const err = await errorOf(pool.exec('alpha', ['true'], { idempotent: true }));
      expect(['REFUSED', 'CONNECTION_LOST']).toContain(err.code);
      expect(err.message).toMatch(/^alpha: /);
      expect((await lab(['sshd', 'alpha', 'start'])).exitCode).toBe(0);
      expect((await pool.exec('alpha', ['printenv', 'FERRY_LAB_HOST'], { idempotent: true })).stdout).toBe(
        'alpha\n',
      );
    } finally {
      await lab(['sshd', 'alpha', 'start']);
      await pool.close();
    }
  });

  it('times out a host that accepts TCP but never speaks, without holding up others', async () => {
    const silent: Server = createServer(() => {
      // accept and say nothing
    });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const cfg = await writeConfig(
        'silent.conf',
        `Host silent\n  HostName 127.0.0.1\n  Port ${port}\n  ConnectTimeout 2\nHost alpha\n  HostName 10.99.0.11\nHost *\n  User root\n  IdentityFile ${KEY}\n  UserKnownHostsFile ${KNOWN}\n`,
      );
      const pool = createSshPool({ configFile: cfg, env: {} });
      const t = performance.now();
      const slow = errorOf(pool.exec('silent', ['true'])).then((e) => ({ e, ms: performance.now() - t }));
      const fast = pool.exec('alpha', ['true']).then(() => performance.now() - t);
      const alphaMs = await fast;
      const { e, ms } = await slow;
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toMatch(/^silent: .*2 s/);
      expect(alphaMs).toBeLessThan(ms);
      expect(ms).toBeLessThan(5000);
      await pool.close();
    } finally {
      silent.close();
    }
  });

  it('agrees with plain OpenSSH about who alpha is', async () => {
    const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
    const mine = (await pool.exec('alpha', ['cat', '/proc/sys/kernel/random/boot_id'])).stdout;
    expect(mine.trim()).toBe((await sshOk('alpha', 'cat /proc/sys/kernel/random/boot_id')).trim());
    await pool.close();
  });
});
