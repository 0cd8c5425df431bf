import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { lab, SKIP_LAB, SSH_CONFIG } from '../support/lab.ts';

// Time to pull `bytes` from alpha over its link, measured from the operator.
async function pullSeconds(bytes: number): Promise<number> {
  const t = performance.now();
  const r = await execa(
    'ssh',
    ['-F', SSH_CONFIG, '-o', 'Compression=no', 'alpha', `head -c ${bytes} /dev/zero`],
    {
      encoding: 'buffer',
    },
  );
  expect(r.stdout.length).toBe(bytes);
  return (performance.now() - t) / 1000;
}

describe.skipIf(SKIP_LAB)('lab link shaping', () => {
  afterAll(async () => {
    await lab(['rate', 'alpha', 'none']);
  });

  it('limits a host link with tc tbf and lifts the limit again', async () => {
    const bytes = 12_500_000; // 100 Mbit
    const set = await lab(['rate', 'alpha', '40mbit']);
    expect(set.exitCode, set.stderr).toBe(0);
    const shaped = await pullSeconds(bytes);
    // 100 Mbit over a 40 Mbit/s link needs 2.5 s; allow slack either way
    expect(shaped).toBeGreaterThan(1.8);
    const cleared = await lab(['rate', 'alpha', 'none']);
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    const open = await pullSeconds(bytes);
    expect(open).toBeLessThan(shaped / 2);
  });

  it('rejects a rate it does not understand, naming it', async () => {
    const r = await lab(['rate', 'alpha', 'fast']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("rate 'fast' not understood");
  });
});
