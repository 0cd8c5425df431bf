// ProxyJump values as ssh reads and prints them: ssh's parse_jump, with
// `[user@]host[:port]` hops and `ssh://` URIs (percent-decoded user, no path),
// and the form `ssh -G` prints. Resolving the hops through the config is
// config.ts's resolveJumpChain.
import { asciiLower } from './pattern.ts';
import { a2port, validDomain } from './values.ts';

/** One hop of a ProxyJump list. */
export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
  /** the hop exactly as written, e.g. `ssh://me@bastion:2222` */
  spec: string;
}

/** ProxyJump hops formatted as `ssh -G` prints them. */
export function formatProxyJump(hops: readonly JumpHop[]): string {
  const last = hops.at(-1);
  if (last === undefined) return '';
  const bracket = last.host.includes(':') || /^[0-9.]+$/.test(last.host);
  const host = bracket ? `[${last.host}]` : last.host;
  const tail = `${last.user !== undefined ? `${last.user}@` : ''}${host}${last.port !== undefined ? `:${last.port}` : ''}`;
  return [...hops.slice(0, -1).map((h) => h.spec), tail].join(',');
}

/**
 * Parse a ProxyJump value (ssh's parse_jump): the text up to `#` or the
 * first blank, comma-separated `[user@]host[:port]` or `ssh://` URIs.
 * Returns null if any hop is malformed, 'none' for `none`.
 */
export function parseProxyJump(raw: string): JumpHop[] | 'none' | null {
  let v = raw;
  const hash = v.indexOf('#');
  if (hash >= 0) v = v.slice(0, hash);
  const blank = v.search(/[ \t\r\n]/);
  if (blank >= 0) v = v.slice(0, blank);
  if (asciiLower(v) === 'none') return 'none';
  const hops: JumpHop[] = [];
  for (const spec of v.split(',')) {
    const hop = parseSshUri(spec) ?? parseUserHostPort(spec);
    if (hop === null || hop === 'invalid') return null;
    hops.push(hop);
  }
  return hops;
}

/** `ssh://[user[;params]@]host[:port][/]`; undefined when not a URI. */
function parseSshUri(spec: string): JumpHop | 'invalid' | undefined {
  if (!spec.startsWith('ssh://')) return undefined;
  let rest = spec.slice('ssh://'.length);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    let u = rest.slice(0, at);
    const semi = u.indexOf(';');
    if (semi >= 0) u = u.slice(0, semi);
    if (u === '') return 'invalid';
    const decoded = urlDecode(u);
    if (decoded === null) return 'invalid';
    user = decoded;
    rest = rest.slice(at + 1);
  }
  const hp = hpdelim(rest);
  if (hp === null || hp.host === '') return 'invalid';
  const host = cleanHostname(hp.host);
  if (!validDomain(host)) return 'invalid';
  let port: number | undefined;
  let tail = hp.rest;
  if (tail !== undefined && tail !== '' && hp.delim === ':') {
    const slash = tail.indexOf('/');
    const p = a2port(slash < 0 ? tail : tail.slice(0, slash));
    if (p <= 0) return 'invalid';
    port = p;
    tail = slash < 0 ? undefined : tail.slice(slash + 1);
  }
  // a path is not allowed in an ssh:// destination
  if (tail !== undefined && tail !== '') return 'invalid';
  return { user, host, port, spec };
}

function parseUserHostPort(spec: string): JumpHop | null {
  let rest = spec;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    if (user === '') return null;
    rest = rest.slice(at + 1);
  }
  const hp = hpdelim(rest);
  if (hp === null || hp.host === '') return null;
  let port: number | undefined;
  if (hp.rest !== undefined && hp.rest !== '') {
    const p = a2port(hp.rest);
    if (p <= 0) return null;
    port = p;
  }
  return { user, host: cleanHostname(hp.host), port, spec };
}

/** ssh's hpdelim2(): host part up to `:` or `/`, `[v6]` kept whole. */
function hpdelim(s: string): { host: string; delim?: string; rest?: string } | null {
  let i: number;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    i = close + 1;
  } else {
    i = s.search(/[:/]/);
    if (i < 0) i = s.length;
  }
  if (i === s.length) return { host: s };
  const d = s.charAt(i);
  if (d !== ':' && d !== '/') return null;
  return { host: s.slice(0, i), delim: d, rest: s.slice(i + 1) };
}

function cleanHostname(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function urlDecode(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === '+') out += ' ';
    else if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 2;
    } else out += c;
  }
  return out;
}
