// Where ferry keeps its files on the operator's machine, by the XDG base
// directory spec: settings and saved groups under the config dir, run
// journals under the state dir, hosts' facts under the cache dir.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

const XDG_DEFAULTS = {
  config: ['XDG_CONFIG_HOME', '.config'],
  state: ['XDG_STATE_HOME', '.local/state'],
  cache: ['XDG_CACHE_HOME', '.cache'],
} as const;

/** ferry's directory under $XDG_CONFIG_HOME, $XDG_STATE_HOME or $XDG_CACHE_HOME (or their defaults under $HOME). */
export function ferryDir(kind: keyof typeof XDG_DEFAULTS, env: Env = process.env): string {
  const [variable, fallback] = XDG_DEFAULTS[kind];
  const set = env[variable];
  // the spec says a relative value is invalid and must be ignored
  const base = set && isAbsolute(set) ? set : join(env.HOME || homedir(), fallback);
  return join(base, 'ferry');
}

/** $XDG_CONFIG_HOME/ferry/groups.yaml */
export function groupsFilePath(env: Env = process.env): string {
  return join(ferryDir('config', env), 'groups.yaml');
}

/** $XDG_CONFIG_HOME/ferry/config.yaml */
export function configFilePath(env: Env = process.env): string {
  return join(ferryDir('config', env), 'config.yaml');
}

/** $XDG_CACHE_HOME/ferry/facts: each host's slow facts (src/runtime/facts-cache.ts) */
export function factsCacheDir(env: Env = process.env): string {
  return join(ferryDir('cache', env), 'facts');
}

/** $XDG_CACHE_HOME/ferry/link-rates.json: links' rates of the last minutes (src/migrate/link-rate.ts) */
export function linkRatesFile(env: Env = process.env): string {
  return join(ferryDir('cache', env), 'link-rates.json');
}
