// Host facts that belong to no runtime: kernel, CRIU and its features, and
// the place checkpoints will be written. Sections of the same probe script.
import type {
  CheckpointDirFacts,
  CriuFacts,
  HostFacts,
  RuntimeFacts,
  SudoFacts,
} from '../inventory/model.ts';
import { excerpt, shQuote } from './exec.ts';
import type { ScriptMeta, Section, SectionResult, SudoMode } from './script.ts';

export const DEFAULT_CHECKPOINT_DIR = '/var/tmp/ferry';

export interface HostFactOptions {
  criuBinary?: string;
  checkpointDir?: string;
}

export function hostFactSections(opts: HostFactOptions = {}): Section[] {
  const criu = opts.criuBinary ?? 'criu';
  const c = `$SUDO ${shQuote(criu)}`;
  const dir = opts.checkpointDir ?? DEFAULT_CHECKPOINT_DIR;
  return [
    { name: 'host.kernel', display: 'uname -r', script: 'uname -r' },
    { name: 'criu.version', cacheable: true, display: `${criu} --version`, script: `${c} --version` },
    { name: 'criu.check', cacheable: true, display: `${criu} check`, script: `${c} check` },
    {
      name: 'criu.dirty',
      cacheable: true,
      display: `${criu} check --feature mem_dirty_track`,
      script: `${c} check --feature mem_dirty_track`,
    },
    {
      name: 'criu.uffd',
      cacheable: true,
      display: `${criu} check --feature uffd-noncoop`,
      script: `${c} check --feature uffd-noncoop`,
    },
    {
      name: 'host.ckdir',
      display: `df -Pk ${dir}; stat -f -c %T ${dir}`,
      script: checkpointDirScript(dir),
    },
  ];
}

/** Measures the checkpoint directory, or its nearest existing parent. */
export function checkpointDirScript(dir: string): string {
  return [
    `d=${shQuote(dir)}; e=1`,
    'while [ ! -e "$d" ]; do e=0; p=$(dirname "$d"); [ "$p" = "$d" ] && break; d=$p; done',
    'echo "path=$d"',
    'echo "exists=$e"',
    'echo "fstype=$(stat -f -c %T "$d" 2>/dev/null)"',
    'echo "df=$(df -Pk "$d" | tail -n 1)"',
  ].join('\n');
}

export function parseCheckpointDir(path: string, r: SectionResult | undefined): CheckpointDirFacts {
  const kv = keyValues(r?.stdout ?? '');
  const fsType = kv.get('fstype') || null;
  const df = parseDfLine(kv.get('df') ?? '');
  return {
    path,
    measuredPath: kv.get('path') || null,
    exists: kv.get('exists') === '1',
    fsType,
    tmpfs: fsType === null ? null : fsType === 'tmpfs' || fsType === 'ramfs',
    freeBytes: df?.availBytes ?? null,
    totalBytes: df?.totalBytes ?? null,
  };
}

/** A POSIX `df -Pk` data line: filesystem, 1024-blocks, used, available, capacity, mount. */
export function parseDfLine(
  line: string,
): { totalBytes: number; usedBytes: number; availBytes: number } | null {
  // anchored on the capacity column (NN%) and the mount point (/...): the filesystem name is free text
  const m = /\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(\/.*)$/.exec(line.trim());
  if (!m) return null;
  return { totalBytes: Number(m[1]) * 1024, usedBytes: Number(m[2]) * 1024, availBytes: Number(m[3]) * 1024 };
}

export function keyValues(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return kv;
}

const CRIU_MISSING = /command not found|: not found|no such file or directory/i;

export function parseCriu(results: ReadonlyMap<string, SectionResult>, meta: ScriptMeta | null): CriuFacts {
  const version = results.get('criu.version');
  const check = results.get('criu.check');
  const dirty = results.get('criu.dirty');
  const uffd = results.get('criu.uffd');
  const rootDenied = meta?.sudoNeeded === true && meta.sudoCode !== 0;
  const out = (r: SectionResult | undefined) => excerpt(`${r?.stdout ?? ''}\n${r?.stderr ?? ''}`, 600);
  if (!version || !check) {
    return { status: 'unknown', version: null, check: 'criu was not probed', preCopy: null, lazyPages: null };
  }
  const v = /Version:\s*(\S+)/.exec(version.stdout)?.[1] ?? null;
  // a busy host, not a broken CRIU: the host people migrate away from is often the loaded one
  const late = [version, check].find((r) => r.timedOut);
  if (late) {
    return {
      status: 'unknown',
      version: v,
      check: `\`${late.display}\` ran out of time (the host is busy); CRIU was not judged`,
      preCopy: null,
      lazyPages: null,
      timedOut: true,
    };
  }
  // without root (sudo refused) criu may be off PATH or refuse to run: we cannot tell
  if (rootDenied) {
    return {
      status: 'unknown',
      version: v,
      check: `criu needs root and sudo -n was refused: ${excerpt(meta.sudoStderr)}`,
      preCopy: null,
      lazyPages: null,
    };
  }
  if (version.code !== 0 && (version.code === 127 || CRIU_MISSING.test(version.stderr))) {
    return { status: 'missing', version: null, check: out(version), preCopy: null, lazyPages: null };
  }
  const healthy = version.code === 0 && v !== null && check.code === 0;
  return {
    status: healthy ? 'ok' : 'broken',
    version: v,
    check: healthy ? out(check) : out(version.code !== 0 ? version : check),
    preCopy: healthy
      ? dirty?.code === 0 && !/Dirty tracking is OFF/i.test(dirty.stderr + dirty.stdout)
      : null,
    lazyPages: healthy ? uffd?.code === 0 : null,
  };
}

export function sudoFacts(mode: SudoMode, meta: ScriptMeta | null): SudoFacts {
  if (!meta) return { mode, needed: false, used: false, ok: null, message: null };
  const tried = meta.sudoNeeded;
  const ok = tried ? meta.sudoCode === 0 : null;
  return {
    mode,
    needed: meta.sudoNeeded,
    used: meta.sudoUsed,
    ok,
    message:
      ok === false
        ? `user ${meta.user ?? meta.uid ?? '?'} has no passwordless sudo (sudo -n true: ${excerpt(meta.sudoStderr) || `exit ${meta.sudoCode}`}); commands ran without root`
        : null,
  };
}

export function parseHostFacts(
  results: ReadonlyMap<string, SectionResult>,
  meta: ScriptMeta | null,
  opts: { sudo: SudoMode; checkpointDir: string; runtimes: RuntimeFacts[] },
): HostFacts {
  const kernel = results.get('host.kernel');
  return {
    user: meta?.user ?? null,
    uid: meta?.uid ?? null,
    sudo: sudoFacts(opts.sudo, meta),
    kernel: kernel?.code === 0 ? kernel.stdout.trim() || null : null,
    criu: parseCriu(results, meta),
    checkpointDir: parseCheckpointDir(opts.checkpointDir, results.get('host.ckdir')),
    runtimes: opts.runtimes,
  };
}
