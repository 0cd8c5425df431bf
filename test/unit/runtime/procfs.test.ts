import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blocks,
  deviceOf,
  parseFdLinks,
  parseHexAddr,
  parseProcNet,
  parseSsListeners,
  parseSsUnix,
  splitHostPort,
} from '../../../src/runtime/procfs.ts';
import { loadScript, parsedFixture } from '../support/fixtures.ts';

describe('/proc and ss parsers on lab output', () => {
  const proc = parsedFixture('preflight-source-t5-dev').sections.get('pf.proc');
  const b = blocks(proc?.stdout ?? '');

  it('splits the probe blocks', () => {
    expect([...b.keys()]).toEqual(['pid', 'pids', 'fds', 'tcp', 'tcp6', 'udp', 'udp6', 'unix']);
  });

  it('reads /proc/net/tcp: listeners and an established connection to sshd', () => {
    const tcp = parseProcNet(b.get('tcp') ?? '', 'tcp', 4);
    expect(tcp.length).toBeGreaterThan(3);
    const ssh = tcp.find((s) => s.state === 1 && s.remotePort === 22);
    expect(ssh).toMatchObject({ localIp: '10.99.0.12', remoteIp: '10.99.0.12', remotePort: 22 });
    expect(tcp.find((s) => s.state === 10 && s.localPort === 22)?.localIp).toMatch(/^10\.99\.[01]\.12$/);
    const tcp6 = parseProcNet(b.get('tcp6') ?? '', 'tcp', 6);
    expect(tcp6[0]).toMatchObject({ localIp: '::', state: 10 });
  });

  it('reads fd links: sockets and devices', () => {
    const fds = parseFdLinks(b.get('fds') ?? '');
    expect(fds.some((f) => f.target === '/dev/fuse')).toBe(true);
    expect(fds.some((f) => /^socket:\[\d+\]$/.test(f.target))).toBe(true);
    expect(deviceOf('/dev/fuse')).toEqual({ path: '/dev/fuse', gpu: false });
    expect(deviceOf('/dev/null')).toBeNull();
    expect(deviceOf('/dev/pts/0')).toBeNull();
    expect(deviceOf('/dev/nvidia0')).toEqual({ path: '/dev/nvidia0', gpu: true });
    expect(deviceOf('pipe:[1]')).toBeNull();
  });

  it('reads ss -xH lines with paths and peer inodes', () => {
    const unix = parseSsUnix(b.get('unix') ?? '');
    expect(unix.length).toBeGreaterThan(5);
    const c = unix.find((u) => u.path.endsWith('containerd.sock.ttrpc'));
    expect(c?.inode).toBeGreaterThan(0);
    expect(c?.peerInode).toBeGreaterThan(0);
    expect(unix.find((u) => u.path === '*' && u.peerInode === 0)).toBeDefined();
  });

  it('reads ss -ltnH / -lunH', () => {
    const listen = parsedFixture('preflight-destination-alpha').sections.get('pf.listen');
    const lb = blocks(listen?.stdout ?? '');
    const tcp = parseSsListeners(lb.get('tcp') ?? '', 'tcp');
    expect(tcp).toContainEqual({ proto: 'tcp', ip: '10.99.0.11', port: 22 });
    const udp = parseSsListeners(lb.get('udp') ?? '', 'udp');
    // the sample workflow's stages listen on UDP 71xx/72xx on loopback
    expect(udp.some((l) => l.ip === '127.0.0.1' && l.port >= 7100 && l.port < 7300)).toBe(true);
    expect(loadScript('preflight-destination-alpha').host).toBe('alpha');
  });
});

describe('/proc and ss parsers (properties)', () => {
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));

  it('IPv4 /proc/net lines round-trip', () => {
    fc.assert(
      fc.property(
        v4,
        fc.nat(65535),
        v4,
        fc.nat(65535),
        fc.nat(11),
        fc.nat(2 ** 31),
        (l, lp, r, rp, st, ino) => {
          // little-endian, as the kernel prints it
          const addr = (a: number[]) =>
            a
              .slice()
              .reverse()
              .map((x) => hex(x, 2))
              .join('');
          const line = `   0: ${addr(l)}:${hex(lp, 4)} ${addr(r)}:${hex(rp, 4)} ${hex(st, 2)} 00000000:00000000 00:00000000 00000000     0        0 ${ino} 1 0000000000000000 100 0 0 10 0`;
          const [s] = parseProcNet(`  sl  local_address ...\n${line}\n`, 'tcp', 4);
          expect(s).toEqual({
            proto: 'tcp',
            family: 4,
            localIp: l.join('.'),
            localPort: lp,
            remoteIp: r.join('.'),
            remotePort: rp,
            state: st,
            inode: ino,
          });
        },
      ),
    );
  });

  it('IPv6 addresses: :: and ::1 as the kernel prints them', () => {
    expect(parseHexAddr('00000000000000000000000000000000:1DB2', 6)).toEqual({ ip: '::', port: 7602 });
    expect(parseHexAddr('00000000000000000000000001000000:0035', 6)).toEqual({ ip: '::1', port: 53 });
    expect(parseHexAddr('0000000000000000FFFF00000100007F:0016', 6)?.ip).toBe('127.0.0.1');
  });

  it('ss listener lines round-trip, with or without a Netid column', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          v4.map((a) => a.join('.')),
          fc.constant('[::]'),
          fc.constant('*'),
          fc.constant('127.0.0.53%lo'),
        ),
        fc.integer({ min: 1, max: 65535 }),
        fc.boolean(),
        (ip, port, netid) => {
          const line = `${netid ? 'udp   ' : ''}UNCONN 0      0      ${ip}:${port} 0.0.0.0:*`;
          const [l] = parseSsListeners(line, 'udp');
          const want = ip === '[::]' ? '::' : ip === '*' ? '0.0.0.0' : ip.replace('%lo', '');
          expect(l).toEqual({ proto: 'udp', ip: want, port });
        },
      ),
    );
  });

  it('no parser throws on junk', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('0', 'A', ':', ' ', '\n', '[', ']', 'u_str', '/proc/1/fd ', '%', '*'),
        }),
        (s) => {
          parseProcNet(s, 'tcp', 4);
          parseProcNet(s, 'udp', 6);
          parseSsListeners(s, 'tcp');
          parseSsUnix(s);
          parseFdLinks(s);
          blocks(s);
          splitHostPort(s);
        },
      ),
    );
  });
});
