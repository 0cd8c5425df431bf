// A host's slow facts (criu check, criu --version, podman and docker info,
// the CPU image), kept on the operator's machine between runs of ferry, so a
// new `--plan` process need not ask them again. Each entry is keyed by:
// - the host as ssh resolved it (user, address or HostKeyAlias, port, jumps,
//   ProxyCommand): the file's name and a field checked on read;
// - the facts key, which the host prints in the same round trip before any
//   slow section runs: its boot id, its login uid and whether sudo is used,
//   the inode, size and mtime of criu, podman, docker, runc, crun, conmon and
//   dockerd, and of docker's socket (new at each daemon start) and the
//   runtimes' and CRIU's config files. A reboot, a package upgrade or a
//   restarted daemon changes it, and the slow sections run again.
// The file is the operator's, but its text came from a host: it is checked
// with zod on read, and the cached answers go through the same parsers as a
// live answer. Answers that timed out or never reported are never kept.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HostSettings } from '../ssh/settings.ts';
import { shQuote } from './exec.ts';
import { STDERR_CAP } from './script.ts';

/** One section's answer as the host gave it. */
export interface CachedSection {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** What the host said under one facts key. */
export interface FactsEntry {
  key: string;
  sections: Record<string, CachedSection>;
}

export interface FactsCache {
  /** the entry for this host, or null (none, unreadable, or not this host's) */
  read(host: string): Promise<FactsEntry | null>;
  write(host: string, entry: FactsEntry): Promise<void>;
}

const BINARIES = ['podman', 'docker', 'runc', 'crun', 'conmon', 'dockerd'];
const FILES = [
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/etc/docker/daemon.json',
  '/etc/containers/containers.conf',
  '/etc/containers/storage.conf',
  '/usr/share/containers/containers.conf',
  '/etc/criu/default.conf',
];

/** The sh snippet that prints the facts key (it runs without sudo: it only reads). */
export function factsKeyScript(binaries: readonly string[]): string {
  const bins = [...new Set([...binaries, ...BINARIES])].map(shQuote).join(' ');
  return [
    'echo "boot $(cat /proc/sys/kernel/random/boot_id)"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'echo "uid $(id -u) sudo ${SUDO:+1}"',
    `for b in ${bins}; do if p=$(command -v "$b"); then echo "bin $b $p $(stat -L -c '%i %s %.9Y %.9Z' "$p" 2>/dev/null)"; else echo "bin $b -"; fi; done`,
    `for f in ${FILES.join(' ')}; do echo "file $f $(stat -L -c '%i %.9Y %.9Z' "$f" 2>/dev/null)"; done`,
  ].join('\n');
}

/** A key worth caching under: it carries a boot id (a host that cannot say it never caches). */
export function usableKey(key: string): boolean {
  return /^boot [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/m.test(key);
}

/** How ssh resolved the host: the same name reached elsewhere is another host. */
export function sshIdentity(s: HostSettings): string {
  return JSON.stringify({
    user: s.user,
    host: s.hostKeyAlias ?? s.hostName,
    port: s.port,
    jumps: s.proxyJump,
    proxyCommand: s.proxyCommand ?? null,
  });
}

const MAX_STDOUT = 1 << 20;
const entryFile = z
  .object({
    version: z.literal(1),
    identity: z.string().max(4096),
    key: z.string().max(16384).refine(usableKey, 'no boot id in the key'),
    sections: z.record(
      z.string().regex(/^[A-Za-z0-9._-]+$/),
      z
        .object({
          code: z.number().int().min(0).max(255).nullable(),
          stdout: z.string().max(MAX_STDOUT),
          stderr: z.string().max(STDERR_CAP),
          // an answer that ran out of time was never a fact
          timedOut: z.literal(false),
        })
        .strict()
        .refine((s) => s.code !== null, 'a section that never reported'),
    ),
  })
  .strict();

/** The entry in a file's text, or null when it is not a valid entry for this identity. */
export function parseEntry(text: string, identity: string): FactsEntry | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const r = entryFile.safeParse(json);
  if (!r.success || r.data.identity !== identity) return null;
  return { key: r.data.key, sections: r.data.sections };
}

export function entryText(entry: FactsEntry, identity: string): string {
  return `${JSON.stringify({ version: 1, identity, key: entry.key, sections: entry.sections })}\n`;
}

/**
 * Entries as files under dir (created 0700), one per host identity, 0600.
 * Never fails: a cache that cannot be read or written is a cache miss.
 */
export function diskFactsCache(dir: string, identityOf: (host: string) => Promise<string>): FactsCache {
  const fileOf = (identity: string) =>
    join(dir, `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.json`);
  return {
    async read(host) {
      try {
        const identity = await identityOf(host);
        return parseEntry(await readFile(fileOf(identity), 'utf8'), identity);
      } catch {
        return null;
      }
    },
    async write(host, entry) {
      let tmp: string | undefined;
      try {
        const identity = await identityOf(host);
        const text = entryText(entry, identity);
        // only what a read would accept: a host's oversized answer is not kept at all
        if (parseEntry(text, identity) === null) return;
        const file = fileOf(identity);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        // whole or not at all: a reader sees the old file or the new one (no fsync: it is a cache)
        tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
        await rename(tmp, file);
        tmp = undefined;
      } catch {
        // a cache that cannot be written costs the next run a probe, nothing more
      } finally {
        if (tmp) await rm(tmp, { force: true }).catch(() => undefined);
      }
    },
  };
}
