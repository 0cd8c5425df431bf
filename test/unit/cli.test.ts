import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { runCli, runCliAsync } from '../../src/cli/main.ts';

describe('ferry cli', () => {
  it('prints the package version', () => {
    const r = runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ferry ${pkg.version}\n`);
  });

  it('prints usage with examples on --help', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('Examples:');
  });

  it('rejects an unknown flag with the usage and exit 1', () => {
    const r = runCli(['--frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/frobnicate/);
    expect(r.stderr).toContain('Usage:');
  });

  it('--allow is in the help, and an unknown name is refused before any host is reached', async () => {
    expect(runCli(['--help']).stdout).toMatch(/--allow NAME,\.\.\.[\s\S]*privileged, host-network/);
    const err = new PassThrough();
    let text = '';
    err.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const code = await runCliAsync(
      ['--plan', '--containers', 'nowhere:x', '--to', 'elsewhere', '--allow', 'host-network,everything'],
      new PassThrough(),
      err,
    );
    expect(code).toBe(1);
    expect(text).toMatch(/^ferry: --allow: unknown name 'everything' \(names: privileged, /);
  });
});

describe('ferry ssh-config resolve', () => {
  it('prints the resolved host and its route through the jumps', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    const cfg = join(dir, 'config');
    await writeFile(
      cfg,
      'Host bastion\n  HostName 192.0.2.10\n  User ops\nHost db\n  HostName 10.1.2.3\n  Port 2222\n  ProxyJump bastion\n  User app\n',
    );
    const r = runCli(['ssh-config', 'resolve', 'db', '-F', cfg]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('hostname 10.1.2.3\n');
    expect(r.stdout).toContain('port 2222\n');
    expect(r.stdout).toContain('# route: ops@192.0.2.10:22 -> app@10.1.2.3:2222');
    const json = JSON.parse(runCli(['ssh-config', 'resolve', 'db', '-F', cfg, '--json']).stdout);
    expect(json.config.proxyJump[0].host).toBe('bastion');
  });

  it('names the file and line of a bad value', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    const cfg = join(dir, 'config');
    await writeFile(cfg, 'Host x\n  Port seventy\n');
    const r = runCli(['ssh-config', 'resolve', 'x', '-F', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${cfg} line 2`);
  });
});
