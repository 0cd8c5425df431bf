// The relay transfer against scripted hosts: a sender that emits bytes and a
// receiver that hashes what arrives, each answering for its own sha256 as the
// real send and receive scripts do; the relay in between is ferry's own.
import { describe, expect, it } from 'vitest';
import { relay, TransferError } from '../../../src/migrate/transfer.ts';
import { ok, ScriptedSession } from '../../support/scripted-session.ts';

const ends = () => ({ alpha: new ScriptedSession('alpha'), beta: new ScriptedSession('beta') });
const options = (alpha: ScriptedSession, beta: ScriptedSession) => ({
  from: alpha,
  to: beta,
  send: 'tar -C /var/tmp/ck -cf - .',
  receive: 'tar -C /var/tmp/in -xf -',
  tmpFrom: '/tmp/ferry.src/s1',
  tmpTo: '/tmp/ferry.dst/s1',
  zstd: false,
});

describe('the relay, between scripted hosts', () => {
  it('passes every byte through unchanged and checks the three hashes', async () => {
    const { alpha, beta } = ends();
    alpha.streamBytes = 3 * 1024 * 1024 + 17;
    const progress: number[] = [];
    const r = await relay({ ...options(alpha, beta), onProgress: (b) => progress.push(b) });
    expect(r.bytes).toBe(alpha.streamBytes);
    expect(beta.received.get('/tmp/ferry.dst/s1')?.length).toBe(alpha.streamBytes);
    expect(progress.at(-1)).toBe(alpha.streamBytes);
    // the sender's script on alpha, the receiver's on beta, then each side's hash
    expect(alpha.calls[0]).toMatch(/^sh -c set -e\n.*\nrm -f \/tmp\/ferry\.src\/s1\/send\.fifo/s);
    expect(alpha.calls[0]).toContain('( tar -C /var/tmp/ck -cf - . )');
    expect(beta.calls[0]).toContain('| ( tar -C /var/tmp/in -xf - )');
    expect(alpha.calls.at(-1)).toBe('cat /tmp/ferry.src/s1/send.sum');
    expect(beta.calls.at(-1)).toBe('cat /tmp/ferry.dst/s1/recv.sum');
    expect(alpha.unscripted).toEqual([]);
    expect(beta.unscripted).toEqual([]);
  });

  it("compression is the scripts' business: zstd on both ends of the pipe", async () => {
    const { alpha, beta } = ends();
    await relay({ ...options(alpha, beta), zstd: true });
    expect(alpha.calls[0]).toContain('| zstd -q -1 -T0 -c | tee /tmp/ferry.src/s1/send.fifo');
    expect(beta.calls[0]).toContain('tee /tmp/ferry.dst/s1/recv.fifo | zstd -q -d -c |');
  });

  it('a destination whose hash differs fails the transfer, naming all three', async () => {
    const { alpha, beta } = ends();
    beta.on(/recv\.sum$/, ok(`${'0'.repeat(64)} *stdin\n`));
    const err = await relay(options(alpha, beta)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `alpha -> beta: sha256 differs \\(source [0-9a-f]{64}, relay [0-9a-f]{64}, destination ${'0'.repeat(64)}\\)`,
      ),
    );
  });

  it("a receiver that dies before the first byte: the sender is stopped and the receiver's words are given", async () => {
    const { alpha, beta } = ends();
    beta.receiveFails = { code: 1, stderr: 'tar: /var/tmp/in: Cannot open: No space left on device' };
    await expect(relay(options(alpha, beta))).rejects.toThrow(
      /alpha -> beta failed before it started: receiving side beta exited 1: tar: \/var\/tmp\/in: Cannot open: No space left on device/,
    );
  });

  it('a sender that fails after its bytes (tar read error) fails the transfer with its exit and stderr', async () => {
    const { alpha, beta } = ends();
    alpha.sendExit = { code: 2, stderr: 'tar: ./pages-1.img: file changed as we read it' };
    await expect(relay(options(alpha, beta))).rejects.toThrow(
      /failed after 262144 bytes: sending side alpha exited 2: tar: \.\/pages-1\.img: file changed as we read it/,
    );
  });
});
