// Ferry's ssh_config resolution against the real OpenSSH client, case by
// case over the corpus in test/fixtures/ssh-config (see its README).
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandProxyCommand,
  type ResolvedSshConfig,
  resolveJumpChain,
  resolveSshConfig,
  SshConfigError,
  type SshConfigOptions,
} from '../../../src/ssh/config.ts';
import { SSH_KEYWORDS } from '../../../src/ssh/keywords.ts';
import { ferryView, SSH, sshErrorLocation, sshG, sshTrace } from './ssh-oracle.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/ssh-config/', import.meta.url));

interface OracleCase {
  file: string;
  host: string;
  user?: string;
  port?: number;
}

function casesIn(file: string): OracleCase[] {
  const out: OracleCase[] = [];
  for (const line of readFileSync(join(FIXTURES, file), 'utf8').split('\n')) {
    const m = /^# oracle: (.*)$/.exec(line);
    if (m?.[1] === undefined) continue;
    const words = m[1].trim().split(/\s+/);
    const c: OracleCase = { file, host: words.shift() ?? '' };
    for (let i = 0; i < words.length; i += 2) {
      if (words[i] === '-l') c.user = words[i + 1];
      else if (words[i] === '-p') c.port = Number(words[i + 1]);
      else throw new Error(`${file}: bad oracle line ${line}`);
    }
    out.push(c);
  }
  return out;
}

const CASES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.conf'))
  .sort()
  .flatMap(casesIn);

const me = userInfo();
let root = '';
let home = '';
let env: NodeJS.ProcessEnv = {};

function prepareCopy(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      chmodSync(p, 0o755);
      prepareCopy(p);
    } else {
      // ssh refuses included files writable by others; git checkouts may differ
      chmodSync(p, 0o644);
      const text = readFileSync(p, 'utf8');
      if (text.includes('@FIXTURES@')) writeFileSync(p, text.replaceAll('@FIXTURES@', root));
    }
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-ssh-config-'));
  cpSync(FIXTURES, root, { recursive: true });
  prepareCopy(root);
  home = join(root, 'home');
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    USER: 'ferry-env-user',
    SHELL: '/bin/sh',
    LANG: 'C',
    LC_ALL: 'C',
  };
});

afterAll(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

function ferryOptions(extra: SshConfigOptions): SshConfigOptions {
  // ssh takes ~ and %d from the password database but globs Include with $HOME
  return { homeDir: me.homedir, envHome: home, localUser: me.username, env, ...extra };
}

function sshArgs(c: { user?: string; port?: number; proxyJump?: string }): string[] {
  const a: string[] = [];
  if (c.user !== undefined) a.push('-l', c.user);
  if (c.port !== undefined) a.push('-p', String(c.port));
  if (c.proxyJump !== undefined) a.push('-J', c.proxyJump);
  return a;
}

function attempt(f: () => ResolvedSshConfig): ResolvedSshConfig | SshConfigError {
  try {
    return f();
  } catch (err) {
    if (err instanceof SshConfigError) return err;
    throw err;
  }
}

/** Compare one resolution with ssh, including what ssh expands only when connecting. */
function compareWithSsh(
  label: string,
  cfgArgs: string[],
  host: string,
  opts: SshConfigOptions,
): ResolvedSshConfig | undefined {
  const args = [...cfgArgs, ...sshArgs(opts), host];
  const g = sshG(args, env);
  const ours = attempt(() => resolveSshConfig(host, opts));
  if (!g.ok) {
    const where = sshErrorLocation(g.stderr);
    if (/Bad configuration option/.test(g.stderr)) {
      // the one deliberate difference: ferry warns about the line instead of refusing
      expect(ours, label).not.toBeInstanceOf(SshConfigError);
      expect((ours as ResolvedSshConfig).warnings).toContainEqual(expect.objectContaining(where));
      return undefined;
    }
    expect(ours, `${label}: ssh refused it: ${g.stderr}`).toBeInstanceOf(SshConfigError);
    if (where !== undefined) {
      expect((ours as SshConfigError).problems, label).toContainEqual(expect.objectContaining(where));
    }
    return undefined;
  }
  if (ours instanceof SshConfigError)
    throw new Error(`${label}: ssh accepted it, ferry did not: ${ours.message}`);
  expect(ferryView(ours), label).toEqual(g.view);

  // run the config's own ProxyCommand only when it is a harmless echo/true
  const safeProxy = /^(echo|true)( |$)/.test(g.all.get('proxycommand')?.[0] ?? '');
  // -J cannot be combined with the ProxyCommand override; it changes no expansion
  const t = sshTrace([...cfgArgs, ...sshArgs({ ...opts, proxyJump: undefined }), host], env, safeProxy);
  expect(t.reachedProtocol, `${label}: ${t.stderr}`).toBe(true);
  // without CertificateFile, ssh also tries `<identity>-cert` next to each identity
  const tried =
    ours.certificateFiles.length > 0
      ? ours.identityFiles
      : ours.identityFiles.flatMap((f) => [f, `${f}-cert`]);
  expect(tried, `${label} identity files`).toEqual(t.identityFiles);
  expect(ours.certificateFiles, `${label} certificate files`).toEqual(t.certificateFiles);
  if (safeProxy) expect(`exec ${expandProxyCommand(ours)}`, `${label} proxy command`).toBe(t.proxyCommand);
  return ours;
}

describe('ssh_config resolution matches ssh -G', () => {
  it('has a corpus of at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(
    CASES.map((c) => [
      `${c.file} ${c.user ?? ''}${c.user ? '@' : ''}${c.host}${c.port ? `:${c.port}` : ''}`,
      c,
    ]),
  )('%s', (label, c) => {
    const file = join(root, c.file);
    const opts = ferryOptions({ configFile: file, user: c.user, port: c.port });
    const cfg = compareWithSsh(label, ['-F', file], c.host, opts);
    if (cfg === undefined || cfg.proxyJump.length === 0 || c.file.startsWith('error-')) return;
    // every hop as the nested `ssh -l -p -J hop` that ssh spawns would see it
    for (const hop of resolveJumpChain(c.host, opts)) {
      const hopOpts = ferryOptions({ configFile: file, ...hop.args });
      const got = compareWithSsh(`${label} via ${hop.spec.spec}`, ['-F', file], hop.spec.host, hopOpts);
      expect(got).toEqual(hop.config);
    }
  });

  it('reads the user and system config like ssh without -F', () => {
    const host = 'some-host.example';
    compareWithSsh('no -F', [], host, ferryOptions({}));
  });
});

describe('keyword table', () => {
  it('ssh 9.2 knows every keyword ferry accepts silently', () => {
    const file = join(root, 'all-keywords.conf');
    const lines = [...SSH_KEYWORDS].filter((k) => k !== 'host' && k !== 'match').map((k) => `  ${k} x`);
    writeFileSync(file, `Host never-matches\n${lines.join('\n')}\n`);
    const g = sshG(['-F', file, 'h'], env);
    const stderr = g.ok ? '' : g.stderr;
    expect(stderr).not.toMatch(/Bad configuration option/);
  });

  it('ssh rejects the words ferry treats as unknown', () => {
    const unknown = ['usekeychain', 'tag', 'channeltimeout', 'wombat'];
    const file = join(root, 'unknown-keywords.conf');
    writeFileSync(file, `Host never-matches\n${unknown.map((k) => `  ${k} x`).join('\n')}\n`);
    const g = sshG(['-F', file, 'h'], env);
    expect(g.ok).toBe(false);
    for (const k of unknown) {
      expect(SSH_KEYWORDS.has(k)).toBe(false);
      expect(g.ok ? '' : g.stderr).toContain(`Bad configuration option: ${k}`);
    }
  });

  it('uses the ssh binary this corpus was written for', () => {
    expect(statSync(SSH).isFile()).toBe(true);
  });
});
