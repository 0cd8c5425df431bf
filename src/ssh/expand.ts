import { readFileSync } from 'node:fs';

/** Thrown when a `%` token, `${VAR}` or `~user` cannot be expanded; message as ssh's. */
export class ExpandError extends Error {
  override name = 'ExpandError';
}

export interface ExpandOptions {
  /** single-letter token → replacement; any other `%x` is an error */
  tokens: Readonly<Record<string, string>>;
  /** also expand `${VAR}` from this environment */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * ssh's percent_expand / percent_dollar_expand: one left-to-right pass,
 * replacements are not rescanned, `%%` is a literal `%`.
 */
export function percentExpand(input: string, opts: ExpandOptions): string {
  let out = '';
  let missing: string | undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (opts.env !== undefined && c === '$' && input[i + 1] === '{') {
      const close = input.indexOf('}', i + 2);
      if (close < 0) {
        throw new ExpandError(`environment variable '${input.slice(i + 2)}' missing closing '}'`);
      }
      const name = input.slice(i + 2, close);
      if (name === '') throw new ExpandError('zero-length environment variable');
      const value = opts.env[name];
      // ssh reports the first missing variable but keeps scanning for syntax errors
      if (value === undefined) missing ??= name;
      else out += value;
      i = close;
      continue;
    }
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    const key = input.charAt(i);
    if (key === '%') {
      out += '%';
    } else if (key === '') {
      throw new ExpandError('invalid format');
    } else {
      const repl = Object.hasOwn(opts.tokens, key) ? opts.tokens[key] : undefined;
      if (repl === undefined) throw new ExpandError(`unknown key %${key}`);
      out += repl;
    }
  }
  if (missing !== undefined) throw new ExpandError(`env var \${${missing}} has no value`);
  return out;
}

export interface TildeOptions {
  /** the current user's home (ssh uses the passwd entry, not $HOME) */
  homeDir: string;
  /** home of another user for `~user/...`; default reads /etc/passwd */
  userHome?: (user: string) => string | undefined;
}

/** ssh's tilde_expand_filename: `~/x`, `~` and `~user/x`; other paths unchanged. */
export function tildeExpand(path: string, opts: TildeOptions): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const user = path.slice(1, slash < 0 ? undefined : slash);
  // repeated slashes after `~` or `~user` collapse, as in ssh
  const rest = slash < 0 ? '' : path.slice(slash + 1).replace(/^\/+/, '');
  const home = user === '' ? opts.homeDir : (opts.userHome ?? passwdHome)(user);
  if (home === undefined) throw new ExpandError(`No such user ${user}`);
  // ssh joins with exactly one slash, even for `~` alone
  return `${home}${home.endsWith('/') && home !== '' ? '' : '/'}${rest}`;
}

/** Home directory of a local user from /etc/passwd (Node has no getpwnam). */
export function passwdHome(user: string): string | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 7) return f[5];
  }
  return undefined;
}
