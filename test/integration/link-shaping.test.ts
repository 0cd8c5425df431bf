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

/** alpha's qdiscs: on its side of the link and on the bridge's. */
async function qdiscs(): Promise<string> {
  const inside = await lab(['exec', 'alpha', '--', 'tc', 'qdisc', 'show', 'dev', 'eth0']);
  const outside = await execa('tc', ['qdisc', 'show', 'dev', 'fl-alpha'], { reject: false });
  return `${inside.stdout}\n${outside.stdout}`;
}

describe.skipIf(SKIP_LAB)('lab link shaping', () => {
  afterAll(async () => {
    await lab(['rate', 'alpha', 'none']);
  });

  // behaviour, not speed: the qdisc is there with the rate asked for, and a
  // transfer cannot beat it (a busy machine only makes it slower); lifted,
  // the qdisc is gone. How fast the open link is belongs to the bench.
  it('limits a host link with tc tbf and lifts the limit again', async () => {
    const bytes = 12_500_000; // 100 Mbit
    const set = await lab(['rate', 'alpha', '40mbit']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(await qdiscs()).toMatch(/tbf .*rate 40Mbit/);
    // 100 Mbit through a 40 Mbit/s bucket of ~50 KB takes at least 2.4 s
    expect(await pullSeconds(bytes)).toBeGreaterThan(1.8);
    const cleared = await lab(['rate', 'alpha', 'none']);
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    expect(await qdiscs()).not.toMatch(/tbf/);
    await pullSeconds(bytes);
  });

  it('rejects a rate it does not understand, naming it', async () => {
    const r = await lab(['rate', 'alpha', 'fast']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("rate 'fast' not understood");
  });
});
