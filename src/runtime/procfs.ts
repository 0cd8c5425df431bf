// Parsers for what the kernel and ss print about sockets and open files:
// /proc/<pid>/net/{tcp,tcp6,udp,udp6}, `ss -ltnH`/`-lunH`, `ss -xH` and the
// targets of /proc/<pid>/fd links. Tolerant: lines that do not fit are skipped.

export type Proto = 'tcp' | 'udp';

export interface InetSocket {
  proto: Proto;
  family: 4 | 6;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** kernel TCP state number: 1 ESTABLISHED, 10 LISTEN; udp: 7 unconnected (bound) */
  state: number;
  inode: number;
}

export const TCP_ESTABLISHED = 1;
export const TCP_LISTEN = 10;
export const UDP_UNCONNECTED = 7;

/** A /proc/net/{tcp,udp}[6] table. */
export function parseProcNet(text: string, proto: Proto, family: 4 | 6): InetSocket[] {
  const out: InetSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    if (f.length < 10 || !/^\d+:$/.test(f[0] ?? '')) continue;
    const local = parseHexAddr(f[1] ?? '', family);
    const remote = parseHexAddr(f[2] ?? '', family);
    const state = Number.parseInt(f[3] ?? '', 16);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isFinite(state) || !Number.isInteger(inode)) continue;
    out.push({
      proto,
      family,
      localIp: local.ip,
      localPort: local.port,
      remoteIp: remote.ip,
      remotePort: remote.port,
      state,
      inode,
    });
  }
  return out;
}

/** "0100007F:1F90" -> 127.0.0.1:8080; IPv6 as four little-endian 32-bit words. */
export function parseHexAddr(text: string, family: 4 | 6): { ip: string; port: number } | null {
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{1,4})$/.exec(text);
  if (!m) return null;
  const hex = m[1] ?? '';
  const port = Number.parseInt(m[2] ?? '', 16);
  if (family === 4) {
    if (hex.length !== 8) return null;
    const b = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    return { ip: b.join('.'), port };
  }
  if (hex.length !== 32) return null;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (const i of [6, 4, 2, 0]) bytes.push(Number.parseInt(word.slice(i, i + 2), 16));
  }
  // an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) is written as people write it
  if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return { ip: bytes.slice(12).join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return { ip: compressV6(groups), port };
}

function compressV6(groups: string[]): string {
  const s = groups.join(':');
  // longest run of zero groups -> ::
  let best = '';
  for (const m of s.matchAll(/(?:^|:)(0(?::0)+)(?::|$)/g))
    if ((m[1] ?? '').length > best.length) best = m[1] ?? '';
  if (!best) return s;
  const i = s.indexOf(best);
  const head = s.slice(0, i).replace(/:$/, '');
  const tail = s.slice(i + best.length).replace(/^:/, '');
  return `${head}::${tail}`;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

export interface Listener {
  proto: Proto;
  ip: string;
  port: number;
}

/**
 * `ss -ltnH` / `-lunH` lines: "LISTEN 0 4096 0.0.0.0:7602 0.0.0.0:*", with an
 * optional leading Netid column ("tcp", "udp") and optional "%iface" suffixes.
 */
export function parseSsListeners(text: string, proto: Proto): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    let i = 0;
    let p = proto;
    if (f[0] === 'tcp' || f[0] === 'udp') {
      p = f[0];
      i = 1;
    }
    // state, recv-q, send-q, local, peer
    const local = f[i + 3];
    if (!local || !/^\d+$/.test(f[i + 1] ?? '') || !/^\d+$/.test(f[i + 2] ?? '')) continue;
    const a = splitHostPort(local);
    if (a) out.push({ proto: p, ...a });
  }
  return out;
}

/** "0.0.0.0:80", "[::]:80", "*:80", "127.0.0.1%lo:53" -> ip and port. */
export function splitHostPort(text: string): { ip: string; port: number } | null {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  let ip = text.slice(0, colon);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const pct = ip.indexOf('%');
  if (pct >= 0) ip = ip.slice(0, pct);
  if (ip === '*') ip = '0.0.0.0';
  return { ip, port: Number(portText) };
}

export function isWildcard(ip: string): boolean {
  return ip === '' || ip === '0.0.0.0' || ip === '::' || ip === '*';
}

export interface UnixSocket {
  state: string;
  path: string;
  inode: number;
  peerInode: number;
}

/** `ss -xH` lines: "u_str ESTAB 0 0 /run/x.sock 12345 * 12346" (path may be '*' or '@abstract'). */
export function parseSsUnix(text: string): UnixSocket[] {
  const out: UnixSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]?.startsWith('u_')) continue;
    // the local address may contain spaces in theory; count from the end
    const peerInode = Number(f[f.length - 1]);
    const inode = Number(f[f.length - 3]);
    if (!Number.isInteger(peerInode) || !Number.isInteger(inode)) continue;
    out.push({ state: f[1] ?? '', path: f.slice(4, f.length - 3).join(' '), inode, peerInode });
  }
  return out;
}

export interface OpenFile {
  pid: number;
  target: string;
}

/** `find /proc/P/fd -maxdepth 1 -type l -printf '%h %l\n'` lines: "/proc/12/fd socket:[345]". */
export function parseFdLinks(text: string): OpenFile[] {
  const out: OpenFile[] = [];
  for (const line of text.split('\n')) {
    const m = /^\/proc\/(\d+)\/fd (.+)$/.exec(line);
    if (m) out.push({ pid: Number(m[1]), target: m[2] ?? '' });
  }
  return out;
}

export function socketInode(target: string): number | null {
  const m = /^socket:\[(\d+)\]$/.exec(target);
  return m ? Number(m[1]) : null;
}

// character devices every container has, which CRIU handles
const HARMLESS_DEV =
  /^\/dev\/(null|zero|full|random|urandom|tty|console|ptmx|pts\/.*|shm\/.*|mqueue\/.*|stdin|stdout|stderr)( \(deleted\))?$/;
const GPU_DEV = /^\/dev\/(nvidia.*|dri\/.*|kfd|accel\/.*)$/;

export function deviceOf(target: string): { path: string; gpu: boolean } | null {
  if (!target.startsWith('/dev/') || HARMLESS_DEV.test(target)) return null;
  return { path: target, gpu: GPU_DEV.test(target) };
}

/** Splits "== name" delimited blocks of one section's output. */
export function blocks(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | null = null;
  let buf: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^== (\S+)$/.exec(line);
    if (m) {
      if (name !== null) out.set(name, buf.join('\n'));
      name = m[1] ?? '';
      buf = [];
    } else if (name !== null) buf.push(line);
  }
  if (name !== null) out.set(name, buf.join('\n'));
  return out;
}
