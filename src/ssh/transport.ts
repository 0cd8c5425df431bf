// How a connection to one host is made: the byte stream to its sshd (TCP,
// a jump's forwardOut, or ProxyCommand), then the SSH handshake with strict
// host key checking against known_hosts and OpenSSH's authentication order.
import { spawn as spawnProcess } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import type { AuthenticationType, ConnectConfig } from 'ssh2';
import ssh2 from 'ssh2';
import { errorText } from '../text/error.ts';
import { AuthSequence } from './auth.ts';
import { SshError } from './errors.ts';
import {
  addKnownHost,
  blobKeyType,
  checkHostKey,
  hostKeyQuery,
  knownHostsFiles,
  knownKeyTypes,
  sha256Fingerprint,
} from './known-hosts.ts';
import type { HostSettings, Prompter } from './settings.ts';

const { Client } = ssh2;
export type SshClient = InstanceType<typeof Client>;

/** What the pool's options say about making a connection. */
export interface ConnectOptions {
  /** used when the config sets no ConnectTimeout */
  defaultConnectTimeoutSec: number;
  /** used when the config sets no ServerAliveInterval */
  defaultKeepaliveSec: number;
  prompter?: Prompter | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  debug?: ((host: string, message: string) => void) | undefined;
}

/** The byte stream to the host's sshd: TCP, a jump's forwardOut, or ProxyCommand. */
export async function transport(
  s: HostSettings,
  jumps: string[],
  o: ConnectOptions,
  /** the connection to the last jump, made by the pool through the jumps before it */
  connectJump: (jump: string, before: string[] | undefined) => Promise<SshClient>,
): Promise<Readable> {
  const timeoutSec = s.connectTimeoutSec ?? o.defaultConnectTimeoutSec;
  if (jumps.length > 0) {
    const last = jumps[jumps.length - 1] as string;
    const before = jumps.slice(0, -1);
    const via = await connectJump(last, before.length > 0 ? before : undefined);
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
      via.forwardOut('127.0.0.1', 0, s.hostName, s.port, (err, stream) => {
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

/** The SSH handshake over `sock`: host key checked against known_hosts, then authentication. */
export async function handshake(s: HostSettings, sock: Readable, o: ConnectOptions): Promise<SshClient> {
  const client = new Client();
  const timeoutSec = s.connectTimeoutSec ?? o.defaultConnectTimeoutSec;
  const preferred = knownKeyTypes(knownHostsFiles(s), hostKeyQuery(s));
  let hostKeyFailure: SshError | undefined;
  const auth = new AuthSequence(s, o.prompter, o.env ?? process.env);

  const config: ConnectConfig = {
    sock,
    username: s.user,
    readyTimeout: timeoutSec * 1000,
    keepaliveInterval:
      (s.serverAliveIntervalSec > 0 ? s.serverAliveIntervalSec : o.defaultKeepaliveSec) * 1000,
    keepaliveCountMax: s.serverAliveCountMax,
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      verifyHostKey(s, key, o.prompter)
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
  if (o.debug) config.debug = (m) => o.debug?.(s.alias, m);

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

async function verifyHostKey(s: HostSettings, blob: Buffer, prompter: Prompter | undefined): Promise<void> {
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
      if (mode === 'ask' && prompter && !s.batchMode) {
        if (await prompter.confirmHostKey({ host: label, keyType, fingerprint: fp })) {
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
