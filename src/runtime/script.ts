// One round trip per host: every command ferry needs from a host runs inside
// one POSIX sh script, in parallel where it can, each with its own time limit.
// The script prints every command's stdout, stderr and exit status between
// marker lines that carry a random nonce, so no command output can forge them.
import { randomBytes } from 'node:crypto';
import { shQuote } from './exec.ts';

/** How privileged commands run when the SSH user is not root. */
export type SudoMode = 'auto' | 'always' | 'never';

export interface Section {
  /** unique within a script: letters, digits, '.', '_' and '-' */
  name: string;
  /**
   * A POSIX sh snippet, run with `sh -c` as the SSH user. It sees `$SUDO`
   * (empty, or `sudo -n` to put before privileged commands) and `$T`, a
   * private scratch directory shared by all sections and removed at the end.
   */
  script: string;
  /** the command as a person would type it, for messages */
  display: string;
  /** seconds before the snippet is killed (default: the script's) */
  timeoutSec?: number;
  /**
   * Sections with the same chain run one after another, in the order given;
   * different chains run in parallel. Default: a chain of its own.
   */
  chain?: string;
  /** the snippet reads the script's stdin (at most one section may) */
  stdin?: boolean;
  /**
   * its answer depends only on what the facts key covers (boot, binaries,
   * daemon sockets, config files): skipped when the key is the one expected
   */
  cacheable?: boolean;
}

export interface SectionResult {
  name: string;
  display: string;
  /** exit status; null when the section never reported one */
  code: number | null;
  stdout: string;
  /** at most STDERR_CAP bytes of it */
  stderr: string;
  /** killed by its time limit */
  timedOut: boolean;
  /** how long it ran on the host, when the host's date can tell */
  elapsedMs: number | null;
}

/** What the script learnt about its own situation before the sections ran. */
export interface ScriptMeta {
  uid: number | null;
  user: string | null;
  sudoMode: SudoMode;
  /** sudo was needed (non-root user, or mode always) */
  sudoNeeded: boolean;
  /** privileged commands went through `sudo -n` */
  sudoUsed: boolean;
  /** `sudo -n true` exit status when it was tried */
  sudoCode: number | null;
  sudoStderr: string;
  /** the host has `timeout`, so section limits are enforced there */
  hasTimeout: boolean;
}

export interface ScriptOutput {
  meta: ScriptMeta | null;
  sections: Map<string, SectionResult>;
}

export interface BuildOptions {
  sudo: SudoMode;
  /** default per-section limit */
  timeoutSec: number;
  nonce?: string;
  /**
   * runs `script` first, as section FACTS_KEY_SECTION; when its stdout is
   * `expect`, the cacheable sections do not run (the caller has their answers)
   */
  factsKey?: { script: string; expect: string | null };
}

export const STDERR_CAP = 8192;
const NAME = /^[A-Za-z0-9._-]+$/;
export const META_SECTION = 'ferry.meta';
export const FACTS_KEY_SECTION = 'host.factskey';
// GNU timeout: 124 when the limit hit, 137 when -k had to KILL it
const TIMED_OUT = new Set([124, 137]);

export function newNonce(): string {
  return randomBytes(9).toString('hex');
}

/** The script for `sh -c`, and the nonce its markers carry. */
export function buildScript(
  sections: readonly Section[],
  opts: BuildOptions,
): { script: string; nonce: string } {
  const nonce = opts.nonce ?? newNonce();
  if (!/^[A-Za-z0-9]+$/.test(nonce)) throw new Error(`bad nonce '${nonce}'`);
  const seen = new Set<string>([META_SECTION, FACTS_KEY_SECTION]);
  let stdinUsers = 0;
  for (const s of sections) {
    if (!NAME.test(s.name)) throw new Error(`bad section name '${s.name}'`);
    if (seen.has(s.name)) throw new Error(`duplicate section '${s.name}'`);
    seen.add(s.name);
    if (s.stdin) stdinUsers++;
  }
  if (stdinUsers > 1) throw new Error('at most one section may read stdin');

  const chains = new Map<string, Section[]>();
  for (const s of sections) {
    const key = s.chain ?? `#${s.name}`;
    const list = chains.get(key) ?? [];
    list.push(s);
    chains.set(key, list);
  }
  const key = opts.factsKey;
  // a cacheable section runs (and is reported) only when the key differs
  const unlessKnown = (s: Section) => (key && s.cacheable ? '[ "$ferry_hit" = 1 ] || ' : '');
  const run = (s: Section) =>
    `${unlessKnown(s)}ferry_run ${s.name} ${Math.max(1, Math.round(s.timeoutSec ?? opts.timeoutSec))} ${s.stdin ? 1 : 0} ${shQuote(s.script)}`;
  const jobs = [...chains.values()].map((list) => `{ ${list.map(run).join('; ')}; } &`);

  const lines = [
    'set +e',
    'umask 077',
    `N=${nonce}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'T=$(mktemp -d "${TMPDIR:-/tmp}/ferry.XXXXXX" 2>/dev/null) || T=',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'if [ -z "$T" ] || [ ! -d "$T" ]; then echo "ferry: cannot create a scratch directory in ${TMPDIR:-/tmp}" >&2; exit 97; fi',
    `trap 'rm -rf "$T"' EXIT`,
    "trap 'exit 143' INT TERM HUP",
    `FERRY_SUDO_MODE=${opts.sudo}`,
    'ferry_uid=$(id -u 2>/dev/null)',
    'SUDO=',
    'sudo_needed=0',
    'sudo_rc=',
    'case $FERRY_SUDO_MODE in',
    '  always) sudo_needed=1 ;;',
    '  auto) [ "$ferry_uid" = 0 ] || sudo_needed=1 ;;',
    'esac',
    ': >"$T/sudo.err"',
    'if [ "$sudo_needed" = 1 ]; then',
    '  SUDO="sudo -n"',
    '  if command -v timeout >/dev/null 2>&1; then timeout 10 sudo -n true </dev/null >/dev/null 2>"$T/sudo.err"; else sudo -n true </dev/null >/dev/null 2>"$T/sudo.err"; fi',
    '  sudo_rc=$?',
    // auto: without sudo rights, still try as the user (rootless podman, docker group)
    '  if [ "$sudo_rc" != 0 ] && [ "$FERRY_SUDO_MODE" = auto ]; then SUDO=; fi',
    'fi',
    'export SUDO T',
    'ferry_to=0; command -v timeout >/dev/null 2>&1 && ferry_to=1',
    stdinUsers > 0 ? 'cat >"$T/stdin"' : ':',
    'ferry_run() {',
    '  _n=$1; _s=$2; _i=/dev/null; [ "$3" = 1 ] && _i="$T/stdin"; _t0=$(date +%s%N 2>/dev/null)',
    '  if [ "$ferry_to" = 1 ]; then',
    '    timeout -k 2 "$_s" sh -c "$4" <"$_i" >"$T/$_n.out" 2>"$T/$_n.err"',
    '  else',
    '    sh -c "$4" <"$_i" >"$T/$_n.out" 2>"$T/$_n.err"',
    '  fi',
    '  _rc=$?; echo "$_rc $_t0 $(date +%s%N 2>/dev/null)" >"$T/$_n.rc"',
    '}',
    'ferry_emit() {',
    `  printf '\\n@@%s:begin:%s@@\\n' "$N" "$1"`,
    '  cat "$T/$1.out" 2>/dev/null',
    `  printf '\\n@@%s:stderr:%s@@\\n' "$N" "$1"`,
    `  head -c ${STDERR_CAP} "$T/$1.err" 2>/dev/null`,
    `  printf '\\n@@%s:end:%s:%s@@\\n' "$N" "$1" "$(cat "$T/$1.rc" 2>/dev/null)"`,
    '}',
    ...(key
      ? [
          `ferry_run ${FACTS_KEY_SECTION} 10 0 ${shQuote(key.script)}`,
          'ferry_hit=0',
          key.expect === null
            ? ':'
            : `[ "$(cat "$T/${FACTS_KEY_SECTION}.out" 2>/dev/null)" = ${shQuote(key.expect)} ] && ferry_hit=1`,
        ]
      : []),
    ...jobs,
    'wait',
    '{',
    '  echo "uid=$ferry_uid"',
    '  echo "user=$(id -un 2>/dev/null)"',
    '  echo "sudo_mode=$FERRY_SUDO_MODE"',
    '  echo "sudo_needed=$sudo_needed"',
    '  echo "sudo_used=$([ -n "$SUDO" ] && echo 1 || echo 0)"',
    '  echo "sudo_rc=$sudo_rc"',
    '  echo "has_timeout=$ferry_to"',
    `} >"$T/${META_SECTION}.out"`,
    `cp "$T/sudo.err" "$T/${META_SECTION}.err"`,
    `echo 0 >"$T/${META_SECTION}.rc"`,
    `ferry_emit ${META_SECTION}`,
    ...(key ? [`ferry_emit ${FACTS_KEY_SECTION}`] : []),
    ...sections.map((s) => `${unlessKnown(s)}ferry_emit ${s.name}`),
    'exit 0',
  ];
  return { script: `${lines.join('\n')}\n`, nonce };
}

/**
 * Splits the script's stdout into sections. Tolerant: text outside markers is
 * ignored, a section cut short (no end marker) is absent from the map.
 */
export function parseScriptOutput(
  stdout: string,
  nonce: string,
  sections: readonly Pick<Section, 'name' | 'display'>[] = [],
): ScriptOutput {
  const displays = new Map(sections.map((s) => [s.name, s.display]));
  const out = new Map<string, SectionResult>();
  const begin = `\n@@${nonce}:begin:`;
  let pos = 0;
  for (;;) {
    const b = stdout.indexOf(begin, pos);
    if (b < 0) break;
    const nameEnd = stdout.indexOf('@@\n', b + begin.length);
    if (nameEnd < 0) break;
    const name = stdout.slice(b + begin.length, nameEnd);
    if (!NAME.test(name)) {
      pos = b + 1;
      continue;
    }
    const bodyStart = nameEnd + 3;
    const errMarker = `\n@@${nonce}:stderr:${name}@@\n`;
    const e = stdout.indexOf(errMarker, bodyStart - 1);
    if (e < 0) break;
    const endPrefix = `\n@@${nonce}:end:${name}:`;
    const x = stdout.indexOf(endPrefix, e + errMarker.length - 1);
    if (x < 0) break;
    const close = stdout.indexOf('@@\n', x + endPrefix.length);
    if (close < 0) break;
    const [rcText = '', t0 = '', t1 = ''] = stdout
      .slice(x + endPrefix.length, close)
      .trim()
      .split(/\s+/);
    const code = /^\d+$/.test(rcText) ? Number(rcText) : null;
    // date +%s%N: nanoseconds where date has %N
    const elapsedMs =
      /^\d{16,}$/.test(t0) && /^\d{16,}$/.test(t1) ? Number(BigInt(t1) - BigInt(t0)) / 1e6 : null;
    out.set(name, {
      name,
      display: displays.get(name) ?? name,
      code,
      stdout: bodyStart > e ? '' : stdout.slice(bodyStart, e),
      stderr: e + errMarker.length > x ? '' : stdout.slice(e + errMarker.length, x),
      timedOut: false,
      elapsedMs,
    });
    pos = close + 2;
  }
  const metaSection = out.get(META_SECTION);
  out.delete(META_SECTION);
  const meta = metaSection ? parseMeta(metaSection) : null;
  if (meta?.hasTimeout) {
    for (const r of out.values()) if (r.code !== null && TIMED_OUT.has(r.code)) r.timedOut = true;
  }
  return { meta, sections: out };
}

function parseMeta(r: SectionResult): ScriptMeta {
  const kv = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const int = (k: string) => {
    const v = kv.get(k) ?? '';
    return /^\d+$/.test(v) ? Number(v) : null;
  };
  const mode = kv.get('sudo_mode');
  return {
    uid: int('uid'),
    user: kv.get('user') || null,
    sudoMode: mode === 'always' || mode === 'never' ? mode : 'auto',
    sudoNeeded: kv.get('sudo_needed') === '1',
    sudoUsed: kv.get('sudo_used') === '1',
    sudoCode: int('sudo_rc'),
    sudoStderr: r.stderr,
    hasTimeout: kv.get('has_timeout') === '1',
  };
}
