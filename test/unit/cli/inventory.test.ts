// Which hosts `ferry hosts` and `ferry ps` look at, and config.yaml's checks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveHostList } from '../../../src/cli/inventory.ts';
import { loadSettings } from '../../../src/config/settings.ts';

describe('resolveHostList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-hostlist-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const sshConfig = file('ssh_config', 'Host alpha beta *\nHost gamma\n  ProxyJump bastion\n');

  it('--hosts first (comma lists split, duplicates dropped)', () => {
    const settingsFile = file('config.yaml', 'hosts: [x]\n');
    expect(resolveHostList({ configFile: sshConfig, hosts: ['b,a', 'b'], settingsFile })).toEqual({
      ok: true,
      hosts: ['b', 'a'],
      source: 'flag',
    });
  });

  it('then hosts: in config.yaml', () => {
    const settingsFile = file('config.yaml', '# mine\nhosts:\n  - beta\n  - gamma\n');
    expect(resolveHostList({ configFile: sshConfig, settingsFile })).toEqual({
      ok: true,
      hosts: ['beta', 'gamma'],
      source: 'config',
    });
  });

  it('then the Host names of the ssh config (also when config.yaml is missing or has no hosts)', () => {
    const want = { ok: true, hosts: ['alpha', 'beta', 'gamma'], source: 'ssh-config' };
    expect(resolveHostList({ configFile: sshConfig, settingsFile: join(dir, 'none.yaml') })).toEqual(want);
    expect(resolveHostList({ configFile: sshConfig, settingsFile: file('empty.yaml', '') })).toEqual(want);
  });

  it('a malformed config.yaml is reported with its position, not skipped', () => {
    const settingsFile = file('config.yaml', 'host:\n  - beta\n');
    expect(resolveHostList({ configFile: sshConfig, settingsFile })).toEqual({
      ok: false,
      errors: [`${settingsFile}:1:1: host: unknown key "host" (did you mean "hosts"?)`],
    });
    const bad = file('config2.yaml', 'hosts:\n  - beta\n  - "two words"\n  - 7\n');
    expect(loadSettings(bad)).toEqual({
      ok: false,
      path: bad,
      errors: [
        {
          file: bad,
          line: 3,
          column: 5,
          message: 'hosts[1]: expected a host name (no spaces or commas), got "two words"',
        },
        { file: bad, line: 4, column: 5, message: 'hosts[2]: expected a host name, got 7' },
      ],
    });
  });

  it('no hosts anywhere: says where they can be given', () => {
    const r = resolveHostList({
      configFile: file('empty_ssh', '# nothing\n'),
      settingsFile: join(dir, 'none.yaml'),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^no hosts to look at: give --hosts/);
  });
});
