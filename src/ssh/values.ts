import { readFileSync } from 'node:fs';

/**
 * Value parsers with OpenSSH's exact acceptance rules (strtonum, a2port,
 * convtime, valid_domain...), so that ferry accepts and rejects the same
 * config values as ssh does.
 */

const INT_MAX = 2 ** 31 - 1;

/** OpenBSD strtonum(): base 10, optional sign and leading space; error text as ssh prints it. */
export function strtonum(s: string, min: number, max: number): { value: number } | { error: string } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(s);
  if (m === null || min > max) return { error: 'invalid' };
  const value = Number(`${m[1]}${m[2]}`);
  if (value < min) return { error: 'too small' };
  if (value > max) return { error: 'too large' };
  return { value: value === 0 ? 0 : value };
}

/** ssh's atoi_err(): a non-negative int; returns the error word ssh reports. */
export function atoiErr(s: string | undefined): { value: number } | { error: string } {
  if (s === undefined || s === '') return { error: 'missing' };
  return strtonum(s, 0, INT_MAX);
}

let services: Map<string, number> | undefined;

/** TCP port of a service name from /etc/services (ssh falls back to getservbyname). */
export function servicePort(name: string): number | undefined {
  if (services === undefined) {
    services = new Map();
    let text = '';
    try {
      text = readFileSync('/etc/services', 'utf8');
    } catch {
      // no services database: only numeric ports work, as with an empty one
    }
    for (const line of text.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/);
      const m = /^(\d+)\/tcp$/.exec(words[1] ?? '');
      if (m === null) continue;
      for (const n of [words[0], ...words.slice(2)]) {
        if (n !== undefined && n !== '' && !services.has(n)) services.set(n, Number(m[1]));
      }
    }
  }
  return services.get(name);
}

/** ssh's a2port(): 0..65535 or a service name; -1 when invalid (0 is returned, callers reject it). */
export function a2port(s: string): number {
  const n = strtonum(s, 0, 65535);
  if ('value' in n) return n.value;
  return servicePort(s) ?? -1;
}

const UNIT: Readonly<Record<string, number>> = {
  s: 1,
  S: 1,
  m: 60,
  M: 60,
  h: 3600,
  H: 3600,
  d: 86400,
  D: 86400,
  w: 604800,
  W: 604800,
};

/** ssh's convtime(): "90", "1m30s", "2h"... to seconds; -1 when invalid. */
export function convtime(s: string): number {
  if (s === '') return -1;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    // strtol: optional leading whitespace and sign, then digits
    const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s.slice(i));
    if (m === null) return -1;
    const secs = Number(`${m[1]}${m[2]}`);
    if (secs < 0 || secs >= INT_MAX) return -1;
    i += m[0].length;
    let mult = 1;
    if (i < s.length) {
      const u = UNIT[s.charAt(i)];
      if (u === undefined) return -1;
      mult = u;
      i++;
    }
    if (secs > Math.floor(INT_MAX / mult)) return -1;
    if (total > INT_MAX - secs * mult) return -1;
    total += secs * mult;
  }
  return total;
}

/** Characters ssh refuses in a host name given on its command line (CVE-2023-51385 fix). */
export function validHostnameArg(s: string): boolean {
  if (s.startsWith('-')) return false;
  for (const ch of s) {
    if ('\'`"$\\;&<>|(){},'.includes(ch)) return false;
    const code = ch.codePointAt(0) ?? 0;
    // isspace() and iscntrl() in the C locale
    if (code < 0x20 || code === 0x7f || ch === ' ') return false;
  }
  return true;
}

/** Characters ssh refuses in a user name given on its command line (-l, user@host). */
export function validUserArg(s: string): boolean {
  if (s.startsWith('-')) return false;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    if ('\'`";&<>|(){}'.includes(ch)) return false;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return false;
    // no option-looking word after whitespace, no trailing backslash
    if ((ch === ' ' || ch === '\t') && s[i + 1] === '-') return false;
    if (ch === '\\' && i === s.length - 1) return false;
  }
  return true;
}

/** ssh's valid_domain() as used for ssh:// URIs (letters, digits, `-`, `_`, `.`). */
export function validDomain(name: string): boolean {
  if (name === '') return false;
  if (!/^[A-Za-z0-9]/.test(name)) return false;
  if (name.includes('..')) return false;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return false;
  return !name.endsWith('.');
}
