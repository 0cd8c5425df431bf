// The SSH layer's front door: an SshPool whose hosts resolve exactly as
// OpenSSH would resolve them from the user's config (or -F file).
import { expandProxyCommand, resolveSshConfig, type SshConfigOptions } from './config.ts';
import { SshError } from './errors.ts';
import { SshPool } from './pool.ts';
import { parseProxyJump } from './proxy-jump.ts';
import type { HostSettings, Prompter } from './settings.ts';

export type { ExecOptions, ExecResult, RemoteProcess } from './channel.ts';
export { SshPool } from './pool.ts';
export type { Prompter } from './settings.ts';

import { errorText } from '../text/error.ts';

export { SshError, type SshErrorCode } from './errors.ts';

export interface SshPoolConfig {
  /** like ssh -F */
  configFile?: string;
  /** a person at the terminal who can answer prompts; absent when headless */
  prompter?: Prompter;
  /** environment for SSH_AUTH_SOCK and SSH_ASKPASS; defaults to process.env */
  env?: NodeJS.ProcessEnv;
  maxChannels?: number;
  /** like ssh -J: a comma-separated list of [user@]host[:port] that every host is reached through */
  jump?: string;
  debug?: (host: string, message: string) => void;
}

export function createSshPool(cfg: SshPoolConfig = {}): SshPool {
  const options: SshConfigOptions = cfg.configFile ? { configFile: cfg.configFile } : {};
  return new SshPool({
    resolve: async (spec) => resolveHost(spec, options),
    ...(cfg.prompter ? { prompter: cfg.prompter } : {}),
    env: cfg.env ?? process.env,
    ...(cfg.maxChannels ? { maxChannels: cfg.maxChannels } : {}),
    ...(cfg.jump
      ? {
          jump: cfg.jump
            .split(',')
            .map((h) => h.trim())
            .filter(Boolean),
        }
      : {}),
    ...(cfg.debug ? { debug: cfg.debug } : {}),
  });
}

/** A host alias, or a jump spec such as user@host:port, resolved as ssh would. */
export function resolveHost(spec: string, options: SshConfigOptions): HostSettings {
  const hops = parseProxyJump(spec);
  const hop = Array.isArray(hops) && hops.length === 1 ? hops[0] : undefined;
  if (!hop) throw new SshError('CONFIG', spec, `'${spec}' is not a host name or [user@]host[:port]`);
  let c: ReturnType<typeof resolveSshConfig>;
  try {
    // a jump spec's user and port act like ssh -l and -p: Match user sees them
    c = resolveSshConfig(hop.host, {
      ...options,
      ...(hop.user === undefined ? {} : { user: hop.user }),
      ...(hop.port === undefined ? {} : { port: hop.port }),
    });
  } catch (err) {
    throw new SshError('CONFIG', spec, errorText(err), { cause: err });
  }
  return {
    alias: spec,
    hostName: c.hostName,
    port: c.port,
    user: c.user,
    identityFiles: c.identityFiles,
    identitiesOnly: c.identitiesOnly,
    proxyJump: c.proxyJump.map((h) => h.spec),
    proxyCommand: expandProxyCommand(c),
    connectTimeoutSec: c.connectTimeout,
    serverAliveIntervalSec: c.serverAliveInterval,
    serverAliveCountMax: c.serverAliveCountMax,
    connectionAttempts: c.connectionAttempts,
    strictHostKeyChecking: c.strictHostKeyChecking,
    hostKeyAlias: c.hostKeyAlias,
    userKnownHostsFiles: c.userKnownHostsFiles,
    globalKnownHostsFiles: c.globalKnownHostsFiles,
    hashKnownHosts: c.hashKnownHosts,
    batchMode: c.batchMode,
  };
}
