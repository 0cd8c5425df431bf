import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDfLine } from '../../../src/runtime/host-facts.ts';
import { probeHost } from '../../../src/runtime/probe.ts';
import { parseSize, parseUsage } from '../../../src/runtime/units.ts';
import { formatBytes } from '../../../src/text/numbers.ts';
import { fixtureExec, withSection } from '../support/fixtures.ts';

const facts = async (fixture: string, host = fixture) => {
  const p = await probeHost({ name: host, exec: fixtureExec(`probe-${fixture}`) });
  if (!p.facts) throw new Error(`no facts: ${JSON.stringify(p.problems)}`);
  return p;
};

describe('host facts from lab output', () => {
  it('alpha: kernel, healthy CRIU 4.2.1, no soft-dirty (no pre-copy), uffd (lazy pages), tmpfs checkpoint dir', async () => {
    const { facts: f } = await facts('alpha');
    expect(f?.kernel).toMatch(/^\d+\.\d+/);
    expect(f?.criu).toEqual({
      status: 'ok',
      version: '4.2.1',
      check: 'Looks good.',
      preCopy: false,
      lazyPages: true,
    });
    expect(f?.checkpointDir).toMatchObject({
      path: '/var/tmp/ferry',
      measuredPath: '/var/tmp',
      exists: false,
      fsType: 'tmpfs',
      tmpfs: true,
      totalBytes: 1024 ** 3,
    });
    expect(f?.checkpointDir.freeBytes).toBeGreaterThan(0);
    expect(f?.sudo).toEqual({ mode: 'auto', needed: false, used: false, ok: null, message: null });
    expect(f?.runtimes.map((r) => r.kind)).toEqual(['podman', 'docker']);
  });

  it('gamma with the broken criu wrapper: status broken, with its stderr', async () => {
    const { facts: f } = await facts('gamma-criu-broken', 'gamma');
    expect(f?.criu.status).toBe('broken');
    expect(f?.criu.check).toContain('simulated failure');
    expect(f?.criu.preCopy).toBeNull();
  });

  it('a criu check that runs out of time is unknown (a warning), never broken', async () => {
    const exec = fixtureExec('probe-alpha', (out) => withSection(out, 'criu.check', '', 124));
    const p = await probeHost({ name: 'alpha', exec });
    expect(p.facts?.criu).toMatchObject({ status: 'unknown', timedOut: true, version: '4.2.1' });
    expect(p.facts?.criu.check).toContain('ran out of time');
  });

  it('beta-op: sudo needed, used and working; CRIU found through sudo', async () => {
    const p = await facts('beta-op');
    expect(p.facts?.user).toBe('ferryop');
    expect(p.facts?.sudo).toMatchObject({ needed: true, used: true, ok: true });
    expect(p.facts?.criu.status).toBe('ok');
    expect(p.problems).toEqual([]);
  });

  it('beta-guest: a clear sudo finding, CRIU unknown rather than "missing"', async () => {
    const p = await facts('beta-guest');
    expect(p.facts?.sudo).toMatchObject({ needed: true, used: false, ok: false });
    expect(p.facts?.sudo.message).toContain('a password is required');
    expect(p.facts?.criu.status).toBe('unknown');
    expect(p.problems[0]).toMatchObject({ code: 'sudo-denied', severity: 'error', host: 'beta-guest' });
    expect(p.problems[0]?.message).toMatch(
      /beta-guest: user ferryguest cannot run sudo -n \(sudo: a password is required\)/,
    );
  });
});

describe('df and sizes', () => {
  it('parses POSIX df lines, whatever the filesystem name', () => {
    expect(parseDfLine('ferrylab-vartmp     1048576     0   1048576       0% /var/tmp')).toEqual({
      totalBytes: 1024 ** 3,
      usedBytes: 0,
      availBytes: 1024 ** 3,
    });
    expect(parseDfLine('/dev/mapper/vg-root on disk 100 40 60 40% /mnt/my disk')?.availBytes).toBe(60 * 1024);
    expect(parseDfLine('Filesystem 1024-blocks Used Available Capacity Mounted on')).toBeNull();
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.nat(), fc.nat(), (fs, t, u, a) => {
        const line = `${fs.replace(/\s/g, '') || 'x'} ${t} ${u} ${a} 5% /m`;
        expect(parseDfLine(line)).toEqual({
          totalBytes: t * 1024,
          usedBytes: u * 1024,
          availBytes: a * 1024,
        });
      }),
    );
  });

  it('parses podman (decimal) and docker (binary) sizes', () => {
    expect(parseSize('67.8MB')).toBe(67_800_000);
    expect(parseSize('245.8kB')).toBe(245_800);
    expect(parseSize('64.37MiB')).toBe(Math.round(64.37 * 1024 * 1024));
    expect(parseSize('0B')).toBe(0);
    expect(parseSize('12')).toBe(12);
    expect(parseSize('12 parsecs')).toBeNull();
    expect(parseUsage('64.61MiB / 23.54GiB')).toBe(Math.round(64.61 * 1024 * 1024));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.constantFrom('B', 'kB', 'MB', 'GB', 'KiB', 'MiB', 'GiB'),
        (n, u) => {
          const mult = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[u] ?? 1;
          expect(parseSize(`${n}${u}`)).toBe(Math.round(n * mult));
        },
      ),
    );
    fc.assert(fc.property(fc.string(), (s) => void parseSize(s)));
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
  });
});
