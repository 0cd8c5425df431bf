import { lstatSync, readdirSync } from 'node:fs';

/**
 * The glob(3) that ssh uses for `Include` (OpenBSD's, with GLOB_TILDE):
 * `*`, `?`, `[...]` per path component, backslash escapes, leading dots only
 * matched explicitly, `~` and `~user` expanded, results sorted bytewise.
 * Written here because ssh's rules (no `**`, no braces, dotfiles, sorting)
 * differ from Node's fs.glob.
 */
export interface GlobOptions {
  /** $HOME, used for a leading `~` (glob reads the environment, not passwd) */
  home: string;
  /** home of `~user` */
  userHome: (user: string) => string | undefined;
}

export function glob(pattern: string, opts: GlobOptions): string[] {
  const expanded = expandTilde(pattern, opts);
  // relative patterns (only possible with a relative $HOME) are read from the cwd
  let bases: string[] = [expanded.startsWith('/') ? '/' : ''];
  for (const part of expanded.split('/')) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasMagic(part)) {
        next.push(joinPath(base, unescapeGlob(part)));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === '' ? '.' : base);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (matchSegment(name, part)) next.push(joinPath(base, name));
      }
    }
    bases = next;
  }
  const found = bases.filter((p) => {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  });
  return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function joinPath(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function expandTilde(pattern: string, opts: GlobOptions): string {
  if (!pattern.startsWith('~')) return pattern;
  const slash = pattern.indexOf('/');
  const user = pattern.slice(1, slash < 0 ? undefined : slash);
  const home = user === '' ? opts.home : opts.userHome(user);
  // an unknown user leaves the pattern as written, as glob(3) does
  if (home === undefined) return pattern;
  return home + (slash < 0 ? '' : pattern.slice(slash));
}

function hasMagic(part: string): boolean {
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

function unescapeGlob(part: string): string {
  return part.replace(/\\(.)/g, '$1');
}

/** Match one path component against a glob segment (with backtracking on `*`). */
export function matchSegment(name: string, pat: string): boolean {
  const n = [...name];
  const p = [...pat];
  const go = (ni: number, pi: number): boolean => {
    while (pi < p.length) {
      const c = p[pi];
      if (c === '*') {
        while (p[pi] === '*') pi++;
        if (pi === p.length) return true;
        for (let k = ni; k <= n.length; k++) if (go(k, pi)) return true;
        return false;
      }
      if (ni >= n.length) return false;
      if (c === '?') {
        ni++;
        pi++;
        continue;
      }
      if (c === '[') {
        const cls = parseClass(p, pi);
        if (cls !== null) {
          if (!cls.test(n[ni] ?? '')) return false;
          ni++;
          pi = cls.end;
          continue;
        }
        // an unterminated `[` is an ordinary character
      }
      let lit = c;
      if (c === '\\' && pi + 1 < p.length) {
        pi++;
        lit = p[pi];
      }
      if (n[ni] !== lit) return false;
      ni++;
      pi++;
    }
    return ni === n.length;
  };
  return go(0, 0);
}

function parseClass(p: string[], start: number): { test: (ch: string) => boolean; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!') {
    negate = true;
    i++;
  }
  const ranges: [string, string][] = [];
  let firstChar = true;
  while (i < p.length && (p[i] !== ']' || firstChar)) {
    let lo = p[i] ?? '';
    if (lo === '\\' && i + 1 < p.length) lo = p[++i] ?? '';
    let hi = lo;
    if (p[i + 1] === '-' && p[i + 2] !== undefined && p[i + 2] !== ']') {
      hi = p[i + 2] ?? lo;
      i += 2;
    }
    ranges.push([lo, hi]);
    i++;
    firstChar = false;
  }
  if (i >= p.length) return null;
  const test = (ch: string) => ranges.some(([lo, hi]) => ch >= lo && ch <= hi) !== negate;
  return { test, end: i + 1 };
}
