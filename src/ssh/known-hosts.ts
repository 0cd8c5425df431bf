/**
 * known_hosts files as OpenSSH 9.2 reads and writes them (hostfile.c):
 * plain and hashed (`|1|salt|hmac`) host fields, `[host]:port`, comma lists
 * with `!negation` and wildcards, `@revoked`, `@cert-authority`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResolvedSshConfig } from './config.ts';
import { asciiLower, matchHostname } from './pattern.ts';

export type KnownHostsMarker = 'none' | 'revoked' | 'cert-authority';

export interface KnownHostsEntry {
  file: string;
  line: number;
  marker: KnownHostsMarker;
  /** the host field as written (a pattern list, or one `|1|salt|hash`) */
  hosts: string;
  hashed: boolean;
  keyType: string;
  key: Buffer;
  comment: string;
}

export interface KnownHostsFile {
  path: string;
  entries: KnownHostsEntry[];
  /** lines ssh would skip as malformed, with the reason */
  invalid: { line: number; reason: string }[];
}

/** The key a server presented: its type name and public key blob (binary or base64). */
export interface PresentedKey {
  type: string;
  blob: Buffer | string;
}

export interface HostKeyQuery {
  /** host name (ssh: the lowercased HostName) or HostKeyAlias */
  host: string;
  /** ssh looks up `[host]:port` for ports other than 22; pass 22 with a HostKeyAlias */
  port?: number;
}

export interface KnownHostsWarning {
  file: string;
  line: number;
  message: string;
}

export type HostKeyStatus =
  | { status: 'match'; file: string; line: number; warnings: KnownHostsWarning[] }
  | { status: 'unknown'; warnings: KnownHostsWarning[] }
  | {
      status: 'changed';
      file: string;
      line: number;
      expectedKeyType: string;
      expectedFingerprint: string;
      warnings: KnownHostsWarning[];
    }
  | { status: 'revoked'; file: string; line: number; warnings: KnownHostsWarning[] };

/** What ssh looks up for a resolved host: the HostKeyAlias as is, else HostName and Port. */
export function hostKeyQuery(
  cfg: Pick<ResolvedSshConfig, 'hostKeyAlias' | 'hostName' | 'port'>,
): HostKeyQuery {
  return cfg.hostKeyAlias !== undefined
    ? { host: cfg.hostKeyAlias, port: 22 }
    : { host: cfg.hostName, port: cfg.port };
}

/** The files ssh reads, in its order: UserKnownHostsFile, then GlobalKnownHostsFile. */
export function knownHostsFiles(
  cfg: Pick<ResolvedSshConfig, 'userKnownHostsFiles' | 'globalKnownHostsFiles'>,
): string[] {
  return [...cfg.userKnownHostsFiles, ...cfg.globalKnownHostsFiles];
}

/** OpenSSH's SHA256 fingerprint: `SHA256:` and unpadded base64. */
export function sha256Fingerprint(blob: Buffer | string): string {
  const bytes = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
}

/** The name ssh looks up and records: `host`, or `[host]:port` off port 22 (put_host_port). */
export function knownHostsName(host: string, port = 22): string {
  const h = asciiLower(host);
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

const HASH_MAGIC = '|1|';
const SHA1_LEN = 20;

/** `|1|salt|hmac` for name, with the given salt or a new random one (ssh's host_hash). */
export function hashHostName(name: string, salt: Buffer = randomBytes(SHA1_LEN)): string {
  const mac = createHmac('sha1', salt).update(name).digest();
  return `${HASH_MAGIC}${salt.toString('base64')}|${mac.toString('base64')}`;
}

/** Does a hashed host field match name? null when the field is not a well-formed hash. */
function hashedFieldMatches(field: string, name: string): boolean | null {
  if (!field.startsWith(HASH_MAGIC)) return null;
  const rest = field.slice(HASH_MAGIC.length);
  const bar = rest.indexOf('|');
  if (bar < 0) return null;
  const saltB64 = rest.slice(0, bar);
  if (!isBase64(saltB64)) return null;
  const salt = Buffer.from(saltB64, 'base64');
  if (salt.length !== SHA1_LEN) return null;
  return hashHostName(name, salt) === field;
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0 && s.length > 0;
}

/** Key type names OpenSSH 9.2 can read, with the type inside the blob for each. */
const KEY_TYPES: ReadonlySet<string> = new Set([
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-ed25519',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'ssh-xmss@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'ssh-xmss-cert-v01@openssh.com',
]);

/** The key type string at the start of an SSH public key blob. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

type ParsedLine = Omit<KnownHostsEntry, 'file' | 'line'>;

/** One known_hosts line: an entry, null for blank/comment, or why ssh would skip it. */
function parseKnownHostsLine(raw: string): ParsedLine | null | string {
  let cp = raw.replace(/^[ \t]+/, '');
  if (cp === '' || cp.startsWith('#')) return null;
  let marker: KnownHostsMarker = 'none';
  while (cp.startsWith('@')) {
    const m = /^@(cert-authority|revoked)[ \t]+/.exec(cp);
    if (m === null || marker !== 'none') return 'invalid marker';
    marker = m[1] === 'revoked' ? 'revoked' : 'cert-authority';
    cp = cp.slice(m[0].length);
  }
  const hostEnd = cp.search(/[ \t]/);
  const hosts = hostEnd < 0 ? cp : cp.slice(0, hostEnd);
  const rest = hostEnd < 0 ? '' : cp.slice(hostEnd).replace(/^[ \t]+/, '');
  // ssh cannot match a `|...` field that is not a well-formed hash
  if (hosts.startsWith('|') && hashedFieldMatches(hosts, '') === null) return 'bad host hash';
  if (rest === '' || rest.startsWith('#')) return 'truncated before key type';
  const m = /^(\S+)[ \t]+([A-Za-z0-9+/=]+)(?:[ \t]+(.*))?$/.exec(rest);
  if (m === null) return 'no key';
  const keyType = m[1] ?? '';
  if (!KEY_TYPES.has(keyType)) return `unknown key type ${keyType}`;
  const b64 = m[2] ?? '';
  if (!isBase64(b64)) return 'bad base64';
  const key = Buffer.from(b64, 'base64');
  // ssh decodes the blob and insists it is the key type the line names
  if (blobKeyType(key) !== keyType) return 'key blob does not match its type';
  return { marker, hosts, hashed: hosts.startsWith('|'), keyType, key, comment: (m[3] ?? '').trim() };
}

/** Parse known_hosts text; `path` is only recorded in the entries. */
export function parseKnownHosts(text: string, path: string): KnownHostsFile {
  const out: KnownHostsFile = { path, entries: [], invalid: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const r = parseKnownHostsLine(raw);
    if (r === null) continue;
    if (typeof r === 'string') out.invalid.push({ line: i + 1, reason: r });
    else out.entries.push({ file: path, line: i + 1, ...r });
  }
  return out;
}

/** Read a known_hosts file; a missing or unreadable one is empty, as for ssh. */
export function readKnownHostsFile(path: string): KnownHostsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { path, entries: [], invalid: [] };
  }
  return parseKnownHosts(text, path);
}

/** Does this entry's host field match the looked-up name (ssh's match_maybe_hashed)? */
export function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hashed) return hashedFieldMatches(entry.hosts, name) === true;
  return matchHostname(name, entry.hosts) === 'match';
}

/**
 * Check a presented host key against known_hosts files, in the order ssh
 * reads them (UserKnownHostsFile, then GlobalKnownHostsFile). Follows ssh's
 * check_key_in_hostkeys: a matching key wins, any other key for the host
 * means it changed, and a `@revoked` key overrides both.
 */
export function checkHostKey(
  files: readonly (string | KnownHostsFile)[],
  query: HostKeyQuery,
  presented: PresentedKey,
): HostKeyStatus {
  const name = knownHostsName(query.host, query.port);
  const blob = typeof presented.blob === 'string' ? Buffer.from(presented.blob, 'base64') : presented.blob;
  const warnings: KnownHostsWarning[] = [];
  const entries = files
    .map((f) => (typeof f === 'string' ? readKnownHostsFile(f) : f))
    .flatMap((f) => f.entries.filter((e) => entryMatches(e, name)));

  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  for (const e of entries) {
    if (e.marker === 'cert-authority') {
      warnings.push({
        file: e.file,
        line: e.line,
        message: '@cert-authority entries are not supported by ferry yet; host certificates are not checked',
      });
    }
  }
  if (revoked !== undefined) return { status: 'revoked', file: revoked.file, line: revoked.line, warnings };

  let changed: KnownHostsEntry | undefined;
  for (const e of entries) {
    if (e.marker !== 'none') continue;
    if (e.key.equals(blob)) return { status: 'match', file: e.file, line: e.line, warnings };
    // ssh reports the last non-matching key it saw
    changed = e;
  }
  if (changed !== undefined) {
    return {
      status: 'changed',
      file: changed.file,
      line: changed.line,
      expectedKeyType: changed.keyType,
      expectedFingerprint: sha256Fingerprint(changed.key),
      warnings,
    };
  }
  return { status: 'unknown', warnings };
}

/** Key types already recorded for a host, so a client can prefer them (ssh's order_hostkeyalgs). */
export function knownKeyTypes(files: readonly (string | KnownHostsFile)[], query: HostKeyQuery): string[] {
  const name = knownHostsName(query.host, query.port);
  const types = new Set<string>();
  for (const f of files) {
    const parsed = typeof f === 'string' ? readKnownHostsFile(f) : f;
    for (const e of parsed.entries) if (e.marker === 'none' && entryMatches(e, name)) types.add(e.keyType);
  }
  return [...types];
}

/** The line ssh's write_host_entry() writes for a host and key. */
export function formatKnownHostsLine(
  query: HostKeyQuery,
  key: PresentedKey,
  opts: { hash: boolean },
): string {
  const name = knownHostsName(query.host, query.port);
  const blob = typeof key.blob === 'string' ? Buffer.from(key.blob, 'base64') : key.blob;
  const field = opts.hash ? hashHostName(name) : name;
  return `${field} ${key.type} ${blob.toString('base64')}\n`;
}

/**
 * Append a host key to a known_hosts file (hashed when HashKnownHosts is
 * yes), creating the directory (0700) and the file (0600) if needed.
 */
export function addKnownHost(
  path: string,
  query: HostKeyQuery,
  key: PresentedKey,
  opts: { hash: boolean },
): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    // do not glue the new entry onto a last line that lacks its newline
    if (statSync(path).size > 0 && lastByte(path) !== 0x0a) prefix = '\n';
  } catch {
    // no file yet: appendFileSync creates it with the mode below
  }
  appendFileSync(path, prefix + formatKnownHostsLine(query, key, opts), { mode: 0o600 });
}

function lastByte(path: string): number | undefined {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1);
    const size = statSync(path).size;
    readSync(fd, buf, 0, 1, size - 1);
    return buf[0];
  } finally {
    closeSync(fd);
  }
}
