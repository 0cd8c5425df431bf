// known_hosts parsing, lookup and writing, checked against ssh-keygen.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addKnownHost,
  checkHostKey,
  entryMatches,
  hashHostName,
  hostKeyQuery,
  knownHostsFiles,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  sha256Fingerprint,
} from '../../../src/ssh/known-hosts.ts';
import { SSH_KEYGEN } from './ssh-oracle.ts';

interface Key {
  type: string;
  blob: string;
  line: string;
  fingerprint: string;
}

let dir = '';
const keys: Key[] = [];

function keygen(type: string, name: string): Key {
  const path = join(dir, name);
  execFileSync(SSH_KEYGEN, ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  const [t, blob] = readFileSync(`${path}.pub`, 'utf8').trim().split(' ');
  // ssh-keygen -l prints "bits SHA256:... comment (TYPE)"
  const fingerprint = execFileSync(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', `${path}.pub`], {
    encoding: 'utf8',
  }).split(' ')[1];
  return { type: t ?? '', blob: blob ?? '', line: `${t} ${blob}`, fingerprint: fingerprint ?? '' };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-known-hosts-'));
  keys.push(keygen('ed25519', 'k0'), keygen('ed25519', 'k1'), keygen('ecdsa', 'k2'));
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const k = (i: number) => keys[i] as Key;

/** Line numbers ssh-keygen -F reports for a name. */
function keygenFind(file: string, name: string): number[] {
  const r = spawnSync(SSH_KEYGEN, ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

describe('sha256Fingerprint', () => {
  it('prints what ssh-keygen -l prints', () => {
    for (const key of keys) {
      expect(sha256Fingerprint(key.blob)).toBe(key.fingerprint);
      expect(sha256Fingerprint(Buffer.from(key.blob, 'base64'))).toBe(key.fingerprint);
    }
  });
});

describe('host matching', () => {
  it('finds the same lines as ssh-keygen -F for plain, hashed, negated, wildcard and port entries', () => {
    const plain = join(dir, 'plain');
    writeFileSync(plain, `h4 ${k(0).line}\n[h5]:2200 ${k(0).line}\nh6 ${k(0).line}\n`);
    execFileSync(SSH_KEYGEN, ['-H', '-f', plain], { stdio: 'ignore' });
    const hashed = readFileSync(plain, 'utf8');
    const file = join(dir, 'mixed');
    writeFileSync(
      file,
      [
        `h1,[h2]:2222,!bad*,*.wild ${k(0).line}`,
        `@revoked * ${k(2).line}`,
        `@cert-authority *.wild ${k(1).line}`,
        '# comment',
        '',
        `  h3\t${k(1).line} trailing comment`,
        'not a valid line',
        `|1|bad|hash ${k(0).line}`,
        `@bogus h1 ${k(0).line}`,
        `h1 ${k(0).type} AAAA`,
        hashed.trimEnd(),
        `ho?t,Mixed.Case ${k(1).line}`,
      ].join('\n'),
    );
    const parsed = parseKnownHosts(readFileSync(file, 'utf8'), file);
    const names = [
      'h1',
      'H1',
      '[h2]:2222',
      'h2',
      'bad.wild',
      'x.wild',
      'h3',
      'h4',
      '[h5]:2200',
      'h5',
      'h6',
      'host',
      'mixed.case',
      'nope',
    ];
    for (const name of names) {
      const ours = parsed.entries.filter((e) => entryMatches(e, name)).map((e) => e.line);
      // ssh-keygen -F does not decode keys; ssh does and skips line 10's broken one
      expect(ours, name).toEqual(keygenFind(file, name).filter((l) => l !== 10));
    }
    expect(parsed.invalid.map((i) => i.line)).toEqual([7, 8, 9, 10]);
  });
});

describe('checkHostKey', () => {
  it('reports match, unknown, changed and revoked with file and line', () => {
    const user = join(dir, 'user_known_hosts');
    const global = join(dir, 'global_known_hosts');
    writeFileSync(user, `# mine\nweb1,web2 ${k(0).line}\n[web1]:2222 ${k(1).line}\n`);
    writeFileSync(global, `web3 ${k(0).line}\nweb3 ${k(1).line}\n@revoked * ${k(2).line}\n`);
    const files = [user, global, join(dir, 'missing')];

    expect(checkHostKey(files, { host: 'web2' }, k(0))).toEqual({
      status: 'match',
      file: user,
      line: 2,
      warnings: [],
    });
    expect(checkHostKey(files, { host: 'WEB1', port: 2222 }, k(1))).toMatchObject({
      status: 'match',
      line: 3,
    });
    expect(checkHostKey(files, { host: 'web9' }, k(0))).toEqual({ status: 'unknown', warnings: [] });
    expect(checkHostKey(files, { host: 'web1' }, k(1))).toEqual({
      status: 'changed',
      file: user,
      line: 2,
      expectedKeyType: k(0).type,
      expectedFingerprint: k(0).fingerprint,
      warnings: [],
    });
    // a matching key anywhere wins over other keys for the host
    expect(checkHostKey(files, { host: 'web3' }, k(1))).toMatchObject({
      status: 'match',
      file: global,
      line: 2,
    });
    expect(checkHostKey(files, { host: 'anything' }, k(2))).toEqual({
      status: 'revoked',
      file: global,
      line: 3,
      warnings: [],
    });
    expect(knownKeyTypes(files, { host: 'web3' })).toEqual([k(0).type]);
  });

  it('treats a revoked key as revoked even where it is also trusted', () => {
    const f = join(dir, 'revoked_too');
    writeFileSync(f, `h ${k(0).line}\n@revoked h ${k(0).line}\n`);
    expect(checkHostKey([f], { host: 'h' }, k(0))).toMatchObject({ status: 'revoked', line: 2 });
  });

  it('reports @cert-authority lines as unsupported without trusting them', () => {
    const f = join(dir, 'ca');
    writeFileSync(f, `@cert-authority *.example ${k(1).line}\n`);
    const r = checkHostKey([f], { host: 'a.example' }, k(1));
    expect(r.status).toBe('unknown');
    expect(r.warnings).toEqual([
      { file: f, line: 1, message: expect.stringMatching(/cert-authority.*not supported/) },
    ]);
  });
});

describe('hostKeyQuery', () => {
  it('looks up the HostKeyAlias without a port, else [hostname]:port', () => {
    expect(hostKeyQuery({ hostKeyAlias: 'farm', hostName: 'h', port: 2222 })).toEqual({
      host: 'farm',
      port: 22,
    });
    expect(hostKeyQuery({ hostKeyAlias: undefined, hostName: 'h', port: 2222 })).toEqual({
      host: 'h',
      port: 2222,
    });
    expect(knownHostsName('H', 2222)).toBe('[h]:2222');
    expect(knownHostsFiles({ userKnownHostsFiles: ['u1', 'u2'], globalKnownHostsFiles: ['g'] })).toEqual([
      'u1',
      'u2',
      'g',
    ]);
  });
});

describe('addKnownHost', () => {
  it('writes entries ssh-keygen -F finds, hashed or not, with [host]:port off 22', () => {
    const f = join(dir, 'new', 'sub', 'known_hosts');
    addKnownHost(f, { host: 'Plain.Example' }, k(0), { hash: false });
    addKnownHost(f, { host: 'hashed.example' }, k(1), { hash: true });
    addKnownHost(f, { host: 'ported.example', port: 2222 }, k(2), { hash: true });
    addKnownHost(f, { host: 'ported-plain.example', port: 2200 }, k(0), { hash: false });

    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o700);
    const lines = readFileSync(f, 'utf8').split('\n');
    expect(lines[0]).toBe(`plain.example ${k(0).line}`);
    expect(lines[1]).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    expect(lines[3]).toBe(`[ported-plain.example]:2200 ${k(0).line}`);

    expect(keygenFind(f, 'plain.example')).toEqual([1]);
    expect(keygenFind(f, 'hashed.example')).toEqual([2]);
    expect(keygenFind(f, '[ported.example]:2222')).toEqual([3]);
    expect(keygenFind(f, 'ported.example')).toEqual([]);
    expect(keygenFind(f, '[ported-plain.example]:2200')).toEqual([4]);
    expect(checkHostKey([f], { host: 'ported.example', port: 2222 }, k(2))).toMatchObject({
      status: 'match',
      line: 3,
    });
  });

  it('does not glue a new entry onto a last line without newline', () => {
    const f = join(dir, 'no_newline');
    writeFileSync(f, `a ${k(0).line}`);
    addKnownHost(f, { host: 'b' }, k(1), { hash: false });
    expect(readFileSync(f, 'utf8')).toBe(`a ${k(0).line}\nb ${k(1).line}\n`);
  });

  it('hashes the same way as ssh-keygen -H', () => {
    const f = join(dir, 'to_hash');
    writeFileSync(f, `[some.host]:2022 ${k(0).line}\n`);
    execFileSync(SSH_KEYGEN, ['-H', '-f', f], { stdio: 'ignore' });
    const field = readFileSync(f, 'utf8').split(' ')[0] ?? '';
    const salt = Buffer.from(field.split('|')[2] ?? '', 'base64');
    expect(hashHostName(knownHostsName('some.host', 2022), salt)).toBe(field);
  });
});
