// Why src/ssh/config.ts tokenizes and matches itself instead of using the
// `ssh-config` package: on these lines the package and ssh disagree. If a
// release of the package starts agreeing with ssh, this test fails, and the
// package is worth another look.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSshConfig } from '../../../src/ssh/config.ts';
import { sshG } from './ssh-oracle.ts';

const TEXT = `Host q1 db?
  IdentityFile ~/a#b
  IdentityFile '~/single quoted'
  ProxyCommand sh -c 'echo "%h"'   # ssh keeps this comment
  Port 2200
`;

let dir = '';
let file = '';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-ssh-config-pkg-'));
  file = join(dir, 'config');
  writeFileSync(file, TEXT);
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function ssh(host: string): Map<string, string[]> {
  const g = sshG(['-F', file, host], env);
  if (!g.ok) throw new Error(g.stderr);
  return g.all;
}

describe('the ssh-config package next to ssh -G', () => {
  const pkg = (host: string) => SSHConfig.parse(TEXT).compute(host, { matchExec: false });

  it('differs from ssh on quoting, `#` inside words and ProxyCommand; ferry does not', () => {
    const real = ssh('q1');
    expect(pkg('q1').IdentityFile).not.toEqual(real.get('identityfile'));
    expect(pkg('q1').ProxyCommand).not.toEqual(real.get('proxycommand')?.[0]);
    const ours = resolveSshConfig('q1', { configFile: file, env: {} });
    expect(ours.identityFileSpecs).toEqual(real.get('identityfile'));
    expect(ours.proxyCommand).toEqual(real.get('proxycommand')?.[0]);
  });

  it('lets `?` match no character; ssh and ferry do not', () => {
    expect(pkg('db').Port).toBe('2200');
    expect(ssh('db').get('port')).toEqual(['22']);
    expect(resolveSshConfig('db', { configFile: file, env: {} }).port).toBe(22);
  });
});
