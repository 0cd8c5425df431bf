// The hosts a person has named in their ssh config: every word of every
// `Host` line that is a plain name, not a pattern (`*`, `?`) or a negation
// (`!`), across the config and the files it Includes, in the order ssh
// would read them. This is the default host list of `ferry hosts` and
// `ferry ps`. Lines are split with ssh's own tokenisers (config-lexer.ts)
// and Include globs expand as in config.ts.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { SshConfigOptions } from './config.ts';
import { argvSplit, splitLine } from './config-lexer.ts';
import { passwdHome } from './expand.ts';
import { glob } from './glob.ts';

// as ssh: Include nests at most this deep
const MAX_INCLUDE_DEPTH = 16;

/**
 * Concrete Host aliases, de-duplicated, first occurrence first. Files that
 * cannot be read and lines ssh would reject are skipped: this is a list of
 * names, and resolving any of them reports such problems properly.
 */
export function configuredHostAliases(options: SshConfigOptions = {}): string[] {
  const homeDir = options.homeDir ?? userInfo().homedir;
  const envHome = options.envHome ?? options.homeDir ?? process.env.HOME ?? homeDir;
  const systemConfigDir = options.systemConfigDir ?? '/etc/ssh';
  const seen = new Set<string>();

  const read = (path: string, userConf: boolean, depth: number): void => {
    if (depth > MAX_INCLUDE_DEPTH) return;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    for (const raw of text.split('\n')) {
      const line = splitLine(raw);
      if (line.kind !== 'directive') continue;
      const words = argvSplit(line.rest) ?? [];
      if (line.keyword === 'host') {
        for (const w of words) if (w !== '' && !/[*?!]/.test(w)) seen.add(w);
      } else if (line.keyword === 'include') {
        for (const w of words) {
          if (w === '' || (w.startsWith('~') && !userConf)) continue;
          // relative to ~/.ssh in a user config, to /etc/ssh in the system one (as ssh)
          const pattern =
            w.startsWith('/') || w.startsWith('~') ? w : `${userConf ? '~/.ssh' : systemConfigDir}/${w}`;
          for (const p of glob(pattern, { home: envHome, userHome: passwdHome }))
            read(p, userConf, depth + 1);
        }
      }
    }
  };

  if (options.configFile !== undefined) read(options.configFile, true, 0);
  else {
    read(`${homeDir}/.ssh/config`, true, 0);
    read(options.systemConfig ?? '/etc/ssh/ssh_config', false, 0);
  }
  return [...seen];
}
