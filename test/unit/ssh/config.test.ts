// Behaviour of the ssh_config resolver that the ssh -G oracle cannot show:
// warnings, error locations, jump chains, the user + system config pair.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandProxyCommand,
  type ResolvedSshConfig,
  resolveJumpChain,
  resolveSshConfig,
  SshConfigError,
  type SshConfigOptions,
} from '../../../src/ssh/config.ts';
import { formatProxyJump, parseProxyJump } from '../../../src/ssh/proxy-jump.ts';
import { sshErrorLocation, sshG } from './ssh-oracle.ts';

let dir = '';
let home = '';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '', LANG: 'C' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-ssh-config-unit-'));
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  env.HOME = home;
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
function file(body: string, name = `cfg-${++seq}.conf`): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  chmodSync(p, 0o644);
  return p;
}

function opts(configFile: string, extra: SshConfigOptions = {}): SshConfigOptions {
  return { configFile, homeDir: home, envHome: home, localUser: 'me', uid: 1000, env: {}, ...extra };
}

function errorOf(f: () => unknown): SshConfigError {
  try {
    f();
  } catch (err) {
    if (err instanceof SshConfigError) return err;
    throw err;
  }
  throw new Error('expected an SshConfigError');
}

describe('resolveSshConfig', () => {
  it('fills ssh defaults for an empty config', () => {
    const c = resolveSshConfig('Box.Example', opts(file('')));
    expect(c).toMatchObject({
      host: 'Box.Example',
      hostName: 'box.example',
      user: 'me',
      port: 22,
      identitiesOnly: false,
      proxyJump: [],
      proxyCommand: undefined,
      connectTimeout: undefined,
      serverAliveInterval: 0,
      serverAliveCountMax: 3,
      connectionAttempts: 1,
      strictHostKeyChecking: 'ask',
      userKnownHostsFiles: [`${home}/.ssh/known_hosts`, `${home}/.ssh/known_hosts2`],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      hostKeyAlias: undefined,
      hashKnownHosts: false,
      batchMode: false,
      warnings: [],
    });
    expect(c.identityFiles[0]).toBe(`${home}/.ssh/id_rsa`);
    expect(c.identityFileSpecs).toContain('~/.ssh/id_ed25519');
  });

  it('expands %L from the local host name up to the first dot', () => {
    const f = file('Host *\n  IdentityFile /k/%l/%L\n');
    const c = resolveSshConfig('h', opts(f, { localHostname: 'node7.rack2.example' }));
    expect(c.identityFiles).toEqual(['/k/node7.rack2.example/node7']);
  });

  it('reads ~/.ssh/config before the system config, and resolves Include in each its own way', () => {
    const sys = join(dir, 'etc-ssh');
    mkdirSync(join(sys, 'conf.d'), { recursive: true });
    writeFileSync(
      join(sys, 'ssh_config'),
      'Include conf.d/*.conf\nHost *\n  User from-system\n  Port 2200\n',
    );
    writeFileSync(join(sys, 'conf.d', 'a.conf'), 'Host sys-only\n  HashKnownHosts yes\n');
    writeFileSync(join(home, '.ssh', 'config'), 'Host *\n  User from-user\n');
    const o: SshConfigOptions = {
      homeDir: home,
      localUser: 'me',
      uid: 1000,
      env: {},
      systemConfig: join(sys, 'ssh_config'),
      systemConfigDir: sys,
    };
    expect(resolveSshConfig('sys-only', o)).toMatchObject({
      user: 'from-user',
      port: 2200,
      hashKnownHosts: true,
    });
    // -F replaces both files
    expect(resolveSshConfig('sys-only', { ...o, configFile: file('') })).toMatchObject({
      user: 'me',
      port: 22,
    });
    rmSync(join(home, '.ssh', 'config'));
  });

  it('refuses ~ in an Include of the system config', () => {
    const sys = file('Include ~/x.conf\n', 'system-tilde.conf');
    const e = errorOf(() => resolveSshConfig('h', { homeDir: home, systemConfig: sys, env: {} }));
    expect(e.problems).toEqual([{ file: sys, line: 1, message: 'bad include path ~/x.conf.' }]);
  });

  it('warns about Match exec instead of running it, naming the line', () => {
    const f = file('Host h\n  User u\nMatch exec "touch /tmp/ferry-should-not-exist"\n  Port 1\n');
    const c = resolveSshConfig('h', opts(f));
    expect(c.port).toBe(22);
    expect(c.warnings).toEqual([
      { file: f, line: 3, message: expect.stringMatching(/Match exec is not supported/) },
    ]);
  });

  it('does not warn about a Match exec ssh would skip', () => {
    const f = file('Match host other exec true\n  Port 1\n');
    expect(resolveSshConfig('h', opts(f)).warnings).toEqual([]);
  });

  it('warns about an unknown keyword and keeps going (ssh would stop)', () => {
    const f = file('Host h\n  Frob 1\n  Port 2\n');
    const c = resolveSshConfig('h', opts(f));
    expect(c.port).toBe(2);
    expect(c.warnings).toEqual([{ file: f, line: 2, message: 'Bad configuration option: frob (ignored)' }]);
  });

  it('warns that CanonicalizeHostname is not done, but re-parses like ssh', () => {
    const f = file('CanonicalizeHostname yes\nMatch canonical\n  Port 2\n');
    const c = resolveSshConfig('h', opts(f));
    expect(c.port).toBe(2);
    expect(c.warnings[0]).toMatchObject({ file: f, line: 1 });
  });

  it('reports every bad line of a file with its file and line', () => {
    const f = file('Host a\n  Port 0\n  ConnectTimeout soon\n  StrictHostKeyChecking maybe\n  User\n');
    const e = errorOf(() => resolveSshConfig('a', opts(f)));
    expect(e.problems).toEqual([
      { file: f, line: 2, message: "Bad port '0'." },
      { file: f, line: 3, message: 'invalid time value.' },
      { file: f, line: 4, message: 'unsupported option "maybe".' },
      { file: f, line: 5, message: 'no argument after keyword "user"' },
    ]);
    expect(e.message).toContain(`${f} line 2: Bad port '0'.`);
  });

  it('names the included file and line of a bad value', () => {
    const inc = file('Host *\n  ServerAliveCountMax many\n', 'bad-include.conf');
    const f = file(`Include ${inc}\n`);
    expect(errorOf(() => resolveSshConfig('h', opts(f))).problems).toEqual([
      { file: inc, line: 2, message: 'integer value invalid.' },
    ]);
  });

  it('names the Include line when an included file cannot be read, as ssh does', () => {
    const loop = join(dir, 'loop.conf');
    symlinkSync(loop, loop);
    const f = file(`Host *\n  Include ${loop}\n`);
    const e = errorOf(() => resolveSshConfig('h', opts(f)));
    expect(e.problems[0]).toMatchObject({ file: f, line: 2 });
    expect(e.message).toContain(`Can't open user config file ${loop}: Too many levels of symbolic links`);
    const g = sshG(['-F', f, 'h'], env);
    expect(g.ok).toBe(false);
    expect(g.ok ? '' : g.stderr).toContain(
      `Can't open user config file ${loop}: Too many levels of symbolic links`,
    );
  });

  it('refuses an included file others can write, like ssh', () => {
    const inc = file('Port 2\n', 'writable.conf');
    chmodSync(inc, 0o666);
    const f = file(`Include ${inc}\n`);
    const e = errorOf(() => resolveSshConfig('h', opts(f, { uid: userInfo().uid })));
    expect(e.message).toBe(`Bad owner or permissions on ${inc}`);
    const g = sshG(['-F', f, 'h'], env);
    expect(g.ok ? '' : g.stderr).toContain(`Bad owner or permissions on ${inc}`);
  });

  it('stops an Include loop at ssh depth limit', () => {
    const self = join(dir, 'self.conf');
    writeFileSync(self, `Include ${self}\n`);
    expect(errorOf(() => resolveSshConfig('h', opts(self))).message).toBe(
      'Too many recursive configuration includes',
    );
    const g = sshG(['-F', self, 'h'], env);
    expect(g.ok ? '' : g.stderr).toContain('Too many recursive configuration includes');
  });

  it('fails like ssh when -F names a missing file', () => {
    const missing = join(dir, 'nope.conf');
    expect(errorOf(() => resolveSshConfig('h', opts(missing))).message).toBe(
      `Can't open user config file ${missing}: No such file or directory`,
    );
  });

  it('names the line of an IdentityFile whose environment variable is unset', () => {
    const nope = ['$', '{NOPE}'].join('');
    const f = file(`Host *\n  IdentityFile ${nope}/id\n`);
    expect(errorOf(() => resolveSshConfig('h', opts(f))).problems).toEqual([
      { file: f, line: 2, message: `IdentityFile "${nope}/id": env var ${nope} has no value` },
    ]);
  });

  it('rejects host and user arguments ssh would reject', () => {
    const f = file('');
    expect(errorOf(() => resolveSshConfig('a;b', opts(f))).message).toBe(
      'hostname contains invalid characters',
    );
    expect(errorOf(() => resolveSshConfig('-oProxyCommand=x', opts(f))).message).toBe(
      'hostname contains invalid characters',
    );
    expect(errorOf(() => resolveSshConfig('h', opts(f, { user: 'a|b' }))).message).toBe(
      'remote username contains invalid characters',
    );
  });

  it('expands ProxyCommand tokens as ssh does when connecting', () => {
    const f = file(
      'Host pc\n  HostName real.example\n  User bob\n  Port 2022\n  ProxyCommand nc %h %p # %r %n %%\n',
    );
    const c = resolveSshConfig('pc', opts(f));
    expect(c.proxyCommand).toBe('nc %h %p # %r %n %%');
    expect(expandProxyCommand(c)).toBe('nc real.example 2022 # bob pc %');
  });
});

describe('ProxyJump', () => {
  it('parses the forms ssh accepts', () => {
    expect(parseProxyJump('a,me@b:2200,ssh://u;x=1@c:23/,[::1]:22 # comment')).toEqual([
      { host: 'a', spec: 'a' },
      { user: 'me', host: 'b', port: 2200, spec: 'me@b:2200' },
      { user: 'u', host: 'c', port: 23, spec: 'ssh://u;x=1@c:23/' },
      { host: '::1', port: 22, spec: '[::1]:22' },
    ]);
    expect(parseProxyJump('NONE')).toBe('none');
    for (const bad of ['', 'a,,b', '@h', 'h:0', 'h:1:2', 'ssh://@h', 'ssh://h/path']) {
      expect(parseProxyJump(bad), bad).toBeNull();
    }
  });

  it('formats hops like ssh -G', () => {
    const hops = parseProxyJump('[::1]:2222,u@10.0.0.7,ssh://me@gw:23');
    expect(hops).not.toBeNull();
    expect(formatProxyJump(hops as never)).toBe('[::1]:2222,u@10.0.0.7,me@gw:23');
  });

  const JUMPS = `
Host target
  ProxyJump ops@bastion:2222,inner
Host viainner
  ProxyJump inner
Host inner
  HostName inner.example
  ProxyJump bastion
Host bastion
  HostName bastion.example
  User jump
Host a
  ProxyJump b
Host b
  ProxyJump c
Host c
  ProxyJump a
`;

  it('lists hops first to last, each resolved as the nested ssh would', () => {
    const f = file(JUMPS);
    const chain = resolveJumpChain('target', opts(f));
    expect(chain.map((h) => [h.config.host, h.config.hostName, h.config.user, h.config.port])).toEqual([
      ['bastion', 'bastion.example', 'ops', 2222],
      ['inner', 'inner.example', 'me', 22],
    ]);
    expect(chain.map((h) => h.args)).toEqual([
      { user: 'ops', port: 2222, proxyJump: undefined },
      { user: undefined, port: undefined, proxyJump: 'ops@bastion:2222' },
    ]);
    // -J on the nested ssh wins over inner's own ProxyJump
    expect(formatProxyJump((chain[1] as { config: ResolvedSshConfig }).config.proxyJump)).toBe(
      'ops@bastion:2222',
    );
  });

  it("follows the first hop's own ProxyJump", () => {
    const chain = resolveJumpChain('viainner', opts(file(JUMPS)));
    expect(chain.map((h) => `${h.config.user}@${h.config.hostName}`)).toEqual([
      'jump@bastion.example',
      'me@inner.example',
    ]);
  });

  it('names a cycle', () => {
    const e = errorOf(() => resolveJumpChain('a', opts(file(JUMPS))));
    expect(e.message).toBe('ProxyJump cycle: a -> b -> c -> a');
  });

  it('is empty without ProxyJump', () => {
    expect(resolveJumpChain('bastion', opts(file(JUMPS)))).toEqual([]);
  });

  it('rejects a hop ssh could not pass on its command line', () => {
    const f = file('Host t\n  ProxyJump j;x\n');
    expect(errorOf(() => resolveJumpChain('t', opts(f))).message).toMatch(
      /hostname contains invalid characters/,
    );
  });

  it('reports where ssh reports a self-loop', () => {
    const f = file('Host loop\n  ProxyJump loop\n');
    const e = errorOf(() => resolveSshConfig('loop', opts(f)));
    expect(e.problems).toEqual([{ file: f, line: 2, message: 'jumphost loop via loop' }]);
    const g = sshG(['-F', f, 'loop'], env);
    expect(g.ok ? undefined : sshErrorLocation(g.stderr)).toBeUndefined();
    expect(g.ok ? '' : g.stderr).toContain('jumphost loop via loop');
  });
});
