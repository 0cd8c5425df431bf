// One SSH connection per host, reused: jump chains through forwardOut, and a
// channel cap with a queue so that a server's MaxSessions makes callers wait
// rather than fail. How a connection is made is in transport.ts (and auth.ts),
// what one channel gives back in channel.ts.
import { PassThrough } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { errorText } from '../text/error.ts';
import {
  commandName,
  type ExecOptions,
  type ExecResult,
  exitOf,
  MAX_OUTPUT_BYTES,
  PidTap,
  type RemoteProcess,
  reportPid,
  sendSignal,
  track,
  whenClosed,
} from './channel.ts';
import { isConnectionLoss, SshError } from './errors.ts';
import { shellQuoteArgv } from './quote.ts';
import type { HostResolver, HostSettings, Prompter } from './settings.ts';
import { handshake, type SshClient, transport } from './transport.ts';

export interface PoolOptions {
  resolve: HostResolver;
  /** like ssh -J: every host is reached through these, replacing its own ProxyJump; the hops use their own config */
  jump?: string[];
  prompter?: Prompter;
  /** channels per connection before callers queue; OpenSSH's MaxSessions default */
  maxChannels?: number;
  /** used when the config sets no ServerAliveInterval, so dead links are noticed */
  defaultKeepaliveSec?: number;
  /** used when the config sets no ConnectTimeout */
  defaultConnectTimeoutSec?: number;
  /** cap on each of an exec's stdout and stderr; MAX_OUTPUT_BYTES by default */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
  debug?: (host: string, message: string) => void;
}

interface Live {
  key: string;
  settings: HostSettings;
  client: SshClient;
  cap: number;
  active: number;
  waiting: (() => void)[];
  closed: boolean;
  closeReason: string | undefined;
  onClose: Set<(reason: string) => void>;
}

export class SshPool {
  private readonly live = new Map<string, Live>();
  private readonly pending = new Map<string, Promise<Live>>();
  private readonly opts: Required<
    Pick<PoolOptions, 'maxChannels' | 'defaultKeepaliveSec' | 'defaultConnectTimeoutSec'>
  > &
    PoolOptions;

  constructor(opts: PoolOptions) {
    this.opts = { maxChannels: 10, defaultKeepaliveSec: 10, defaultConnectTimeoutSec: 15, ...opts };
  }

  /** How host resolves from the config (address, port, user, jumps): no connection is made. */
  settingsOf(host: string): Promise<HostSettings> {
    return this.opts.resolve(host);
  }

  /** Runs argv on host (quoted for the remote shell) and collects its output. */
  async exec(host: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.execCommand(host, shellQuoteArgv(argv), opts);
  }

  /** Runs a shell command line on host as given. Callers quote with shellQuoteArgv. */
  async execCommand(host: string, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    try {
      return await this.execOnce(host, command, opts);
    } catch (err) {
      if (!opts.idempotent || !isConnectionLoss(err) || opts.signal?.aborted) throw err;
      this.opts.debug?.(host, `retrying after: ${(err as Error).message}`);
      return this.execOnce(host, command, opts);
    }
  }

  /** Starts a command with streaming stdin/stdout/stderr, for archives. */
  async spawn(
    host: string,
    argv: string[],
    opts: { signal?: AbortSignal; killPrefix?: string[] } = {},
  ): Promise<RemoteProcess> {
    const live = await this.connection(host);
    const channel = await this.openExec(live, reportPid(shellQuoteArgv(argv)));
    const pidTap = new PidTap();
    const stderr = new PassThrough();
    channel.stderr.on('data', (raw: Buffer) => {
      const d = pidTap.take(raw);
      if (d.length > 0) stderr.write(d);
    });
    channel.stderr.on('end', () => stderr.end());
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      const lost = (reason: string) =>
        reject(new SshError('CONNECTION_LOST', host, `connection lost: ${reason}`));
      live.onClose.add(lost);
      whenClosed(channel, () => {
        live.onClose.delete(lost);
        this.release(live);
        resolve(exitOf(channel));
      });
    });
    // callers that never await `done` must not crash the process when the link drops
    done.catch(() => undefined);
    const kill = (signal = 'TERM') => {
      sendSignal(channel, signal);
      this.killRemote(host, pidTap.pid, signal, opts.killPrefix);
      // ssh2 emits a channel's close (so `done`, and its slot back) only once
      // its stdout was read to the end: what a killed command still prints is not wanted
      channel.resume();
      channel.close();
    };
    opts.signal?.addEventListener('abort', () => kill('KILL'), { once: true });
    return { stdout: channel, stderr, stdin: channel, done, kill };
  }

  /**
   * Kills a cancelled command's process group on its own channel: OpenSSH
   * ignores signal requests in sessions without privilege separation (root
   * logins), and closing a channel does not end a command that has no pty.
   */
  private killRemote(host: string, pid: number | undefined, signal = 'KILL', prefix: string[] = []): void {
    if (pid === undefined || !Number.isSafeInteger(pid) || pid <= 1) return;
    const sig = /^[A-Z0-9]+$/.test(signal) ? signal : 'KILL';
    // `-s SIG --`: dash (a /bin/sh login, sudo's sh) reads `kill -KILL -- -PID` as bad options
    const kill = `kill -s ${sig} -- -${pid} 2>/dev/null || kill -s ${sig} ${pid} 2>/dev/null; true`;
    // the group holds the commands sudo started as root: only root may signal them
    this.execCommand(host, prefix.length > 0 ? shellQuoteArgv([...prefix, 'sh', '-c', kill]) : kill).catch(
      () => {
        // best effort: the connection may be the thing that failed
      },
    );
  }

  /** The live connection to host, connecting (and through its jumps) if needed. */
  async connection(host: string): Promise<Live> {
    return this.connectVia(host, this.opts.jump?.length ? this.opts.jump : undefined, []);
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    for (const live of this.live.values()) live.client.end();
    this.live.clear();
  }

  /** Hosts with an open connection, for status displays. */
  connectedHosts(): string[] {
    return [...this.live.values()].filter((l) => !l.closed).map((l) => l.key);
  }

  private async execOnce(host: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    if (opts.signal?.aborted) throw new SshError('ABORTED', host, 'cancelled before it started');
    const live = await this.connection(host);
    const cancelable = opts.signal !== undefined || opts.timeoutMs !== undefined;
    const channel = await this.openExec(live, cancelable ? reportPid(command) : command);
    const pidTap = new PidTap();
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const cap = opts.maxOutputBytes ?? this.opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
      const size = { out: 0, err: 0 };
      const keep = (stream: 'out' | 'err', d: Buffer) => {
        size[stream] += d.length;
        if (size[stream] > cap) {
          stop();
          finish(
            new SshError(
              'OUTPUT_LIMIT',
              host,
              `'${commandName(command)}' wrote more than ${Math.round(cap / 1024)} KiB to ${stream === 'out' ? 'stdout' : 'stderr'}: stopped`,
            ),
          );
          return;
        }
        (stream === 'out' ? out : err).push(d);
      };
      let code: number | null = null;
      let signal: string | null = null;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (e?: Error) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        live.onClose.delete(lost);
        opts.signal?.removeEventListener('abort', abort);
        if (e) reject(e);
        else
          resolve({
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
            code,
            signal,
          });
      };
      const stop = () => {
        sendSignal(channel, 'KILL');
        this.killRemote(host, pidTap.pid, 'KILL', opts.killPrefix);
        channel.close();
      };
      const abort = () => {
        stop();
        finish(new SshError('ABORTED', host, `cancelled: ${commandName(command)}`));
      };
      const lost = (reason: string) =>
        finish(
          new SshError(
            'CONNECTION_LOST',
            host,
            `connection lost while running '${commandName(command)}': ${reason}`,
          ),
        );
      live.onClose.add(lost);
      opts.signal?.addEventListener('abort', abort, { once: true });
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          stop();
          finish(
            new SshError(
              'TIMEOUT',
              host,
              `'${commandName(command)}' did not finish within ${opts.timeoutMs} ms`,
            ),
          );
        }, opts.timeoutMs);
      }
      channel.on('data', (d: Buffer) => {
        if (settled) return;
        keep('out', d);
        opts.onStdout?.(d);
      });
      channel.stderr.on('data', (raw: Buffer) => {
        const d = cancelable ? pidTap.take(raw) : raw;
        if (d.length === 0 || settled) return;
        keep('err', d);
        opts.onStderr?.(d);
      });
      whenClosed(channel, () => {
        ({ code, signal } = exitOf(channel));
        this.release(live);
        finish();
      });
      const stdin = opts.stdin;
      if (stdin === undefined) channel.end();
      else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
      else stdin.pipe(channel);
    });
  }

  /** Waits for a channel slot, then opens an exec channel; learns the server's limit. */
  private async openExec(live: Live, command: string): Promise<ClientChannel> {
    for (;;) {
      await this.acquire(live);
      try {
        return await new Promise<ClientChannel>((resolve, reject) => {
          live.client.exec(command, (err, channel) => {
            if (err) return reject(err);
            // exit-status and close can arrive in the same packet burst as the
            // exec reply, before the caller's continuation runs: record them now
            track(channel);
            resolve(channel);
          });
        });
      } catch (err) {
        this.release(live);
        if (live.closed)
          throw new SshError('CONNECTION_LOST', live.key, `connection lost: ${live.closeReason ?? 'closed'}`);
        const message = errorText(err);
        // sshd refuses sessions past MaxSessions: remember the limit and queue
        if (/open failed|prohibited|administratively/i.test(message) && live.active > 0) {
          live.cap = Math.max(1, live.active);
          this.opts.debug?.(
            live.key,
            `server refused a channel at ${live.active + 1}; capping at ${live.cap}`,
          );
          continue;
        }
        throw new SshError('CHANNEL', live.key, `could not open a session channel: ${message}`);
      }
    }
  }

  private acquire(live: Live): Promise<void> {
    if (live.closed) {
      return Promise.reject(
        new SshError('CONNECTION_LOST', live.key, `connection lost: ${live.closeReason ?? 'closed'}`),
      );
    }
    if (live.active < live.cap) {
      live.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      live.waiting.push(() => {
        live.active++;
        resolve();
      }),
    );
  }

  private release(live: Live): void {
    live.active = Math.max(0, live.active - 1);
    while (live.active < live.cap && live.waiting.length > 0) live.waiting.shift()?.();
  }

  /**
   * Connects to spec, through `jumps` when given (a ProxyJump list that
   * overrides the host's own), else through the host's own ProxyJump.
   * `path` is the chain of keys being built, for cycle detection.
   */
  private async connectVia(spec: string, jumps: string[] | undefined, path: string[]): Promise<Live> {
    const key = jumps && jumps.length > 0 ? `${jumps.join(',')}>${spec}` : spec;
    if (path.includes(key) || path.includes(spec)) {
      throw new SshError('JUMP_CYCLE', path[0] ?? spec, `ProxyJump cycle: ${[...path, spec].join(' -> ')}`);
    }
    const existing = this.live.get(key);
    if (existing && !existing.closed) return existing;
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = this.establish(spec, key, jumps, [...path, key]).finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private async establish(
    spec: string,
    key: string,
    jumpOverride: string[] | undefined,
    path: string[],
  ): Promise<Live> {
    const settings = await this.opts.resolve(spec);
    const jumps = jumpOverride ?? settings.proxyJump;
    const attempts = Math.max(1, settings.connectionAttempts);
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        const sock = await transport(
          settings,
          jumps,
          this.opts,
          async (jump, before) => (await this.connectVia(jump, before, path)).client,
        );
        const client = await handshake(settings, sock, this.opts);
        const live: Live = {
          key,
          settings,
          client,
          cap: this.opts.maxChannels,
          active: 0,
          waiting: [],
          closed: false,
          closeReason: undefined,
          onClose: new Set(),
        };
        const markClosed = (reason: string) => {
          if (live.closed) return;
          live.closed = true;
          live.closeReason = reason;
          if (this.live.get(key) === live) this.live.delete(key);
          for (const cb of [...live.onClose]) cb(reason);
          live.onClose.clear();
          // wake queued callers so they fail instead of waiting forever
          for (const w of live.waiting.splice(0)) w();
        };
        client.on('error', (e: Error) => markClosed(e.message));
        client.on('close', () => markClosed('closed by the server or the network'));
        client.on('end', () => markClosed('ended'));
        this.live.set(key, live);
        return live;
      } catch (err) {
        lastErr = err;
        // only transport failures are worth another attempt, as in ssh
        if (!isConnectionLoss(err)) throw err;
      }
    }
    throw lastErr;
  }
}
