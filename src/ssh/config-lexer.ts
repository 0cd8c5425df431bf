/**
 * Tokenising of ssh_config lines the way OpenSSH 9.2 does it. Two tokenisers
 * coexist in ssh and different keywords see different ones:
 *  - strdelim(): splits on whitespace or a single `=`, understands only
 *    double quotes; used for the keyword itself and for `Match` criteria.
 *  - argv_split(): shell-like words with single/double quotes and a few
 *    backslash escapes, `#` at the start of a word ends the line; used for
 *    the arguments of every other keyword.
 * ProxyCommand and ProxyJump read the raw rest of the line instead.
 */

/** ssh's WHITESPACE set. */
const WS = ' \t\r\n';

/** A cursor over the unread rest of a line; `null` once exhausted (as in C). */
export interface Cursor {
  rest: string | null;
}

function skipWs(s: string, from: number): number {
  let i = from;
  while (i < s.length && WS.includes(s.charAt(i))) i++;
  return i;
}

/**
 * Next token, as ssh's strdelim(): returns '' for an empty token (e.g. at
 * leading whitespace), `null` when exhausted or on an unmatched double quote.
 */
export function strdelim(cur: Cursor): string | null {
  const s = cur.rest;
  if (s === null) return null;
  let i = 0;
  while (i < s.length && !`${WS}"=`.includes(s.charAt(i))) i++;
  if (i === s.length) {
    cur.rest = null;
    return s;
  }
  if (s[i] === '"') {
    // the opening quote is dropped and the token runs to the next quote
    const joined = s.slice(0, i) + s.slice(i + 1);
    const close = joined.indexOf('"', i);
    if (close < 0) {
      cur.rest = null;
      return null;
    }
    cur.rest = joined.slice(skipWs(joined, close + 1));
    return joined.slice(0, close);
  }
  const sawEquals = s[i] === '=';
  const token = s.slice(0, i);
  let j = skipWs(s, i + 1);
  // only one `=` may separate tokens
  if (s[j] === '=' && !sawEquals) j = skipWs(s, j + 1);
  cur.rest = s.slice(j);
  return token;
}

/** ssh's argv_split(s, terminate_on_comment=1); `null` means unbalanced quotes. */
export function argvSplit(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const ch = s.charAt(i);
      const next = s.charAt(i + 1);
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          // unrecognised escapes are kept verbatim
          arg += ch;
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    out.push(arg);
    if (i >= s.length && quote !== '') return null;
  }
  return out;
}

/** A config line split into keyword and argument text, or why it is not one. */
export type SplitLine =
  | { kind: 'blank' }
  | { kind: 'noArgument'; keyword: string }
  | { kind: 'directive'; keyword: string; rest: string };

/**
 * The common head of ssh's process_config_line: strip trailing whitespace,
 * take the keyword with strdelim(), skip comments and blank lines. The
 * keyword is returned ASCII-lowercased; `rest` starts at the first argument.
 */
export function splitLine(raw: string): SplitLine {
  // ssh strips trailing whitespace (and \f) but never the first character
  let end = raw.length;
  while (end > 1 && ' \t\r\n\f'.includes(raw.charAt(end - 1))) end--;
  const line = raw.slice(0, end);
  if (line.length === 0) return { kind: 'blank' };
  const cur: Cursor = { rest: line };
  let keyword = strdelim(cur);
  if (keyword === '') keyword = strdelim(cur);
  if (keyword === null || keyword === '' || keyword.startsWith('\n') || keyword.startsWith('#')) {
    return { kind: 'blank' };
  }
  keyword = keyword.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  const rest = cur.rest === null ? '' : cur.rest.slice(skipWs(cur.rest, 0));
  if (rest === '') return { kind: 'noArgument', keyword };
  return { kind: 'directive', keyword, rest };
}

/** Skip leading whitespace and `=` as ssh does before ProxyCommand/ProxyJump. */
export function rawArgument(rest: string): string {
  let i = 0;
  while (i < rest.length && `${WS}=`.includes(rest.charAt(i))) i++;
  return rest.slice(i);
}
