// One exec channel: what a command gives back (its output, its exit, a
// streaming process), the pid it reports so a cancelled command can be
// killed, its exit status recorded as soon as it arrives, and signals.
import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { shellQuoteArgv } from './quote.ts';

export interface ExecOptions {
  stdin?: string | Buffer | Readable;
  signal?: AbortSignal;
  /** safe to run again: after a lost connection it is retried once on a new one */
  idempotent?: boolean;
  /** kill the remote command and fail after this long */
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** cap on what is kept of each of stdout and stderr (default: the pool's); the command is killed past it */
  maxOutputBytes?: number;
  /**
   * what a cancelled command is killed through: the prefix it ran with (`sudo -n --`),
   * since the login cannot signal the root processes sudo started for it
   */
  killPrefix?: string[];
}

/** What exec keeps of each stream by default: a host that floods ferry must not exhaust its memory. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** A command as errors name it: its first words, never its arguments (they may hold secrets). */
export function commandName(command: string): string {
  const words = command
    .replace(/^exec\s+/, '')
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  return words.replace(/[^\w ./:=-]/g, '').slice(0, 40);
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
}

export interface RemoteProcess {
  stdout: Readable;
  stderr: Readable;
  stdin: NodeJS.WritableStream;
  /** settles when the remote command has exited and its channel closed */
  done: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: string): void;
}

const PID_MARK = '\x1eferry-pid:';

/**
 * Makes a command report its pid (its process group: sshd's session child is
 * a session leader, and exec keeps the pid) on stderr before it starts.
 */
export function reportPid(command: string): string {
  return `printf '\\036ferry-pid:%s\\n' "$$" >&2; exec /bin/sh -c ${shellQuoteArgv([command])}`;
}

/** Takes the pid line reportPid() writes off the front of stderr. */
export class PidTap {
  pid: number | undefined;
  private head = Buffer.alloc(0);
  private done = false;

  take(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    this.head = Buffer.concat([this.head, chunk]);
    const nl = this.head.indexOf(10);
    if (nl < 0 && this.head.length < 64) return Buffer.alloc(0);
    this.done = true;
    const line = this.head.subarray(0, Math.max(nl, 0)).toString('latin1');
    if (nl >= 0 && line.startsWith(PID_MARK)) {
      this.pid = Number(line.slice(PID_MARK.length));
      return this.head.subarray(nl + 1);
    }
    return this.head;
  }
}

interface ChannelTrack {
  exit: { code: number | null; signal: string | null };
  closed: boolean;
  onClose: (() => void)[];
}
const tracks = new WeakMap<ClientChannel, ChannelTrack>();

export function track(channel: ClientChannel): void {
  const t: ChannelTrack = { exit: { code: null, signal: null }, closed: false, onClose: [] };
  tracks.set(channel, t);
  channel.on('exit', (code: number | null, signal?: string) => {
    t.exit = { code: code ?? null, signal: signal ?? null };
  });
  channel.on('close', () => {
    t.closed = true;
    for (const f of t.onClose.splice(0)) f();
  });
}

export function whenClosed(channel: ClientChannel, f: () => void): void {
  const t = tracks.get(channel);
  if (!t) {
    channel.on('close', f);
    return;
  }
  if (t.closed) queueMicrotask(f);
  else t.onClose.push(f);
}

export function exitOf(channel: ClientChannel): { code: number | null; signal: string | null } {
  return tracks.get(channel)?.exit ?? { code: null, signal: null };
}

/** The internals ssh2 keeps behind ClientChannel.signal(). */
interface ChannelInternals {
  type?: string;
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Sends a "signal" request (OpenSSH delivers it with killpg to the session).
 * ssh2's channel.signal() does nothing once stdin is half-closed, which every
 * exec here does at once, although the protocol allows it; so this goes one
 * level down.
 */
export function sendSignal(channel: ClientChannel, name: string): void {
  const c = channel as unknown as ChannelInternals;
  const id = c.outgoing?.id;
  // 'eof' once stdin is half-closed: the channel itself is still open
  if (
    c.type !== 'session' ||
    id === undefined ||
    (c.outgoing?.state !== 'open' && c.outgoing?.state !== 'eof')
  )
    return;
  try {
    c._client?._protocol?.signal(id, name);
  } catch {
    // a server without signal support still ends the session when the channel closes
  }
}
