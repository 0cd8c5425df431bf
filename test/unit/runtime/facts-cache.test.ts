// The facts cache (issue 12): the real probe script, run by the local sh with
// a stand-in criu that logs each call, so a test sees whether the host was
// asked again. No lab needed.
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  diskFactsCache,
  entryText,
  type FactsEntry,
  parseEntry,
  sshIdentity,
} from '../../../src/runtime/facts-cache.ts';
import { type HostTarget, probeHost } from '../../../src/runtime/probe.ts';
import type { HostSettings } from '../../../src/ssh/settings.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-facts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A criu that answers like 4.2 (or `version`), logs its arguments, and whose check sleeps while `slow` exists. */
async function fakeCriu(version = '4.2'): Promise<string> {
  const bin = join(dir, 'criu');
  await rm(bin, { force: true });
  await writeFile(
    bin,
    [
      '#!/bin/sh',
      `echo "$*" >>${dir}/calls`,
      'case "$1 $2" in',
      `  "--version "*) echo "Version: ${version}" ;;`,
      '  "check --feature") echo "$3 is supported" ;;',
      `  "check "*) [ -e ${dir}/slow ] && sleep 5; echo "Looks good." ;;`,
      'esac',
    ].join('\n'),
  );
  await chmod(bin, 0o755);
  return bin;
}

const calls = async () =>
  (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

const localHost = (criuBinary: string): HostTarget => ({
  name: 'local',
  sudo: 'never',
  runtimes: [],
  criuBinary,
  checkpointDir: dir,
  commandTimeoutSec: 1,
  exec: async (argv, opts) => {
    const r = await execa(argv[0] as string, argv.slice(1), {
      reject: false,
      input: opts?.stdin ?? '',
      stripFinalNewline: false,
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), code: r.exitCode ?? null };
  },
});

describe('facts cache: the probe', () => {
  it('a first probe keeps criu’s answers under a key with the boot id; the next one uses them without asking', async () => {
    const host = localHost(await fakeCriu());
    const first = await probeHost(host, { knownFacts: null });
    expect(first.reached).toBe(true);
    expect(first.factsCached).toBe(false);
    expect(first.facts?.criu).toMatchObject({ status: 'ok', version: '4.2' });
    const kept = first.factsToKeep as FactsEntry;
    expect(kept.key).toMatch(/^boot [0-9a-f-]{36}$/m);
    expect(Object.keys(kept.sections).sort()).toEqual([
      'criu.check',
      'criu.dirty',
      'criu.uffd',
      'criu.version',
    ]);
    const asked = (await calls()).length;
    expect(asked).toBe(4);

    const second = await probeHost(host, { knownFacts: kept });
    expect(second.factsCached).toBe(true);
    expect(second.factsToKeep).toBeUndefined();
    expect(await calls()).toHaveLength(asked);
    expect(second.facts?.criu).toEqual(first.facts?.criu);
    // the cheap facts are still read live
    expect(second.facts?.kernel).toBe(first.facts?.kernel);
    expect(second.facts?.checkpointDir.exists).toBe(true);
  });

  it('an entry from another boot of the host is not used: criu is asked again', async () => {
    const host = localHost(await fakeCriu());
    const kept = (await probeHost(host, { knownFacts: null })).factsToKeep as FactsEntry;
    const otherBoot = {
      ...kept,
      key: kept.key.replace(/^boot .*$/m, 'boot 00000000-1111-2222-3333-444444444444'),
    };
    const before = (await calls()).length;
    const p = await probeHost(host, { knownFacts: otherBoot });
    expect(p.factsCached).toBe(false);
    expect((await calls()).length).toBe(before + 4);
    expect(p.factsToKeep?.key).toBe(kept.key);
  });

  it('a new criu binary (an upgrade) changes the key: the new version is read, not the cached one', async () => {
    const host = localHost(await fakeCriu('4.1'));
    const kept = (await probeHost(host, { knownFacts: null })).factsToKeep as FactsEntry;
    await fakeCriu('4.2');
    const p = await probeHost(host, { knownFacts: kept });
    expect(p.factsCached).toBe(false);
    expect(p.facts?.criu.version).toBe('4.2');
    expect(p.factsToKeep?.key).not.toBe(kept.key);
  });

  it('an entry that lacks an answer this probe needs is not used', async () => {
    const host = localHost(await fakeCriu());
    const kept = (await probeHost(host, { knownFacts: null })).factsToKeep as FactsEntry;
    const { 'criu.uffd': _dropped, ...rest } = kept.sections;
    const p = await probeHost(host, { knownFacts: { ...kept, sections: rest } });
    expect(p.factsCached).toBe(false);
    expect(p.facts?.criu.lazyPages).toBe(true);
    expect(Object.keys(p.factsToKeep?.sections ?? {})).toContain('criu.uffd');
  });

  it('a criu check that ran out of time is never kept (and reads as unknown, not broken)', async () => {
    const host = localHost(await fakeCriu());
    await writeFile(join(dir, 'slow'), '');
    const p = await probeHost(host, { knownFacts: null });
    expect(p.facts?.criu).toMatchObject({ status: 'unknown', timedOut: true });
    expect(p.factsToKeep).toBeUndefined();
    // and an entry saying so is refused on read
    const entry: FactsEntry = {
      key: 'boot 00000000-1111-2222-3333-444444444444',
      sections: { 'criu.check': { code: 124, stdout: '', stderr: '', timedOut: true } },
    };
    expect(parseEntry(entryText(entry, 'id'), 'id')).toBeNull();
  });
});

const settings = (over: Partial<HostSettings> = {}): HostSettings =>
  ({
    alias: 'alpha',
    hostName: '10.0.0.1',
    port: 22,
    user: 'root',
    proxyJump: [],
    proxyCommand: undefined,
    hostKeyAlias: undefined,
    ...over,
  }) as HostSettings;

describe('facts cache: the file', () => {
  const entry: FactsEntry = {
    key: 'boot 0a1b2c3d-1111-2222-3333-444444444444\nuid 0 sudo ',
    sections: { 'criu.version': { code: 0, stdout: 'Version: 4.2\n', stderr: '', timedOut: false } },
  };

  it('round-trips an entry in a 0600 file, keyed by the host as ssh resolved it', async () => {
    const id = new Map([
      ['alpha', sshIdentity(settings())],
      ['beta', sshIdentity(settings({ hostName: '10.0.0.2' }))],
    ]);
    const cache = diskFactsCache(join(dir, 'facts'), async (h) => id.get(h) as string);
    expect(await cache.read('alpha')).toBeNull();
    await cache.write('alpha', entry);
    expect(await cache.read('alpha')).toEqual(entry);
    expect(await cache.read('beta')).toBeNull();
    const files = await readdir(join(dir, 'facts'));
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, 'facts', files[0] as string))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'facts'))).mode & 0o777).toBe(0o700);
  });

  it('the same alias resolved to another address, user, port or jump is another host', () => {
    const base = sshIdentity(settings());
    for (const other of [
      settings({ hostName: '10.0.0.9' }),
      settings({ user: 'op' }),
      settings({ port: 2222 }),
      settings({ proxyJump: ['bastion'] }),
    ])
      expect(sshIdentity(other)).not.toBe(base);
    expect(sshIdentity(settings({ alias: 'other-name' }))).toBe(base);
  });

  it('a corrupt or foreign file is a miss, and the next write replaces it', async () => {
    const cache = diskFactsCache(join(dir, 'facts'), async () => 'me');
    await cache.write('h', entry);
    const [file] = await readdir(join(dir, 'facts'));
    const path = join(dir, 'facts', file as string);
    const bad = [
      '{ not json',
      '',
      entryText(entry, 'someone else'),
      entryText({ ...entry, key: 'uid 0 sudo ' }, 'me'),
      entryText(
        {
          ...entry,
          sections: { 'bad name;rm': { code: 0, stdout: '', stderr: '', timedOut: false } },
        },
        'me',
      ),
      entryText({ ...entry, sections: { x: { code: null, stdout: '', stderr: '', timedOut: false } } }, 'me'),
      JSON.stringify({ ...JSON.parse(entryText(entry, 'me')), extra: 1 }),
      JSON.stringify({ ...JSON.parse(entryText(entry, 'me')), version: 2 }),
    ];
    for (const text of bad) {
      await writeFile(path, text);
      expect(await cache.read('h')).toBeNull();
    }
    await cache.write('h', entry);
    expect(await cache.read('h')).toEqual(entry);
  });

  it('an entry a read would refuse (a host printed an oversized key or answer) is not written', async () => {
    const cache = diskFactsCache(join(dir, 'facts'), async () => 'me');
    await cache.write('h', { ...entry, key: `${entry.key}\n${'x'.repeat(20_000)}` });
    await cache.write('h', {
      ...entry,
      sections: { 'podman.info': { code: 0, stdout: 'y'.repeat(2 << 20), stderr: '', timedOut: false } },
    });
    expect(await readdir(join(dir, 'facts')).catch(() => [])).toEqual([]);
  });

  it('a cache that cannot be written is no error', async () => {
    await writeFile(join(dir, 'facts'), 'a file where the directory should be');
    const cache = diskFactsCache(join(dir, 'facts'), async () => 'me');
    await expect(cache.write('h', entry)).resolves.toBeUndefined();
    expect(await cache.read('h')).toBeNull();
  });
});
