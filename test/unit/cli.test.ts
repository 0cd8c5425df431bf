import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { runCli } from '../../src/cli/main.ts';

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
});
