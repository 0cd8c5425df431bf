/**
 * Helpers to ask the real OpenSSH client what it makes of a config:
 * `ssh -G` for the resolved options, and `ssh -vvv` with a ProxyCommand
 * that exits at once for the expansions ssh only does when connecting
 * (identity and certificate paths, the proxy command line). Neither opens a
 * network connection.
 */
import { spawnSync } from 'node:child_process';
import type { ResolvedSshConfig } from '../../../src/ssh/config.ts';
import { formatProxyJump } from '../../../src/ssh/proxy-jump.ts';

export const SSH = '/usr/bin/ssh';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

/** The keywords ferry resolves, as `ssh -G` names them. */
export const COMPARED_KEYWORDS = [
  'host',
  'hostname',
  'user',
  'port',
  'identityfile',
  'identitiesonly',
  'certificatefile',
  'proxyjump',
  'proxycommand',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'connectionattempts',
  'stricthostkeychecking',
  'userknownhostsfile',
  'globalknownhostsfile',
  'hostkeyalias',
  'hashknownhosts',
  'batchmode',
] as const;

export type SshView = Partial<Record<(typeof COMPARED_KEYWORDS)[number], string[]>>;

export type SshGResult =
  | { ok: true; view: SshView; all: Map<string, string[]> }
  | { ok: false; stderr: string };

/** `ssh -G` lines into keyword → values; repeated keywords (identityfile) keep their order. */
export function parseSshG(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    out.set(key, [...(out.get(key) ?? []), sp < 0 ? '' : line.slice(sp + 1)]);
  }
  return out;
}

function pick(all: Map<string, string[]>): SshView {
  const view: SshView = {};
  for (const k of COMPARED_KEYWORDS) {
    const v = all.get(k);
    if (v !== undefined) view[k] = v;
  }
  return view;
}

export function sshG(args: string[], env: NodeJS.ProcessEnv): SshGResult {
  const r = spawnSync(SSH, ['-G', ...args], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) return { ok: false, stderr: `${r.stderr}${r.error?.message ?? ''}` };
  const all = parseSshG(r.stdout);
  return { ok: true, view: pick(all), all };
}

export interface SshTrace {
  identityFiles: string[];
  certificateFiles: string[];
  proxyCommand: string | undefined;
  /** ssh got as far as speaking the protocol (all expansions succeeded) */
  reachedProtocol: boolean;
  stderr: string;
}

/**
 * `ssh -vvv` up to the first protocol byte. Unless `runConfigProxy`, the
 * ProxyCommand is replaced by `true`, so nothing but a no-op process is
 * started; ssh still loads (and logs) every identity and certificate path.
 */
export function sshTrace(args: string[], env: NodeJS.ProcessEnv, runConfigProxy: boolean): SshTrace {
  const override = runConfigProxy ? [] : ['-o', 'ProxyCommand=true'];
  const r = spawnSync(SSH, ['-vvv', '-o', 'BatchMode=yes', ...override, ...args], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    input: '',
  });
  const t: SshTrace = {
    identityFiles: [],
    certificateFiles: [],
    proxyCommand: undefined,
    reachedProtocol: false,
    stderr: r.stderr,
  };
  for (const line of r.stderr.split(/\r?\n/)) {
    let m = /^debug1: identity file (.*) type -?\d+$/.exec(line);
    if (m?.[1] !== undefined) t.identityFiles.push(m[1]);
    m = /^debug1: certificate file (.*) type -?\d+$/.exec(line);
    if (m?.[1] !== undefined) t.certificateFiles.push(m[1]);
    m = /^debug1: Executing proxy command: (.*)$/.exec(line);
    if (m?.[1] !== undefined) t.proxyCommand = m[1];
    // any of these means ssh got past loading identities to the banner exchange
    if (/Local version string|kex_exchange_identification|banner exchange/.test(line))
      t.reachedProtocol = true;
  }
  return t;
}

/** Where ssh says a config problem is: "FILE line N:" or "FILE: line N:". */
export function sshErrorLocation(stderr: string): { file: string; line: number } | undefined {
  for (const l of stderr.split('\n')) {
    const m = /^(.+?):? line (\d+): /.exec(l);
    if (m?.[1] !== undefined) return { file: m[1], line: Number(m[2]) };
  }
  return undefined;
}

/** Ferry's resolution rendered the way `ssh -G` prints it. */
export function ferryView(c: ResolvedSshConfig): SshView {
  const yn = (b: boolean) => [b ? 'yes' : 'no'];
  const strict = { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' } as const;
  const view: SshView = {
    host: [c.host],
    hostname: [c.hostName],
    user: [c.user],
    port: [String(c.port)],
    identityfile: c.identityFileSpecs,
    identitiesonly: yn(c.identitiesOnly),
    connecttimeout: [c.connectTimeout === undefined ? 'none' : String(c.connectTimeout)],
    serveraliveinterval: [String(c.serverAliveInterval)],
    serveralivecountmax: [String(c.serverAliveCountMax)],
    connectionattempts: [String(c.connectionAttempts)],
    stricthostkeychecking: [strict[c.strictHostKeyChecking]],
    // an empty list can only come from `none`
    userknownhostsfile: [c.userKnownHostsFiles.length === 0 ? 'none' : c.userKnownHostsFiles.join(' ')],
    globalknownhostsfile: [c.globalKnownHostsFiles.length === 0 ? 'none' : c.globalKnownHostsFiles.join(' ')],
    hashknownhosts: yn(c.hashKnownHosts),
    batchmode: yn(c.batchMode),
  };
  if (c.certificateFileSpecs.length > 0) view.certificatefile = c.certificateFileSpecs;
  if (c.proxyJump.length > 0) view.proxyjump = [formatProxyJump(c.proxyJump)];
  if (c.proxyCommand !== undefined) view.proxycommand = [c.proxyCommand];
  if (c.hostKeyAlias !== undefined) view.hostkeyalias = [c.hostKeyAlias];
  return view;
}
