/**
 * OpenSSH wildcard patterns (ssh_config(5) PATTERNS): `*` matches any run of
 * characters, `?` exactly one, nothing else is special. Matching is done on
 * UTF-8 bytes because that is what ssh compares (`?` is one byte there).
 */

const STAR = 0x2a;
const QUESTION = 0x3f;

/** Whole-string wildcard match, case-sensitive (ssh's match_pattern). */
export function matchPattern(text: string, pattern: string): boolean {
  const s = Buffer.from(text, 'utf8');
  const p = Buffer.from(pattern, 'utf8');
  let si = 0;
  let pi = 0;
  // position after the last `*` seen and the text position it is trying
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === QUESTION || p[pi] === s[si]) && p[pi] !== STAR) {
      si++;
      pi++;
    } else if (pi < p.length && p[pi] === STAR) {
      starP = ++pi;
      starS = si;
    } else if (starP >= 0) {
      pi = starP;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length;
}

/** Result of a comma-separated pattern list: a `!pattern` hit wins over everything. */
export type PatternListResult = 'match' | 'negated' | 'none';

/**
 * ssh's match_pattern_list: comma-separated patterns, each optionally
 * negated with `!`. With `lowercasePatterns` the patterns (not the text) are
 * ASCII-lowercased, as ssh does for host names.
 */
export function matchPatternList(text: string, list: string, lowercasePatterns = false): PatternListResult {
  let positive = false;
  let i = 0;
  // hand-rolled rather than split(','): a trailing comma yields no empty pattern in ssh
  while (i < list.length) {
    const negated = list[i] === '!';
    if (negated) i++;
    let end = list.indexOf(',', i);
    if (end < 0) end = list.length;
    let part = list.slice(i, end);
    i = end < list.length ? end + 1 : end;
    // ssh copies each pattern into a 1024-byte buffer and gives up on longer ones
    if (Buffer.byteLength(part) >= 1023) return 'none';
    if (lowercasePatterns) part = asciiLower(part);
    if (matchPattern(text, part)) {
      if (negated) return 'negated';
      positive = true;
    }
  }
  return positive ? 'match' : 'none';
}

/** ssh's match_hostname: host and patterns compared case-insensitively (ASCII). */
export function matchHostname(host: string, list: string): PatternListResult {
  return matchPatternList(asciiLower(host), list, true);
}

/** Lowercase A-Z only, like tolower() in the C locale that ssh relies on. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
