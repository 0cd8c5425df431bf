// One SSH connection per host, reused: jump chains through forwardOut,
// ProxyCommand as a transport, OpenSSH's authentication order, strict host
// key checking on every hop, and a channel cap with a queue so that a
// server's MaxSessions makes callers wait rather than fail.
import { spawn as spawnProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import { Duplex, PassThrough, type Readable } from 'node:stream';
import type { AnyAuthMethod, AuthenticationType, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';
import { errorText } from '../text/error.ts';
import { isConnectionLoss, SshError } from './errors.ts';
import {
  addKnownHost,
  blobKeyType,
  checkHostKey,
  hostKeyQuery,
  knownHostsFiles,
  knownKeyTypes,
  sha256Fingerprint,
} from './known-hosts.ts';
import { shellQuoteArgv } from './quote.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** What the connection layer needs to know of a host, as `ssh -G` resolves it. */
export interface HostSettings {
  /** the name the user gave: an alias, or user@host:port of a jump */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** jump hosts in order, as written in ProxyJump; empty for none */
  proxyJump: string[];
  proxyCommand: string | undefined;
  connectTimeoutSec: number | undefined;
  serverAliveIntervalSec: number;
  serverAliveCountMax: number;
  connectionAttempts: number;
  strictHostKeyChecking: 'yes' | 'no' | 'ask' | 'accept-new' | 'off';
  hostKeyAlias: string | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hashKnownHosts: boolean;
  batchMode: boolean;
}

/** Resolves a host the way ssh would, including a jump spec like user@host:port. */
export type HostResolver = (spec: string) => Promise<HostSettings>;

/** Questions only an interactive session can answer. Absent in headless runs. */
export interface Prompter {
  confirmHostKey(q: { host: string; keyType: string; fingerprint: string }): Promise<boolean>;
  passphrase(q: { host: string; keyFile: string }): Promise<string | undefined>;
  password(q: { host: string; user: string }): Promise<string | undefined>;
  keyboardInteractive(q: {
    host: string;
    name: string;
    instructions: string;
    prompts: { prompt: string; echo: boolean }[];
  }): Promise<string[] | undefined>;
}

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
  async spawn(host: string, argv: string[], opts: { signal?: AbortSignal } = {}): Promise<RemoteProcess> {
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
      this.killRemote(host, pidTap.pid, signal);
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
  private killRemote(host: string, pid: number | undefined, signal = 'KILL'): void {
    if (pid === undefined) return;
    const sig = /^[A-Z0-9]+$/.test(signal) ? signal : 'KILL';
    this.execCommand(
      host,
      `kill -${sig} -- -${pid} 2>/dev/null || kill -${sig} ${pid} 2>/dev/null; true`,
    ).catch(() => {
      // best effort: the connection may be the thing that failed
    });
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
        this.killRemote(host, pidTap.pid);
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
        const sock = await this.transport(settings, jumps, path);
        const client = await this.handshake(settings, sock);
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

  /** The byte stream to the host's sshd: TCP, a jump's forwardOut, or ProxyCommand. */
  private async transport(s: HostSettings, jumps: string[], path: string[]): Promise<Readable> {
    const timeoutSec = s.connectTimeoutSec ?? this.opts.defaultConnectTimeoutSec;
    if (jumps.length > 0) {
      const last = jumps[jumps.length - 1] as string;
      const before = jumps.slice(0, -1);
      const via = await this.connectVia(last, before.length > 0 ? before : undefined, path);
      return new Promise<Readable>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new SshError(
                'TIMEOUT',
                s.alias,
                `no answer through ${last} within ${timeoutSec} s (ConnectTimeout)`,
              ),
            ),
          timeoutSec * 1000,
        );
        via.client.forwardOut('127.0.0.1', 0, s.hostName, s.port, (err, stream) => {
          clearTimeout(timer);
          if (err) {
            reject(
              new SshError(
                'UNREACHABLE',
                s.alias,
                `${last} could not reach ${s.hostName}:${s.port}: ${err.message}`,
              ),
            );
          } else resolve(stream);
        });
      });
    }
    if (s.proxyCommand) {
      const child = spawnProcess('/bin/sh', ['-c', s.proxyCommand], { stdio: ['pipe', 'pipe', 'inherit'] });
      const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
      child.on('exit', (code) => duplex.destroy(new Error(`ProxyCommand exited with ${code}`)));
      return duplex;
    }
    return new Promise<Socket>((resolve, reject) => {
      const sock = tcpConnect({ host: s.hostName, port: s.port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(
          new SshError(
            'TIMEOUT',
            s.alias,
            `connect to ${s.hostName}:${s.port} timed out after ${timeoutSec} s (ConnectTimeout)`,
          ),
        );
      }, timeoutSec * 1000);
      sock.once('connect', () => {
        clearTimeout(timer);
        // exec round trips are small packets: Nagle plus delayed ACKs costs ~40 ms each
        sock.setNoDelay(true);
        resolve(sock);
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const where = `${s.hostName}:${s.port}`;
        if (e.code === 'ECONNREFUSED')
          reject(new SshError('REFUSED', s.alias, `connection refused by ${where}`));
        else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH')
          reject(
            new SshError('UNREACHABLE', s.alias, `no route to ${where}`, {
              hint: 'does it need a ProxyJump?',
            }),
          );
        else reject(new SshError('UNREACHABLE', s.alias, `cannot connect to ${where}: ${e.message}`));
      });
    });
  }

  private async handshake(s: HostSettings, sock: Readable): Promise<SshClient> {
    const client = new Client();
    const timeoutSec = s.connectTimeoutSec ?? this.opts.defaultConnectTimeoutSec;
    const preferred = knownKeyTypes(knownHostsFiles(s), hostKeyQuery(s));
    let hostKeyFailure: SshError | undefined;
    const auth = new AuthSequence(s, this.opts.prompter, this.opts.env ?? process.env);

    const config: ConnectConfig = {
      sock,
      username: s.user,
      readyTimeout: timeoutSec * 1000,
      keepaliveInterval:
        (s.serverAliveIntervalSec > 0 ? s.serverAliveIntervalSec : this.opts.defaultKeepaliveSec) * 1000,
      keepaliveCountMax: s.serverAliveCountMax,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        this.verifyHostKey(s, key)
          .then(() => verify(true))
          .catch((e: unknown) => {
            hostKeyFailure = e instanceof SshError ? e : new SshError('HOST_KEY_UNKNOWN', s.alias, String(e));
            verify(false);
          });
      },
      authHandler: (methodsLeft, _partial, next) => {
        auth.next(methodsLeft).then(
          (m) => next(m === false ? (false as unknown as AuthenticationType) : m),
          () => next(false as unknown as AuthenticationType),
        );
      },
    };
    if (preferred.length > 0) {
      // like ssh: prefer the key types already known for this host
      const all = [
        'ssh-ed25519',
        'ecdsa-sha2-nistp256',
        'ecdsa-sha2-nistp384',
        'ecdsa-sha2-nistp521',
        'rsa-sha2-512',
        'rsa-sha2-256',
        'ssh-rsa',
      ];
      const order = [
        ...preferred.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])),
        ...all,
      ];
      // the type list is what ssh2 accepts; its typing is a closed union
      config.algorithms = { serverHostKey: [...new Set(order)] as never };
    }
    if (this.opts.debug) config.debug = (m) => this.opts.debug?.(s.alias, m);

    return new Promise<SshClient>((resolve, reject) => {
      const fail = (e: unknown) => {
        client.removeAllListeners('ready');
        // late errors from a connection we gave up on must not crash the process
        client.on('error', () => {});
        client.end();
        if (hostKeyFailure) return reject(hostKeyFailure);
        const message = errorText(e);
        if (/authentication methods failed/i.test(message)) return reject(auth.failure());
        if (/timed out/i.test(message))
          return reject(
            new SshError(
              'TIMEOUT',
              s.alias,
              `no SSH handshake from ${s.hostName}:${s.port} within ${timeoutSec} s (ConnectTimeout)`,
            ),
          );
        reject(
          new SshError(
            'CONNECTION_LOST',
            s.alias,
            `SSH handshake with ${s.hostName}:${s.port} failed: ${message}`,
          ),
        );
      };
      client.once('ready', () => {
        client.removeListener('error', fail);
        resolve(client);
      });
      client.once('error', fail);
      client.connect(config);
    });
  }

  private async verifyHostKey(s: HostSettings, blob: Buffer): Promise<void> {
    const keyType = blobKeyType(blob) ?? 'unknown';
    const fp = sha256Fingerprint(blob);
    const query = hostKeyQuery(s);
    const check = checkHostKey(knownHostsFiles(s), query, { type: keyType, blob });
    const label = query.host;
    switch (check.status) {
      case 'match':
        return;
      case 'revoked':
        throw new SshError(
          'HOST_KEY_REVOKED',
          s.alias,
          `host key ${keyType} ${fp} is marked @revoked in ${check.file}:${check.line}; refusing to connect`,
        );
      case 'changed':
        // never overridable: the key differs from the one on record
        throw new SshError(
          'HOST_KEY_CHANGED',
          s.alias,
          `REMOTE HOST IDENTIFICATION HAS CHANGED for ${label} (port ${s.port}): the server offered ${keyType} ${fp}, but ${check.file}:${check.line} records ${check.expectedKeyType} ${check.expectedFingerprint}. Someone could be eavesdropping, or the host was reinstalled; refusing to connect.`,
          { hint: `if the change is expected, remove the old key: ssh-keygen -R ${label} -f ${check.file}` },
        );
      case 'unknown': {
        const mode = s.strictHostKeyChecking;
        const record = () => {
          const file = s.userKnownHostsFiles[0];
          if (file) addKnownHost(file, query, { type: keyType, blob }, { hash: s.hashKnownHosts });
        };
        if (mode === 'no' || mode === 'off' || mode === 'accept-new') {
          record();
          return;
        }
        if (mode === 'ask' && this.opts.prompter && !s.batchMode) {
          if (await this.opts.prompter.confirmHostKey({ host: label, keyType, fingerprint: fp })) {
            record();
            return;
          }
          throw new SshError('HOST_KEY_UNKNOWN', s.alias, `host key ${keyType} ${fp} was not accepted`);
        }
        throw new SshError(
          'HOST_KEY_UNKNOWN',
          s.alias,
          `unknown host key ${keyType} ${fp} for ${label} (port ${s.port}) and StrictHostKeyChecking is ${mode}`,
          {
            hint: 'verify the fingerprint, then add it to known_hosts, or use StrictHostKeyChecking=accept-new',
          },
        );
      }
    }
  }
}

const PID_MARK = '\x1eferry-pid:';

/**
 * Makes a command report its pid (its process group: sshd's session child is
 * a session leader, and exec keeps the pid) on stderr before it starts.
 */
function reportPid(command: string): string {
  return `printf '\\036ferry-pid:%s\\n' "$$" >&2; exec /bin/sh -c ${shellQuoteArgv([command])}`;
}

/** Takes the pid line reportPid() writes off the front of stderr. */
class PidTap {
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

function track(channel: ClientChannel): void {
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

function whenClosed(channel: ClientChannel, f: () => void): void {
  const t = tracks.get(channel);
  if (!t) {
    channel.on('close', f);
    return;
  }
  if (t.closed) queueMicrotask(f);
  else t.onClose.push(f);
}

function exitOf(channel: ClientChannel): { code: number | null; signal: string | null } {
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
function sendSignal(channel: ClientChannel, name: string): void {
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

/** OpenSSH's order: agent, identity files, then keyboard-interactive and password when a person is there. */
class AuthSequence {
  private readonly steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  private readonly notes: string[] = [];

  private readonly s: HostSettings;
  private readonly prompter: Prompter | undefined;

  constructor(s: HostSettings, prompter: Prompter | undefined, env: NodeJS.ProcessEnv) {
    this.s = s;
    this.prompter = prompter;
    const user = s.user;
    const agent = env.SSH_AUTH_SOCK;
    if (agent && !s.identitiesOnly) {
      this.steps.push(async () => {
        this.notes.push('ssh-agent');
        return { type: 'agent', username: user, agent };
      });
    }
    for (const file of s.identityFiles) {
      this.steps.push(async () => this.keyFile(file, env));
    }
    if (prompter && !s.batchMode) {
      this.steps.push(async () => {
        this.notes.push('keyboard-interactive');
        return {
          type: 'keyboard-interactive',
          username: user,
          prompt: (name, instructions, _lang, prompts, finish) => {
            prompter
              .keyboardInteractive({
                host: s.alias,
                name,
                instructions,
                prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo ?? false })),
              })
              .then((answers) => finish(answers ?? []))
              .catch(() => finish([]));
          },
        };
      });
      this.steps.push(async () => {
        const password = await prompter.password({ host: s.alias, user });
        if (password === undefined) return undefined;
        this.notes.push('password');
        return { type: 'password', username: user, password };
      });
    }
  }

  async next(_methodsLeft: AuthenticationType[] | null): Promise<AnyAuthMethod | false> {
    while (this.steps.length > 0) {
      const step = this.steps.shift();
      const method = await step?.();
      if (method) return method;
    }
    return false;
  }

  failure(): SshError {
    const tried = this.notes.length > 0 ? this.notes.join(', ') : 'nothing (no agent, no usable key)';
    return new SshError(
      'AUTH_FAILED',
      this.s.alias,
      `permission denied for ${this.s.user}@${this.s.hostName}; tried: ${tried}`,
      {
        hint: 'check IdentityFile and the server authorized_keys, or load the key into ssh-agent',
      },
    );
  }

  private async keyFile(file: string, env: NodeJS.ProcessEnv): Promise<AnyAuthMethod | undefined> {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      return undefined; // ssh skips identity files that do not exist
    }
    let parsed = utils.parseKey(data);
    if (parsed instanceof Error && /encrypted|passphrase/i.test(parsed.message)) {
      const passphrase = await this.passphraseFor(file, env);
      if (passphrase === undefined) {
        this.notes.push(
          `${file} (encrypted; no passphrase: interactive prompt, ssh-agent, or SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force)`,
        );
        return undefined;
      }
      parsed = utils.parseKey(data, passphrase);
      if (parsed instanceof Error) {
        this.notes.push(`${file} (wrong passphrase)`);
        return undefined;
      }
    }
    if (parsed instanceof Error) {
      this.notes.push(`${file} (unreadable key: ${parsed.message})`);
      return undefined;
    }
    const key: ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key) return undefined;
    this.notes.push(file);
    return { type: 'publickey', username: this.s.user, key };
  }

  private async passphraseFor(file: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
    if (this.prompter && !this.s.batchMode)
      return this.prompter.passphrase({ host: this.s.alias, keyFile: file });
    // headless: OpenSSH's own non-interactive route
    if (env.SSH_ASKPASS && env.SSH_ASKPASS_REQUIRE === 'force')
      return askpass(env.SSH_ASKPASS, `Enter passphrase for key '${file}': `);
    return undefined;
  }
}

function askpass(program: string, prompt: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawnProcess(program, [prompt], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) =>
      resolve(
        code === 0
          ? Buffer.concat(out)
              .toString('utf8')
              .replace(/\r?\n$/, '')
          : undefined,
      ),
    );
  });
}
