// Relay transfer: source -> ferry -> destination over the two SSH
// connections, for hosts that cannot reach each other. The stream is never
// written on the operator's disk; it is hashed on all three machines.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { excerpt } from '../runtime/exec.ts';
import { shellQuote } from '../ssh/quote.ts';
import {
  fallbackRate,
  type LinkRates,
  linkRateKey,
  type RateSample,
  type RememberedRate,
  rememberedRate,
  rememberRate,
  STEADY,
  steadyRate,
} from './link-rate.ts';
import type { HostSession } from './types.ts';

const ENDS_GRACE_MS = 15_000;
const STALL_MS = 5_000;

export class TransferError extends Error {
  override name = 'TransferError';
}

export interface RelayOptions {
  from: HostSession;
  to: HostSession;
  /** sh script writing the stream to stdout on the source */
  send: string;
  /** sh script reading the stream from stdin on the destination */
  receive: string;
  /** private temp dirs (0700) on each side, for the hash fifo and results */
  tmpFrom: string;
  tmpTo: string;
  zstd: boolean;
  signal?: AbortSignal;
  /**
   * ends the sending command's stdin when aborted: a `send` that reads its stdin
   * can end the stream early and cleanly (the link measurement, once steady)
   */
  endInput?: AbortSignal;
  /**
   * relay only: a promise to wait for before more bytes pass (after `bytes`),
   * or nothing. The stream is held meanwhile (the sender blocks; no stall).
   */
  hold?: (bytes: number) => Promise<unknown> | undefined;
  onProgress?: (bytes: number, rateBytesPerSec: number) => void;
}

export interface RelayResult {
  bytes: number;
  ms: number;
  /** first byte to last: the link's share, without process start-up */
  streamMs: number;
  sha256: string;
}

// sha256 through OpenSSL where there is one: it uses the CPU's SHA
// instructions, three times faster than coreutils here (0.07 s for 67 MB)
const HASH = "H=sha256sum; command -v openssl >/dev/null 2>&1 && H='openssl dgst -sha256 -r'";

// dash has no pipefail: the producer's status goes to a file
function sendScript(o: RelayOptions): string {
  const d = o.tmpFrom;
  return [
    'set -e',
    HASH,
    `rm -f ${d}/send.fifo ${d}/send.rc ${d}/send.sum`,
    `mkfifo ${d}/send.fifo`,
    `$H < ${d}/send.fifo > ${d}/send.sum &`,
    'h=$!',
    `{ set +e; ( ${o.send} ); echo $? > ${d}/send.rc; }${o.zstd ? ' | zstd -q -1 -T0 -c' : ''} | tee ${d}/send.fifo`,
    'wait $h',
    `rm -f ${d}/send.fifo`,
    `rc=$(cat ${d}/send.rc 2>/dev/null || echo 99)`,
    'exit $rc',
  ].join('\n');
}

function receiveScript(o: RelayOptions): string {
  const d = o.tmpTo;
  return [
    'set -e',
    HASH,
    `rm -f ${d}/recv.fifo ${d}/recv.sum`,
    `mkfifo ${d}/recv.fifo`,
    `$H < ${d}/recv.fifo > ${d}/recv.sum &`,
    'h=$!',
    'set +e',
    `tee ${d}/recv.fifo${o.zstd ? ' | zstd -q -d -c' : ''} | ( ${o.receive} )`,
    'rc=$?',
    'wait $h',
    `rm -f ${d}/recv.fifo`,
    'exit $rc',
  ].join('\n');
}

function endInputOn(signal: AbortSignal | undefined, p: { stdin: NodeJS.WritableStream }): void {
  if (!signal) return;
  if (signal.aborted) p.stdin.end();
  else signal.addEventListener('abort', () => p.stdin.end(), { once: true });
}

export async function relay(o: RelayOptions): Promise<RelayResult> {
  // the last line of defence: whatever wedges (a dead receiver whose channel
  // never drains, a spawn that never answers), a transfer that moves no byte
  // for STALL_MS fails, so the engine can roll back instead of waiting forever
  const progress: { bytes: number; flowEnded: boolean; held: boolean; kill: () => void } = {
    bytes: 0,
    flowEnded: false,
    held: false,
    kill: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let seen = -1;
    timer = setInterval(() => {
      if (progress.bytes === seen && !progress.flowEnded && !progress.held) {
        progress.kill();
        reject(
          new TransferError(
            `transfer ${o.from.host} -> ${o.to.host}: no data moved for ${STALL_MS / 1000} s`,
          ),
        );
      }
      seen = progress.bytes;
    }, STALL_MS);
  });
  try {
    return await Promise.race([relayInner(o, progress), stalled]);
  } finally {
    clearInterval(timer);
  }
}

async function relayInner(
  o: RelayOptions,
  progress: { bytes: number; flowEnded: boolean; held: boolean; kill: () => void },
): Promise<RelayResult> {
  const started = performance.now();
  const hash = createHash('sha256');
  let bytes = 0;
  let firstByteAt: number | undefined;
  let lastByteAt = started;
  let lastReport = started;
  let lastBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      const now = performance.now();
      firstByteAt ??= now;
      progress.bytes = bytes;
      lastByteAt = now;
      if (o.onProgress && now - lastReport >= 250) {
        o.onProgress(bytes, ((bytes - lastBytes) * 1000) / (now - lastReport));
        lastReport = now;
        lastBytes = bytes;
      }
      const wait = o.hold?.(bytes);
      if (!wait) return cb(null, chunk);
      progress.held = true;
      const go = (err?: unknown) => {
        progress.held = false;
        // the rate reported next is the stream's, not the pause's
        lastReport = performance.now();
        lastBytes = bytes;
        cb(err instanceof Error ? err : null, chunk);
      };
      wait.then(() => go(), go);
    },
  });
  const spawnOpts = o.signal ? { signal: o.signal } : {};
  const dst = await o.to.spawn(['sh', '-c', receiveScript(o)], spawnOpts);
  const dstErr: Buffer[] = [];
  dst.stderr.on('data', (d: Buffer) => dstErr.push(d));
  // a channel closes only once its stdout was read to the end
  dst.stdout.resume();
  let receiverEnded = false;
  const markEnded = () => {
    receiverEnded = true;
  };
  dst.done.then(markEnded, markEnded);
  const src = await o.from.spawn(['sh', '-c', sendScript(o)], spawnOpts);
  endInputOn(o.endInput, src);
  progress.kill = () => {
    src.kill('KILL');
    dst.kill('KILL');
  };
  const srcErr: Buffer[] = [];
  src.stderr.on('data', (d: Buffer) => srcErr.push(d));
  if (receiverEnded) {
    // it died before a byte was sent (no space, no directory, a killed tar):
    // say why rather than pipe into a closed channel
    src.kill('KILL');
    const exit = await dst.done.catch(() => ({ code: null, signal: null }));
    const text = excerpt(Buffer.concat(dstErr).toString('utf8'));
    throw new TransferError(
      `transfer ${o.from.host} -> ${o.to.host} failed before it started: receiving side ${o.to.host} exited ${exit.code ?? exit.signal ?? '?'}${text ? `: ${text}` : ''}`,
    );
  }

  // a failing side must not leave the other one waiting
  let flowing = true;
  // a receiver that dies mid-stream (no space, killed) can leave its channel
  // neither draining nor closing, and the pipeline waiting on it: its exit
  // alone ends the flow
  const receiverDied = new Promise<never>((_, reject) => {
    const gone = () => {
      if (flowing)
        reject(new TransferError(`the receiving side on ${o.to.host} ended before the stream did`));
    };
    dst.done.then(gone, gone);
  });
  const flow = Promise.race([pipeline(src.stdout, meter, dst.stdin), receiverDied])
    .catch((err: unknown) => {
      src.kill('KILL');
      dst.kill('KILL');
      meter.destroy();
      throw err;
    })
    .finally(() => {
      flowing = false;
    });

  const [flowResult] = await Promise.allSettled([flow]);
  progress.flowEnded = true;
  // a side whose stream was torn down may never send its close: wait less for it
  const graceMs = flowResult.status === 'rejected' ? 3_000 : ENDS_GRACE_MS;
  // once the bytes stop, both ends must report within a grace period; a
  // channel torn down mid-stream may never say goodbye
  const grace = <T>(p: Promise<T>, side: string) =>
    Promise.race([
      p,
      new Promise<T>((_, reject) =>
        setTimeout(
          () => reject(new Error(`${side} did not finish within ${graceMs / 1000} s after the stream ended`)),
          graceMs,
        ).unref(),
      ),
    ]);
  if (flowResult.status === 'rejected') {
    src.kill('KILL');
    dst.kill('KILL');
  }
  const [srcExit, dstExit] = await Promise.allSettled([
    grace(src.done, 'the sender'),
    grace(dst.done, 'the receiver'),
  ]);
  const ms = performance.now() - started;
  const why = (
    side: string,
    host: string,
    exit: PromiseSettledResult<{ code: number | null; signal: string | null }>,
    err: Buffer[],
  ) => {
    if (exit.status === 'rejected') return `${side} ${host}: ${String(exit.reason)}`;
    const { code, signal } = exit.value;
    if (code === 0) return undefined;
    const text = excerpt(Buffer.concat(err).toString('utf8'));
    return `${side} ${host} exited ${code ?? `on ${signal ?? 'a lost connection'}`}${text ? `: ${text}` : ''}`;
  };
  const problems = [
    why('sending side', o.from.host, srcExit, srcErr),
    why('receiving side', o.to.host, dstExit, dstErr),
  ].filter((p): p is string => p !== undefined);
  if (o.signal?.aborted) problems.unshift('cancelled');
  if (problems.length === 0 && flowResult.status === 'rejected')
    problems.push(`relay: ${String(flowResult.reason)}`);
  if (problems.length > 0)
    throw new TransferError(
      `transfer ${o.from.host} -> ${o.to.host} failed after ${bytes} bytes: ${problems.join('; ')}`,
    );

  const sha256 = hash.digest('hex');
  const [sent, received] = await Promise.all([
    o.from.exec(['cat', `${o.tmpFrom}/send.sum`]),
    o.to.exec(['cat', `${o.tmpTo}/recv.sum`]),
  ]);
  const srcSum = sent.stdout.split(/\s/)[0];
  const dstSum = received.stdout.split(/\s/)[0];
  if (srcSum !== sha256 || dstSum !== sha256) {
    throw new TransferError(
      `transfer ${o.from.host} -> ${o.to.host}: sha256 differs (source ${srcSum ?? '?'}, relay ${sha256}, destination ${dstSum ?? '?'})`,
    );
  }
  o.onProgress?.(bytes, (bytes * 1000) / Math.max(1, ms));
  return { bytes, ms, sha256, streamMs: lastByteAt - (firstByteAt ?? lastByteAt) };
}

/** How a source host reaches the destination itself, with its own ssh. */
export interface DirectRoute {
  /** user@address as the source connects to it */
  target: string;
  port: number;
  /** what connecting costs, measured by probeDirect: each stream pays it once */
  setupMs?: number;
}

// -T: a RequestTTY in the source's config must not turn the stream into a terminal
const directSsh = (r: DirectRoute) =>
  `ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -p ${r.port} ${shellQuote(r.target)}`;

/** Whether the source can reach the destination with its own ssh: the ms it took if so, else why not. */
export async function probeDirect(from: HostSession, route: DirectRoute): Promise<number | string> {
  const t = performance.now();
  const r = await from.exec(['sh', '-c', `${directSsh(route)} true`]);
  if (r.code === 0) return Math.round(performance.now() - t);
  return `${from.host} cannot ssh to ${route.target} -p ${route.port} by itself: ${excerpt(r.stderr || `exit ${r.code}`, 160)}`;
}

/**
 * Direct transfer: the source pipes the stream into its own ssh to the
 * destination; ferry only starts it, watches the byte count and compares the
 * sha256 of both ends. The stream crosses the network once, encrypted once.
 */
export async function direct(o: RelayOptions & { route: DirectRoute }): Promise<RelayResult> {
  const d = o.tmpFrom;
  const remote = `sh -c ${shellQuote(receiveScript(o))}`;
  const script = [
    'set -e',
    HASH,
    `rm -f ${d}/send.fifo ${d}/count.fifo ${d}/send.rc ${d}/send.sum ${d}/send.bytes`,
    `mkfifo ${d}/send.fifo ${d}/count.fifo`,
    `tee ${d}/count.fifo < ${d}/send.fifo | $H > ${d}/send.sum &`,
    'h=$!',
    `wc -c < ${d}/count.fifo > ${d}/send.bytes &`,
    `echo $! > ${d}/count.pid`,
    'set +e',
    `{ ( ${o.send} ); echo $? > ${d}/send.rc; }${o.zstd ? ' | zstd -q -1 -T0 -c' : ''} | tee ${d}/send.fifo | ${directSsh(o.route)} ${shellQuote(remote)}`,
    'ssh_rc=$?',
    'wait',
    `rm -f ${d}/send.fifo ${d}/count.fifo ${d}/count.pid`,
    `rc=$(cat ${d}/send.rc 2>/dev/null || echo 99)`,
    '[ "$rc" = 0 ] || exit $rc',
    'exit $ssh_rc',
  ].join('\n');
  const started = performance.now();
  const src = await o.from.spawn(['sh', '-c', script], o.signal ? { signal: o.signal } : {});
  endInputOn(o.endInput, src);
  const err: Buffer[] = [];
  src.stderr.on('data', (b: Buffer) => err.push(b));
  src.stdout.resume();
  let bytes = 0;
  let firstByteAt: number | undefined;
  let stalled: string | undefined;
  let ended = false;
  let wake = () => {};
  const poll = (async () => {
    let lastChange = performance.now();
    while (!ended) {
      // the end of the stream cuts the wait short
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 250);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (ended) break;
      const r = await o.from
        .exec(['sh', '-c', `sed -n 's/^rchar: //p' /proc/$(cat ${d}/count.pid 2>/dev/null)/io 2>/dev/null`])
        .catch(() => undefined);
      const now = performance.now();
      const n = Number(r?.stdout.trim() || Number.NaN);
      if (Number.isFinite(n) && n > bytes) {
        firstByteAt ??= now;
        lastChange = now;
        bytes = n;
        o.onProgress?.(bytes, (bytes * 1000) / Math.max(1, now - (firstByteAt ?? now)));
      } else if (firstByteAt !== undefined && now - lastChange > STALL_MS && !ended) {
        // only once bytes were seen to move: before that, ssh may still be
        // connecting, or /proc may not be readable (then ssh's own
        // ServerAliveInterval ends a dead link)
        stalled = `transfer ${o.from.host} -> ${o.to.host}: no data moved for ${STALL_MS / 1000} s`;
        src.kill('KILL');
        break;
      }
    }
  })();
  const exit = await src.done.catch((e: unknown) => ({ code: null, signal: String(e) }));
  ended = true;
  wake();
  await poll;
  const ms = performance.now() - started;
  if (stalled) throw new TransferError(stalled);
  if (exit.code !== 0) {
    const text = excerpt(Buffer.concat(err).toString('utf8'));
    throw new TransferError(
      `direct transfer ${o.from.host} -> ${o.to.host} (${o.route.target}) failed: exit ${exit.code ?? exit.signal ?? '?'}${text ? `: ${text}` : ''}`,
    );
  }
  const [sent, count, received] = await Promise.all([
    o.from.exec(['cat', `${d}/send.sum`]),
    o.from.exec(['cat', `${d}/send.bytes`]),
    o.to.exec(['cat', `${o.tmpTo}/recv.sum`]),
  ]);
  const srcSum = sent.stdout.split(/\s/)[0] ?? '';
  const dstSum = received.stdout.split(/\s/)[0] ?? '';
  if (!srcSum || srcSum !== dstSum)
    throw new TransferError(
      `transfer ${o.from.host} -> ${o.to.host}: sha256 differs (source ${srcSum || '?'}, destination ${dstSum || '?'})`,
    );
  bytes = Number(count.stdout.trim()) || bytes;
  o.onProgress?.(bytes, (bytes * 1000) / Math.max(1, ms));
  // the link's share: the whole time but the ssh connection setup
  return { bytes, ms, sha256: srcSum, streamMs: Math.max(1, ms - (o.route.setupMs ?? 0)) };
}

/** Links slower than this get zstd when compression is auto (bytes/s: 160 Mbit/s). The relay itself is
 * CPU-bound near 50-80 MB/s on a 2-core operator machine, where zstd only adds CPU work. */
export const COMPRESS_BELOW = 20_000_000;

export interface LinkMeasure {
  /** the link's steady rate: measured warm, or remembered from an earlier transfer */
  bytesPerSec: number;
  /** whether streams on this link are compressed */
  zstd: boolean;
  /** measured now (bytes streamed), or remembered (a transfer's or an earlier estimate's) */
  source?: { kind: 'measured'; bytes: number; ms: number; steady: boolean } | RememberedRate;
}

/** Bounds of one measurement: it stops earlier once a steady window is seen. */
export const LINK_SAMPLE = { maxBytes: 2 * 1024 * 1024 * 1024, maxMs: 4000 };

/**
 * The link's steady rate and the compression that follows from it. A rate
 * remembered for this link (an earlier transfer's, or an estimate of the last
 * REMEMBER_MS) stands in; otherwise zeros stream through a new channel until
 * its rate holds steady over consecutive windows after the warm-up (bounded by
 * LINK_SAMPLE), and that rate is remembered.
 *
 * `quiet`: other work (the plan's probes) shares the CPU until it settles.
 * The stream sets up and warms up meanwhile, then (relayed) waits for it
 * without streaming; its rate is read only from windows after it. A stream
 * (direct) still busy at twice its time bound stops, and the link is
 * measured again once it is quiet. `stop`: the rate is no longer
 * wanted; the stream ends now, cleanly, and the measurement rejects.
 */
export async function measureLink(
  from: HostSession,
  to: HostSession,
  compress: 'auto' | 'none' | 'zstd',
  route?: DirectRoute,
  o: { rates?: LinkRates; bounds?: typeof LINK_SAMPLE; quiet?: Promise<unknown>; stop?: AbortSignal } = {},
): Promise<LinkMeasure> {
  const zstdFor = (bytesPerSec: number) =>
    compress === 'auto' ? bytesPerSec < COMPRESS_BELOW : compress === 'zstd';
  const key = linkRateKey(from.host, to.host, route ? 'direct' : 'relay');
  const known = rememberedRate(key, Date.now(), o.rates);
  if (known) return { bytesPerSec: known.bytesPerSec, zstd: zstdFor(known.bytesPerSec), source: known };
  const bounds = o.bounds ?? LINK_SAMPLE;
  const stopped = () => new TransferError(`link ${from.host} -> ${to.host}: its measurement was stopped`);
  if (o.stop?.aborted) throw stopped();
  const mk = ['mktemp', '-d', '/tmp/ferry.XXXXXXXX'];
  const [a, b] = await Promise.all([from.exec(mk), to.exec(mk)]);
  const tmpFrom = a.stdout.trim();
  const tmpTo = b.stdout.trim();
  if (a.code !== 0 || b.code !== 0 || !tmpFrom || !tmpTo)
    throw new TransferError(
      `cannot create a temp dir on ${a.code !== 0 ? from.host : to.host}: ${excerpt(a.code !== 0 ? a.stderr : b.stderr)}`,
    );
  const samples: RateSample[] = [];
  const enough = new AbortController();
  let steady: number | null = null;
  let t0: number | undefined;
  // ms after the first byte from which the CPU is the stream's own (0: from the start)
  let quietMs: number | undefined = o.quiet ? undefined : 0;
  const settled = () => {
    quietMs ??= t0 === undefined ? 0 : performance.now() - t0;
  };
  o.quiet?.then(settled, settled);
  const stopNow = () => enough.abort();
  o.stop?.addEventListener('abort', stopNow, { once: true });
  try {
    const relayOptions: RelayOptions = {
      from,
      to,
      // zeros until ferry ends this stdin: the rate is steady, or maxMs or maxBytes passed
      send: `head -c ${bounds.maxBytes} /dev/zero & p=$!; cat >/dev/null; kill $p 2>/dev/null; exit 0`,
      receive: 'cat >/dev/null',
      tmpFrom,
      tmpTo,
      zstd: false,
      endInput: enough.signal,
      // warm (the channel open, its window grown, the warm-up over): held until
      // the other work is done, burning no CPU that it needs
      hold: () =>
        quietMs === undefined && t0 !== undefined && performance.now() - t0 >= STEADY.warmupMs
          ? o.quiet
          : undefined,
      onProgress: (bytes) => {
        const now = performance.now();
        t0 ??= now;
        samples.push({ ms: now - t0, bytes });
        if (quietMs !== undefined) steady ??= steadyRate(samples, STEADY, quietMs);
        const quietFor = quietMs === undefined ? 0 : now - t0 - quietMs;
        if (
          steady !== null ||
          quietFor > bounds.maxMs ||
          now - t0 > 2 * bounds.maxMs ||
          bytes >= bounds.maxBytes / 2
        )
          enough.abort();
      },
    };
    const r = route ? await direct({ ...relayOptions, route }) : await relay(relayOptions);
    // the stream's end: it was asked to stop (steady, or maxMs), or it reached maxBytes
    if (t0 !== undefined && !enough.signal.aborted)
      samples.push({ ms: performance.now() - t0, bytes: r.bytes });
    const last = samples.at(-1);
    if (o.stop?.aborted) throw stopped();
    // busy all along, nothing here is the link's own rate: measured again below
    if (quietMs !== undefined) {
      const bytesPerSec = Math.round(
        steady ?? steadyRate(samples, STEADY, quietMs) ?? fallbackRate(samples, STEADY, quietMs),
      );
      if (!last || !(bytesPerSec > 0))
        throw new TransferError(`link ${from.host} -> ${to.host}: no data moved while measuring it`);
      rememberRate(key, { kind: 'estimate', bytesPerSec, at: Date.now(), bytes: last.bytes }, o.rates);
      return {
        bytesPerSec,
        zstd: zstdFor(bytesPerSec),
        source: { kind: 'measured', bytes: last.bytes, ms: Math.round(last.ms), steady: steady !== null },
      };
    }
  } finally {
    o.stop?.removeEventListener('abort', stopNow);
    await Promise.all([from.exec(['rm', '-rf', tmpFrom]), to.exec(['rm', '-rf', tmpTo])]);
  }
  await o.quiet?.catch(() => undefined);
  const { quiet: _, ...alone } = o;
  return measureLink(from, to, compress, route, alone);
}
