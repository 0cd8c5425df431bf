// `ferry ssh-config resolve HOST`: ferry's view of a host, as `ssh -G` would
// print it, plus the jump chain it will take. For debugging configs.
import {
  formatProblem,
  type ResolvedSshConfig,
  resolveJumpChain,
  resolveSshConfig,
  SshConfigError,
} from '../ssh/config.ts';
import { errorText } from '../text/error.ts';

export interface ResolveView {
  host: string;
  config: ResolvedSshConfig;
  /** hops in connection order, each as user@host:port */
  jumpChain: string[];
}

export function resolveView(host: string, configFile: string | undefined): ResolveView {
  const options = configFile ? { configFile } : {};
  const config = resolveSshConfig(host, options);
  const jumpChain = resolveJumpChain(host, options).map(
    (h) => `${h.config.user}@${h.config.hostName}:${h.config.port}`,
  );
  return { host, config, jumpChain };
}

export function formatResolveView(v: ResolveView): string {
  const c = v.config;
  const lines: [string, string | number | boolean | undefined][] = [
    ['host', c.host],
    ['hostname', c.hostName],
    ['user', c.user],
    ['port', c.port],
    ...c.identityFiles.map((f): [string, string] => ['identityfile', f]),
    ['identitiesonly', c.identitiesOnly],
    ...c.certificateFiles.map((f): [string, string] => ['certificatefile', f]),
    ['proxyjump', c.proxyJump.length > 0 ? c.proxyJump.map((h) => h.spec).join(',') : 'none'],
    ['proxycommand', c.proxyCommand ?? 'none'],
    ['connecttimeout', c.connectTimeout ?? 'none'],
    ['serveraliveinterval', c.serverAliveInterval],
    ['serveralivecountmax', c.serverAliveCountMax],
    ['connectionattempts', c.connectionAttempts],
    ['stricthostkeychecking', c.strictHostKeyChecking],
    ['userknownhostsfile', c.userKnownHostsFiles.join(' ') || 'none'],
    ['globalknownhostsfile', c.globalKnownHostsFiles.join(' ') || 'none'],
    ['hostkeyalias', c.hostKeyAlias ?? 'none'],
    ['hashknownhosts', c.hashKnownHosts],
    ['batchmode', c.batchMode],
  ];
  const out = lines.map(([k, val]) => `${k} ${typeof val === 'boolean' ? (val ? 'yes' : 'no') : val}`);
  if (v.jumpChain.length > 0)
    out.push(`# route: ${[...v.jumpChain, `${c.user}@${c.hostName}:${c.port}`].join(' -> ')}`);
  for (const w of c.warnings) out.push(`# warning: ${formatProblem(w)}`);
  return `${out.join('\n')}\n`;
}

export function describeConfigError(err: unknown): string {
  if (err instanceof SshConfigError) return err.problems.map(formatProblem).join('\n');
  return errorText(err);
}
