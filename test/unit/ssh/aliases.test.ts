// The default host list: concrete Host names across a config and its Includes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configuredHostAliases } from '../../../src/ssh/aliases.ts';

describe('configuredHostAliases', () => {
  const home = mkdtempSync(join(tmpdir(), 'ferry-aliases-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
  mkdirSync(join(home, 'etc-ssh'));
  const write = (path: string, lines: string[]) => writeFileSync(join(home, path), `${lines.join('\n')}\n`);
  write('.ssh/config', [
    '# hosts',
    'Host web1 web2 *.internal !bad db?',
    '  HostName 10.0.0.1',
    'Include conf.d/*.conf',
    'host "quoted name" web1   # again, and a comment',
    'Match host web3',
    '  User x',
    'Host=eq1',
    'Include /nonexistent/*.conf missing.conf',
  ]);
  write('.ssh/conf.d/b.conf', ['Host b1', 'Include ~/.ssh/conf.d/nested']);
  write('.ssh/conf.d/a.conf', ['Host a1 a2', '  ProxyJump b1']);
  write('.ssh/conf.d/nested', ['Host n1']);
  write('system', ['Host sys1 *', 'Include rel.conf']);
  write('etc-ssh/rel.conf', ['Host sysrel']);

  const opts = {
    homeDir: home,
    envHome: home,
    systemConfig: join(home, 'system'),
    systemConfigDir: join(home, 'etc-ssh'),
  };

  it('in the order ssh reads them, Includes expanded in place, patterns and negations left out, each once', () => {
    expect(configuredHostAliases(opts)).toEqual([
      'web1',
      'web2',
      'a1',
      'a2',
      'b1',
      'n1',
      'quoted name',
      'eq1',
      'sys1',
      'sysrel',
    ]);
  });

  it('-F reads only that file (relative Includes still from ~/.ssh)', () => {
    write('only.conf', ['Host solo', 'Include conf.d/a.conf']);
    expect(configuredHostAliases({ ...opts, configFile: join(home, 'only.conf') })).toEqual([
      'solo',
      'a1',
      'a2',
    ]);
  });

  it('a missing file gives no names, not an error', () => {
    expect(configuredHostAliases({ ...opts, configFile: join(home, 'absent') })).toEqual([]);
  });
});
