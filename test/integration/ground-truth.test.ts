// The baseline ferry has to beat: a cross-host migration done with plain
// commands. podman checkpoint --export on alpha, copy over ssh, restore
// --import on beta, one container after the other.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  continuityProblems,
  freshStatus,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  sshOk,
  waitStatus,
  workloadStatus,
} from '../support/lab.ts';

const IMAGE = 'localhost/ferry-workload:latest';
const PAIR = [
  { name: 'gt-sink', run: `-e IN_PORT=7302 -e TRANSFORMS=0 ${IMAGE} sink` },
  { name: 'gt-producer', run: `-e OUT_PORT=7302 ${IMAGE} producer` },
];
const BALLAST_MB = 64;

async function cleanup() {
  for (const h of ['alpha', 'beta']) {
    await ssh(h, `podman rm -f -t 0 ${PAIR.map((c) => c.name).join(' ')}; rm -f /tmp/gt-*.tar`);
  }
}

describe.skipIf(SKIP_LAB)('ground truth: plain podman export/import between lab hosts', () => {
  beforeAll(async () => {
    await cleanup();
    for (const c of PAIR) {
      await sshOk(
        'alpha',
        `podman run -d --name ${c.name} --network host -e BALLAST_MB=${BALLAST_MB} ${c.run}`,
      );
    }
  });
  afterAll(cleanup);

  it('moves a producer/sink pair alpha -> beta with memory, counters and items intact', async () => {
    await waitStatus('alpha', 'podman', 'gt-sink', (s) => s.accepted > 20);
    const before = new Map<string, Awaited<ReturnType<typeof workloadStatus>>>();
    const stages: Record<
      string,
      { checkpointMs: number; transferMs: number; restoreMs: number; bytes: number }
    > = {};

    for (const { name } of [...PAIR].reverse()) {
      before.set(name, await workloadStatus('alpha', 'podman', name));
      const archive = `/tmp/gt-${name}.tar`;

      let t = performance.now();
      await sshOk('alpha', `podman container checkpoint --export ${archive} ${name}`);
      const checkpointMs = performance.now() - t;

      t = performance.now();
      const send = execa('ssh', ['-F', SSH_CONFIG, 'alpha', `cat ${archive}`], { buffer: false });
      const recv = send.pipe('ssh', ['-F', SSH_CONFIG, 'beta', `cat > ${archive}`]);
      await recv;
      const transferMs = performance.now() - t;
      const [srcSum, dstSum] = await Promise.all([
        sshOk('alpha', `sha256sum ${archive}`),
        sshOk('beta', `sha256sum ${archive}`),
      ]);
      expect(dstSum.split(' ')[0]).toBe(srcSum.split(' ')[0]);
      const bytes = Number((await sshOk('beta', `stat -c %s ${archive}`)).trim());

      t = performance.now();
      await sshOk('beta', `podman container restore --import ${archive}`);
      const restoreMs = performance.now() - t;
      stages[name] = { checkpointMs, transferMs, restoreMs, bytes };

      // verified running on beta before the source copy goes
      expect((await sshOk('beta', `podman inspect --format '{{.State.Status}}' ${name}`)).trim()).toBe(
        'running',
      );
      await sshOk('alpha', `podman rm -f ${name}`);
    }

    const restoredAt = Date.now();
    for (const { name } of PAIR) {
      const after = await freshStatus('beta', 'podman', name, restoredAt);
      const b = before.get(name);
      if (!b) throw new Error(`no status before for ${name}`);
      expect(continuityProblems(b, after), name).toEqual([]);
    }
    const sinkBefore = before.get('gt-sink');
    if (!sinkBefore) throw new Error('no sink status');
    // items resume on beta: none lost, none delivered twice
    const sinkAfter = await waitStatus(
      'beta',
      'podman',
      'gt-sink',
      (s) => s.accepted > sinkBefore.accepted + 20,
    );
    expect(sinkAfter.lastSeq).toBe(sinkAfter.accepted);
    expect(sinkAfter.upstreamRestarts).toBe(0);
    const producer = await workloadStatus('beta', 'podman', 'gt-producer');
    expect(producer.acked).toBeGreaterThanOrEqual(sinkBefore.accepted);

    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    for (const [name, s] of Object.entries(stages)) {
      console.log(
        `ground truth ${name} (${BALLAST_MB} MB ballast, ${(s.bytes / 1e6).toFixed(1)} MB archive): checkpoint --export ${fmt(s.checkpointMs)}, transfer ${fmt(s.transferMs)}, restore --import ${fmt(s.restoreMs)}`,
      );
    }
  });
});
