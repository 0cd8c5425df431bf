/**
 * Resolve an OpenSSH client configuration for one host the way `ssh -G host`
 * does (OpenSSH 9.2p1), for the keywords ferry uses.
 *
 * Why not the `ssh-config` package's parser or compute(): its tokenizer does
 * not follow ssh's (it drops `# ...` from ProxyCommand, keeps single quotes,
 * cuts `a#b`, accepts extra arguments, keeps no line numbers), its `?`
 * matches zero characters, and compute() runs `Match exec` commands through
 * a shell by default. Every one of those changes what ssh would do, so the
 * lexer here follows ssh's own rules (see config-lexer.ts), and the oracle
 * tests compare every result with the real `ssh -G` (see
 * test/unit/ssh/ssh-config-package.test.ts for the package's differences).
 *
 * Deliberate differences from ssh: an unknown keyword is a warning, not an
 * error; `Match exec` is never run (a warning, treated as not matching);
 * CanonicalizeHostname is not performed; keywords ferry does not use are not
 * validated.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname as osHostname, userInfo } from 'node:os';
import { argvSplit, type Cursor, rawArgument, splitLine, strdelim } from './config-lexer.ts';
import { ExpandError, passwdHome, percentExpand, tildeExpand } from './expand.ts';
import { glob } from './glob.ts';
import { KEYWORD_ALIASES, SSH_KEYWORDS } from './keywords.ts';
import { asciiLower, matchHostname, matchPattern, matchPatternList } from './pattern.ts';
import { type JumpHop, parseProxyJump } from './proxy-jump.ts';
import { a2port, atoiErr, convtime, validHostnameArg, validUserArg } from './values.ts';

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

/** Where a problem was found; file/line are absent for problems with the arguments. */
export interface ConfigProblem {
  file?: string;
  line?: number;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return p.file === undefined ? p.message : `${p.file} line ${p.line ?? 0}: ${p.message}`;
}

/** A configuration ssh itself would refuse; each problem names its file and line. */
export class SshConfigError extends Error {
  override name = 'SshConfigError';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export interface ResolvedSshConfig {
  /** the host as asked for (ssh's "original host", `%n`) */
  host: string;
  /** HostName with `%h` expanded, lowercased unless it is an address (`%h`) */
  hostName: string;
  user: string;
  port: number;
  /**
   * identity files to try, in order, with `~`, `%` tokens and `${VAR}` expanded; `none` dropped.
   * Without CertificateFile, ssh also tries `<file>-cert` next to each.
   */
  identityFiles: string[];
  /** the same as configured (what `ssh -G` prints), including the defaults */
  identityFileSpecs: string[];
  identitiesOnly: boolean;
  certificateFiles: string[];
  certificateFileSpecs: string[];
  /** empty when unset or `none` */
  proxyJump: JumpHop[];
  /** as configured, tokens unexpanded (see expandProxyCommand); undefined when unset or `none` */
  proxyCommand: string | undefined;
  /** seconds; undefined means none (the OS default) */
  connectTimeout: number | undefined;
  /** seconds, 0 = off */
  serverAliveInterval: number;
  serverAliveCountMax: number;
  connectionAttempts: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  /** expanded paths; empty for `UserKnownHostsFile none` */
  userKnownHostsFiles: string[];
  /** as configured (ssh does not expand these); empty for `none` */
  globalKnownHostsFiles: string[];
  /** lowercased, as ssh uses it */
  hostKeyAlias: string | undefined;
  hashKnownHosts: boolean;
  batchMode: boolean;
  /** things ssh would do differently or that ferry skipped (Match exec, unknown keywords...) */
  warnings: ConfigProblem[];
}

export interface SshConfigOptions {
  /** like `ssh -F`: read only this file instead of the user and system config */
  configFile?: string;
  /** the user's home from the password database, as ssh uses for `~`, `%d` and ~/.ssh/config */
  homeDir?: string;
  /** $HOME, which ssh's glob(3) uses for `~` in Include; defaults to homeDir */
  envHome?: string;
  /** local user name (`%u`, `Match localuser`, the default User) */
  localUser?: string;
  /** local uid (`%i`, ownership check of included files) */
  uid?: number;
  /** local host name (`%l`; `%L` is the part before the first dot) */
  localHostname?: string;
  /** system-wide config, default /etc/ssh/ssh_config */
  systemConfig?: string;
  /** directory for relative Include in the system config, default /etc/ssh */
  systemConfigDir?: string;
  /** environment for `${VAR}`; defaults to process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** like `ssh -l` */
  user?: string;
  /** like `ssh -p` */
  port?: number;
  /** like `ssh -J` */
  proxyJump?: string;
}

const DEFAULT_IDENTITY_FILES = [
  '~/.ssh/id_rsa',
  '~/.ssh/id_ecdsa',
  '~/.ssh/id_ecdsa_sk',
  '~/.ssh/id_ed25519',
  '~/.ssh/id_ed25519_sk',
  '~/.ssh/id_xmss',
  '~/.ssh/id_dsa',
];
const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
const MAX_INCLUDE_DEPTH = 16;
const MAX_FILES = 100;
const MAX_KNOWN_HOSTS_FILES = 32;

// read_config_file flags, as in ssh's readconf.h
const CHECKPERM = 1;
const USERCONF = 2;
const FINAL = 4;
const NEVERMATCH = 8;

const FLAG_VALUES: Readonly<Record<string, boolean>> = { yes: true, true: true, no: false, false: false };
const STRICT_VALUES: Readonly<Record<string, StrictHostKeyChecking>> = {
  yes: 'yes',
  true: 'yes',
  no: 'no',
  false: 'no',
  off: 'no',
  ask: 'ask',
  'accept-new': 'accept-new',
};
const CANONICALIZE_VALUES: Readonly<Record<string, string>> = {
  yes: 'yes',
  true: 'yes',
  no: 'no',
  false: 'no',
  always: 'always',
};

interface At {
  file: string;
  line: number;
}

interface Slot<T> {
  value: T;
  /** undefined for values from the command-line options */
  at?: At;
}

interface FileEntry {
  spec: string;
  userProvided: boolean;
  at: At;
}

type JumpState = { none: true; at?: At } | { none: false; hops: JumpHop[]; at?: At };

/** Option values in ssh's "first one obtained wins" store. */
interface State {
  hostName?: Slot<string>;
  user?: Slot<string>;
  port?: Slot<number>;
  hostKeyAlias?: Slot<string>;
  identityFiles: FileEntry[];
  certificateFiles: FileEntry[];
  identitiesOnly?: boolean;
  batchMode?: boolean;
  hashKnownHosts?: boolean;
  strict?: StrictHostKeyChecking;
  connectTimeout?: number;
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  connectionAttempts?: Slot<number>;
  userKnownHosts?: Slot<string[]>;
  globalKnownHosts?: string[];
  proxyCommand?: Slot<string>;
  jump?: JumpState;
  ignoreUnknown?: string;
  canonicalize?: Slot<string>;
}

interface Settings {
  configFile: string | undefined;
  homeDir: string;
  envHome: string;
  localUser: string;
  uid: number;
  localHostname: string;
  systemConfig: string;
  systemConfigDir: string;
  env: Readonly<Record<string, string | undefined>>;
}

function settingsFrom(o: SshConfigOptions): Settings {
  let info: { username: string; homedir: string; uid: number } | undefined;
  const me = () => {
    info ??= userInfo();
    return info;
  };
  const homeDir = o.homeDir ?? me().homedir;
  return {
    configFile: o.configFile,
    homeDir,
    envHome: o.envHome ?? o.homeDir ?? process.env.HOME ?? homeDir,
    localUser: o.localUser ?? me().username,
    uid: o.uid ?? process.getuid?.() ?? me().uid,
    localHostname: o.localHostname ?? osHostname(),
    systemConfig: o.systemConfig ?? '/etc/ssh/ssh_config',
    systemConfigDir: o.systemConfigDir ?? '/etc/ssh',
    env: o.env ?? process.env,
  };
}

/**
 * Resolve the configuration for `host` as `ssh -G host` would, with the
 * expansions ssh applies when it connects. Throws SshConfigError where ssh
 * would refuse to run.
 */
export function resolveSshConfig(host: string, options: SshConfigOptions = {}): ResolvedSshConfig {
  return new Resolver(host, options).run();
}

/** One hop of a resolved jump chain. */
export interface JumpChainHop {
  /** the ProxyJump entry the hop comes from */
  spec: JumpHop;
  /** what ssh passes the nested ssh for this hop: `-l`, `-p`, `-J` */
  args: { user?: string; port?: number; proxyJump?: string };
  /** the hop resolved through the config with those arguments */
  config: ResolvedSshConfig;
}

/**
 * The hops ssh goes through to reach `host` because of ProxyJump, in the
 * order they are connected (first hop first). ssh reaches the last hop of
 * `a,b,c` by spawning `ssh -l .. -p .. -J a,b -W host:port c`, and so on
 * down to `a`, which gets no -J, so `a`'s own ProxyJump is followed too.
 * Each hop is resolved the way that nested ssh resolves it. Throws
 * SshConfigError naming the cycle if the hops loop back.
 */
export function resolveJumpChain(host: string, options: SshConfigOptions = {}): JumpChainHop[] {
  const chain: JumpChainHop[] = [];
  // the hosts being resolved through their first hop, as `user@host:port` labels
  const visiting: string[] = [];
  const resolveHop = (hop: JumpHop, proxyJump: string | undefined): JumpChainHop => {
    checkHopArgs(hop);
    const args = { user: hop.user, port: hop.port, proxyJump };
    return { spec: hop, args, config: resolveSshConfig(hop.host, { ...options, ...args }) };
  };
  const walk = (cfg: ResolvedSshConfig, label: string): void => {
    const seen = visiting.indexOf(label);
    if (seen >= 0) {
      const names = [...visiting.slice(seen), label];
      throw new SshConfigError([{ message: `ProxyJump cycle: ${names.join(' -> ')}` }]);
    }
    visiting.push(label);
    const hops = cfg.proxyJump;
    const first = hops[0];
    if (first !== undefined) {
      const firstHop = resolveHop(first, undefined);
      walk(firstHop.config, hopLabel(first.host, first.user, first.port));
      chain.push(firstHop);
      for (let i = 1; i < hops.length; i++) {
        const rest = hops
          .slice(0, i)
          .map((h) => h.spec)
          .join(',');
        chain.push(resolveHop(hops[i] as JumpHop, rest));
      }
    }
    visiting.pop();
  };
  walk(resolveSshConfig(host, options), hopLabel(host, options.user, options.port));
  return chain;
}

function hopLabel(host: string, user: string | undefined, port: number | undefined): string {
  return `${user !== undefined ? `${user}@` : ''}${host}${port !== undefined ? `:${port}` : ''}`;
}

/** The nested ssh gets the hop on its command line, where ssh 9.2 checks for shell metacharacters. */
function checkHopArgs(hop: JumpHop): void {
  if (!validHostnameArg(hop.host)) {
    throw new SshConfigError([
      { message: `ProxyJump hop "${hop.spec}": hostname contains invalid characters` },
    ]);
  }
  if (hop.user !== undefined && !validUserArg(hop.user)) {
    throw new SshConfigError([
      { message: `ProxyJump hop "${hop.spec}": remote username contains invalid characters` },
    ]);
  }
}

/**
 * The ProxyCommand with its tokens (%h %k %n %p %r %%) expanded, as ssh runs
 * it (ssh prefixes `exec ` and hands it to $SHELL -c).
 */
export function expandProxyCommand(cfg: ResolvedSshConfig): string | undefined {
  if (cfg.proxyCommand === undefined) return undefined;
  try {
    return percentExpand(cfg.proxyCommand, {
      tokens: {
        h: cfg.hostName,
        k: cfg.hostKeyAlias ?? cfg.host,
        n: cfg.host,
        p: String(cfg.port),
        r: cfg.user,
      },
    });
  } catch (err) {
    throw new SshConfigError([{ message: `ProxyCommand: ${(err as Error).message}` }]);
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ELOOP: 'Too many levels of symbolic links',
  ENOTDIR: 'Not a directory',
};

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined ? ERRNO_TEXT[code] : undefined) ?? (err as Error).message;
}

/** A file's lines, or why it could not be read. */
type FileRead = { lines: string[] } | { missing: true } | { error: string };

class Resolver {
  private readonly s: Settings;
  private readonly st: State = { identityFiles: [], certificateFiles: [] };
  private readonly warnings: ConfigProblem[] = [];
  private readonly warned = new Set<string>();
  private wantFinal = false;
  private readonly files = new Map<string, FileRead>();
  private readonly hostArg: string;
  private readonly opts: SshConfigOptions;

  constructor(hostArg: string, opts: SshConfigOptions) {
    this.hostArg = hostArg;
    this.opts = opts;
    this.s = settingsFrom(opts);
  }

  run(): ResolvedSshConfig {
    const { st, s, opts } = this;
    if (!validHostnameArg(this.hostArg)) fail('hostname contains invalid characters');
    if (opts.user !== undefined) {
      if (!validUserArg(opts.user)) fail('remote username contains invalid characters');
      st.user = { value: opts.user };
    }
    if (opts.port !== undefined) {
      if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535)
        fail(`Bad port '${opts.port}'`);
      st.port = { value: opts.port };
    }
    if (opts.proxyJump !== undefined) {
      const j = parseProxyJump(opts.proxyJump);
      if (j === null) fail('Invalid -J argument');
      st.jump = j === 'none' ? { none: true } : { none: false, hops: j };
      st.proxyCommand = { value: 'none' };
    }

    this.readAll(false);

    // what ssh.c does between the two passes
    let host = this.hostArg;
    if (st.hostName !== undefined) host = this.expandHostName(st.hostName);
    if (isIP(host) === 0) host = asciiLower(host);
    if (st.canonicalize !== undefined && st.canonicalize.value !== 'no') {
      this.warn(st.canonicalize.at, 'CanonicalizeHostname is not performed by ferry; the name is used as is');
      this.wantFinal = true;
    }
    if (this.wantFinal) {
      st.hostName = { value: host, at: st.hostName?.at };
      this.readAll(true);
    }

    const user = st.user?.value ?? s.localUser;
    const port = st.port?.value ?? 22;
    const hostKeyAlias = st.hostKeyAlias === undefined ? undefined : asciiLower(st.hostKeyAlias.value);

    let proxyJump: JumpHop[] = [];
    if (st.jump !== undefined && !st.jump.none) {
      proxyJump = st.jump.hops;
      const last = proxyJump.at(-1) as JumpHop;
      if (last.host === host && (last.port ?? 22) === port && (last.user ?? user) === user) {
        fail(`jumphost loop via ${last.host}`, st.jump.at);
      }
    }
    const proxyCommand =
      st.proxyCommand === undefined || st.proxyCommand.value === 'none' ? undefined : st.proxyCommand.value;

    const connectionAttempts = st.connectionAttempts?.value ?? 1;
    if (connectionAttempts <= 0) fail('Invalid number of ConnectionAttempts', st.connectionAttempts?.at);

    const identities: FileEntry[] =
      st.identityFiles.length > 0
        ? st.identityFiles
        : DEFAULT_IDENTITY_FILES.map((spec) => ({ spec, userProvided: false, at: { file: '', line: 0 } }));

    // the tokens of ssh's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS
    const tokens: Record<string, string> = {
      C: createHash('sha1').update(`${s.localHostname}${host}${port}${user}`).digest('hex'),
      L: s.localHostname.split('.')[0] ?? '',
      i: String(s.uid),
      k: hostKeyAlias ?? this.hostArg,
      l: s.localHostname,
      n: this.hostArg,
      p: String(port),
      d: s.homeDir,
      h: host,
      r: user,
      u: s.localUser,
    };
    const expandPath = (spec: string, keyword: string, at: At | undefined): string => {
      try {
        const tilded = tildeExpand(spec, { homeDir: s.homeDir });
        return percentExpand(tilded, { tokens, env: s.env });
      } catch (err) {
        if (err instanceof ExpandError) fail(`${keyword} "${spec}": ${err.message}`, at);
        throw err;
      }
    };

    const ukh = st.userKnownHosts ?? { value: DEFAULT_USER_KNOWN_HOSTS };
    const userKnownHostsFiles = isNone(ukh.value)
      ? []
      : ukh.value.map((f) => expandPath(f, 'UserKnownHostsFile', ukh.at));
    const gkh = st.globalKnownHosts ?? DEFAULT_GLOBAL_KNOWN_HOSTS;

    const expandList = (list: FileEntry[], keyword: string) =>
      list.filter((f) => asciiLower(f.spec) !== 'none').map((f) => expandPath(f.spec, keyword, f.at));
    const batchMode = st.batchMode ?? false;

    return {
      host: this.hostArg,
      hostName: host,
      user,
      port,
      identityFiles: expandList(identities, 'IdentityFile'),
      identityFileSpecs: identities.map((f) => f.spec),
      identitiesOnly: st.identitiesOnly ?? false,
      certificateFiles: expandList(st.certificateFiles, 'CertificateFile'),
      certificateFileSpecs: st.certificateFiles.map((f) => f.spec),
      proxyJump,
      proxyCommand,
      connectTimeout: st.connectTimeout,
      // ssh turns keepalives on in batch mode so that dead links are noticed
      serverAliveInterval: st.serverAliveInterval ?? (batchMode ? 300 : 0),
      serverAliveCountMax: st.serverAliveCountMax ?? 3,
      connectionAttempts,
      strictHostKeyChecking: st.strict ?? 'ask',
      userKnownHostsFiles,
      globalKnownHostsFiles: isNone(gkh) ? [] : [...gkh],
      hostKeyAlias,
      hashKnownHosts: st.hashKnownHosts ?? false,
      batchMode,
      warnings: this.warnings,
    };
  }

  /** HostName with %h (and %%) expanded, as ssh does before matching and connecting. */
  private expandHostName(slot: Slot<string>): string {
    try {
      return percentExpand(slot.value, { tokens: { h: this.hostArg } });
    } catch (err) {
      if (err instanceof ExpandError) fail(`HostName "${slot.value}": ${err.message}`, slot.at);
      throw err;
    }
  }

  private readAll(finalPass: boolean): void {
    const f = finalPass ? FINAL : 0;
    const { configFile } = this.s;
    if (configFile !== undefined) {
      const r = this.readConfigFile(configFile, USERCONF | f, { active: true }, 0);
      if (r !== true) fail(`Can't open user config file ${configFile}: ${r}`);
      return;
    }
    this.readConfigFile(`${this.s.homeDir}/.ssh/config`, CHECKPERM | USERCONF | f, { active: true }, 0);
    this.readConfigFile(this.s.systemConfig, f, { active: true }, 0);
  }

  private load(path: string): FileRead {
    let r = this.files.get(path);
    if (r === undefined) {
      try {
        r = { lines: readFileSync(path, 'utf8').split('\n') };
        // a final newline does not start another line
        if (r.lines.at(-1) === '') r.lines.pop();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ssh can open a directory, reading it just yields no lines
        if (code === 'EISDIR') r = { lines: [] };
        else if (code === 'ENOENT') r = { missing: true };
        else r = { error: errnoText(err) };
      }
      this.files.set(path, r);
    }
    return r;
  }

  /** ssh's read_config_file_depth(); true when read, else why it could not be opened. */
  private readConfigFile(
    path: string,
    flags: number,
    active: { active: boolean },
    depth: number,
  ): true | string {
    if (depth > MAX_INCLUDE_DEPTH) fail('Too many recursive configuration includes');
    const r = this.load(path);
    if ('missing' in r) return ERRNO_TEXT.ENOENT as string;
    if ('error' in r) return r.error;
    if (flags & CHECKPERM) {
      const st = statSync(path);
      if ((st.uid !== 0 && st.uid !== this.s.uid) || (st.mode & 0o022) !== 0) {
        fail(`Bad owner or permissions on ${path}`);
      }
    }
    const errors: ConfigProblem[] = [];
    r.lines.forEach((raw, i) => {
      this.processLine(raw, { file: path, line: i + 1 }, active, flags, depth, errors);
    });
    // ssh reports every bad line of a file, then gives up
    if (errors.length > 0) throw new SshConfigError(errors);
    return true;
  }

  private warn(at: At | undefined, message: string): void {
    const p: ConfigProblem = at === undefined || at.file === '' ? { message } : { ...at, message };
    const key = formatProblem(p);
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warnings.push(p);
  }

  private processLine(
    raw: string,
    at: At,
    ref: { active: boolean },
    flags: number,
    depth: number,
    errors: ConfigProblem[],
  ): void {
    const err = (message: string): false => {
      errors.push({ ...at, message });
      return false;
    };
    const split = splitLine(raw);
    if (split.kind === 'blank') return;
    if (split.kind === 'noArgument') {
      err(`no argument after keyword "${split.keyword}"`);
      return;
    }
    const { keyword, rest } = split;
    const { st } = this;
    if (!SSH_KEYWORDS.has(keyword)) {
      if (st.ignoreUnknown !== undefined && matchPatternList(keyword, st.ignoreUnknown, true) === 'match') {
        return;
      }
      // ssh refuses the whole config here; ferry goes on without the line
      this.warn(at, `Bad configuration option: ${keyword} (ignored)`);
      return;
    }
    const av = argvSplit(rest);
    if (av === null) {
      err('invalid quotes');
      return;
    }
    const active = ref.active;
    const next = () => av.shift();
    const one = (): string | undefined => {
      const a = next();
      if (a === undefined || a === '') {
        err('Missing argument.');
        return undefined;
      }
      return a;
    };
    const setSlot = <K extends keyof State>(key: K, value: State[K]) => {
      if (active && st[key] === undefined) st[key] = value;
    };
    const flag = (key: 'identitiesOnly' | 'batchMode' | 'hashKnownHosts'): boolean => {
      const a = next();
      if (a === undefined || a === '') return err('missing argument.');
      const v = FLAG_VALUES[asciiLower(a)];
      if (v === undefined) return err(`unsupported option "${a}".`);
      setSlot(key, v);
      return true;
    };
    const time = (key: 'connectTimeout' | 'serverAliveInterval'): boolean => {
      const a = next();
      if (a === undefined || a === '') return err('missing time value.');
      const v = a === 'none' ? -1 : convtime(a);
      if (v === -1 && a !== 'none') return err('invalid time value.');
      // `none` is the same as unset, so a later line may still set it
      if (v !== -1) setSlot(key, v);
      return true;
    };
    const int = (key: 'serverAliveCountMax' | 'connectionAttempts'): boolean => {
      const r = atoiErr(next());
      if ('error' in r) return err(`integer value ${r.error}.`);
      if (key === 'connectionAttempts') setSlot(key, { value: r.value, at });
      else setSlot(key, r.value);
      return true;
    };
    const files = (list: FileEntry[], what: string): boolean => {
      const a = one();
      if (a === undefined) return false;
      if (!active) return true;
      if (list.length >= MAX_FILES) return err(`Too many ${what} files specified (max ${MAX_FILES}).`);
      const userProvided = (flags & USERCONF) !== 0;
      // ssh skips a file already listed from the same kind of config
      if (!list.some((f) => f.spec === a && f.userProvided === userProvided))
        list.push({ spec: a, userProvided, at });
      return true;
    };
    const array = (key: 'userKnownHosts' | 'globalKnownHosts'): boolean => {
      const fresh = st[key] === undefined;
      const collected: string[] = [];
      for (let a = next(); a !== undefined; a = next()) {
        if (a === '') return err(`keyword ${keyword} empty argument`);
        if (asciiLower(a) === 'none' && (collected.length > 0 || av.length > 0)) {
          return err(`keyword ${keyword} "none" argument must appear alone.`);
        }
        if (collected.length >= MAX_KNOWN_HOSTS_FILES) return err(`too many ${keyword} entries.`);
        collected.push(a);
      }
      if (active && fresh && collected.length > 0) {
        if (key === 'userKnownHosts') st.userKnownHosts = { value: collected, at };
        else st.globalKnownHosts = collected;
      }
      return true;
    };

    let ok = true;
    switch (KEYWORD_ALIASES[keyword] ?? keyword) {
      case 'host':
        ok = this.hostLine(av, ref, flags, err);
        break;
      case 'match': {
        const r = this.matchLine(rest, at, (flags & FINAL) !== 0);
        if (typeof r === 'string') {
          err(r);
          return;
        }
        ref.active = (flags & NEVERMATCH) !== 0 ? false : r;
        // the criteria were read from the raw line; nothing left over
        av.length = 0;
        break;
      }
      case 'include':
        ok = this.includeLine(av, at, ref, flags, depth, keyword, err);
        break;
      case 'hostname':
      case 'user':
      case 'hostkeyalias':
      case 'ignoreunknown': {
        const a = one();
        if (a === undefined) return;
        if (keyword === 'ignoreunknown') setSlot('ignoreUnknown', a);
        else
          setSlot(keyword === 'hostname' ? 'hostName' : keyword === 'user' ? 'user' : 'hostKeyAlias', {
            value: a,
            at,
          });
        break;
      }
      case 'port': {
        const a = one();
        if (a === undefined) return;
        const p = a2port(a);
        if (p <= 0) {
          err(`Bad port '${a}'.`);
          return;
        }
        setSlot('port', { value: p, at });
        break;
      }
      case 'identityfile':
        ok = files(st.identityFiles, 'identity');
        break;
      case 'certificatefile':
        ok = files(st.certificateFiles, 'certificate');
        break;
      case 'identitiesonly':
        ok = flag('identitiesOnly');
        break;
      case 'batchmode':
        ok = flag('batchMode');
        break;
      case 'hashknownhosts':
        ok = flag('hashKnownHosts');
        break;
      case 'stricthostkeychecking': {
        const a = next();
        const v = a === undefined ? undefined : STRICT_VALUES[asciiLower(a)];
        if (v === undefined) {
          err(a === undefined ? 'missing argument.' : `unsupported option "${a}".`);
          return;
        }
        setSlot('strict', v);
        break;
      }
      case 'canonicalizehostname': {
        const a = next();
        const v = a === undefined ? undefined : CANONICALIZE_VALUES[asciiLower(a)];
        if (v === undefined) {
          err(a === undefined ? 'missing argument.' : `unsupported option "${a}".`);
          return;
        }
        setSlot('canonicalize', { value: v, at });
        break;
      }
      case 'connecttimeout':
        ok = time('connectTimeout');
        break;
      case 'serveraliveinterval':
        ok = time('serverAliveInterval');
        break;
      case 'serveralivecountmax':
        ok = int('serverAliveCountMax');
        break;
      case 'connectionattempts':
        ok = int('connectionAttempts');
        break;
      case 'userknownhostsfile':
        ok = array('userKnownHosts');
        break;
      case 'globalknownhostsfile':
        ok = array('globalKnownHosts');
        break;
      case 'proxycommand': {
        // the raw rest of the line, comments and quotes included
        if (active && st.jump === undefined && st.proxyCommand === undefined) {
          st.proxyCommand = { value: rawArgument(rest), at };
        }
        av.length = 0;
        break;
      }
      case 'proxyjump': {
        const value = rawArgument(rest);
        const j = parseProxyJump(value);
        if (j === null) {
          err(`Invalid ProxyJump "${value}"`);
          return;
        }
        if (active && st.proxyCommand === undefined && st.jump === undefined) {
          if (j === 'none') st.jump = { none: true, at };
          else {
            st.jump = { none: false, hops: j, at };
            // as in ssh: a later ProxyCommand must not apply
            st.proxyCommand = { value: 'none', at };
          }
        }
        av.length = 0;
        break;
      }
      default:
        // a keyword ssh knows and ferry does not use: accepted as is
        return;
    }
    if (ok && av.length > 0) err(`keyword ${keyword} extra arguments at end of line`);
  }

  private hostLine(
    av: string[],
    ref: { active: boolean },
    flags: number,
    err: (m: string) => false,
  ): boolean {
    ref.active = false;
    for (let a = av.shift(); a !== undefined; a = av.shift()) {
      if (a === '') return err('keyword host empty argument');
      if (flags & NEVERMATCH) {
        av.length = 0;
        break;
      }
      const negated = a.startsWith('!');
      if (matchPattern(this.hostArg, negated ? a.slice(1) : a)) {
        if (negated) {
          ref.active = false;
          av.length = 0;
          break;
        }
        ref.active = true;
      }
    }
    return true;
  }

  /** ssh's match_cfg_line(): true/false, or an error message. */
  private matchLine(str: string, at: At, finalPass: boolean): boolean | string {
    const { st, s } = this;
    const ruser = st.user?.value ?? s.localUser;
    let host = this.hostArg;
    if (finalPass && st.hostName !== undefined) host = st.hostName.value;
    else if (st.hostName !== undefined) host = this.expandHostName(st.hostName);

    const cur: Cursor = { rest: str };
    let result = true;
    let attributes = 0;
    for (;;) {
      const oattrib = strdelim(cur);
      if (oattrib === null || oattrib === '' || oattrib.startsWith('#')) break;
      const negate = oattrib.startsWith('!');
      const attrib = negate ? oattrib.slice(1) : oattrib;
      const name = asciiLower(attrib);
      if (name === 'all') {
        const arg = strdelim(cur);
        if (attributes > 1 || (arg !== null && arg !== '' && !arg.startsWith('#'))) {
          return `Bad Match condition: '${oattrib}' cannot be combined with other Match attributes`;
        }
        if (result) result = !negate;
        return result;
      }
      attributes++;
      if (name === 'canonical' || name === 'final') {
        // ferry never canonicalizes, so "canonical" holds exactly in the final pass, as in ssh
        if (name === 'final' && !finalPass) this.wantFinal = true;
        if (finalPass === negate) result = false;
        continue;
      }
      const arg = strdelim(cur);
      if (arg === null || arg === '' || arg.startsWith('#')) {
        return `Bad Match condition: missing Match criteria for ${attrib}`;
      }
      let r: boolean;
      switch (name) {
        case 'host':
          r = matchHostname(host, arg) === 'match';
          break;
        case 'originalhost':
          r = matchHostname(this.hostArg, arg) === 'match';
          break;
        case 'user':
          r = matchPatternList(ruser, arg) === 'match';
          break;
        case 'localuser':
          r = matchPatternList(s.localUser, arg) === 'match';
          break;
        case 'exec':
          // ssh only runs the command if everything before it matched
          if (!result) continue;
          this.warn(at, `Match exec is not supported by ferry; "${arg}" treated as not matching`);
          r = false;
          break;
        default:
          return `Bad Match condition: unsupported Match attribute ${attrib}`;
      }
      if (r === negate) result = false;
    }
    if (attributes === 0) return 'Bad Match condition: one or more attributes required for Match';
    return result;
  }

  private includeLine(
    av: string[],
    at: At,
    ref: { active: boolean },
    flags: number,
    depth: number,
    keyword: string,
    err: (m: string) => false,
  ): boolean {
    const userConf = (flags & USERCONF) !== 0;
    for (let a = av.shift(); a !== undefined; a = av.shift()) {
      if (a === '') return err(`keyword ${keyword} empty argument`);
      // `~` is only allowed in user configs, relative paths are relative to ~/.ssh or /etc/ssh
      if (a.startsWith('~') && !userConf) return err(`bad include path ${a}.`);
      const pattern =
        a.startsWith('/') || a.startsWith('~') ? a : `${userConf ? '~/.ssh' : this.s.systemConfigDir}/${a}`;
      const paths = glob(pattern, { home: this.s.envHome, userHome: passwdHome });
      const outer = ref.active;
      for (const path of paths) {
        const nested = flags | CHECKPERM | (outer ? 0 : NEVERMATCH);
        const r = this.readConfigFile(path, nested, ref, depth + 1);
        // a path that vanished between glob and open is skipped, like ssh does
        if (r !== true && r !== ERRNO_TEXT.ENOENT) {
          fail(`Can't open user config file ${path}: ${r}`, at);
        }
        ref.active = outer;
      }
    }
    return true;
  }
}

function isNone(list: readonly string[]): boolean {
  return list.length === 1 && asciiLower(list[0] ?? '') === 'none';
}

function fail(message: string, at?: At): never {
  throw new SshConfigError([at === undefined || at.file === '' ? { message } : { ...at, message }]);
}
