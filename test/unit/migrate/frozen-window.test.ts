// What runs while a container is frozen: only what needs its final memory
// image. The streams' directories are made in prestage (issue 12).
import { describe, expect, it } from 'vitest';
import { type MigrationContext, makeStreamDirs, stream } from '../../../src/migrate/driver.ts';
import type { HostSession } from '../../../src/migrate/types.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';

/** A host that records each command and answers 0; it opens no stream (the test stops there). */
function host(name: string, calls: string[]): HostSession {
  return {
    host: name,
    exec: async (argv) => {
      calls.push(`${name}: ${argv.join(' ')}`);
      return { stdout: '', stderr: '', code: 0, signal: null };
    },
    spawn: async (argv) => {
      calls.push(`${name}: spawn ${argv[0]}`);
      throw new Error('no streams here');
    },
  };
}

function ctxFor(calls: string[]): MigrationContext {
  return {
    item: {
      id: 'alpha/docker/web',
      container: { host: 'alpha', runtime: 'docker', name: 'web' },
      destination: 'beta',
    },
    runId: '20260101T000000-abcdef',
    src: host('alpha', calls),
    dst: host('beta', calls),
    options: DEFAULT_OPTIONS,
    state: { tmpSrc: '/tmp/ferry.src', tmpDst: '/tmp/ferry.dst' },
    zstd: false,
    onProgress: () => undefined,
    warn: () => undefined,
    once: (_k, fn) => fn(),
  };
}

describe('the frozen window', () => {
  it('a stream whose directories prestage made goes straight to the transfer', async () => {
    const calls: string[] = [];
    const ctx = ctxFor(calls);
    await makeStreamDirs(ctx, ['checkpoint', 'rootfs']);
    expect(calls.sort()).toEqual([
      'alpha: mkdir -p -- /tmp/ferry.src/checkpoint /tmp/ferry.src/rootfs',
      'beta: mkdir -p -- /tmp/ferry.dst/checkpoint /tmp/ferry.dst/rootfs',
    ]);
    // frozen from here: the first command on either host opens the stream
    calls.length = 0;
    await expect(stream(ctx, 'checkpoint', 'true', 'cat >/dev/null')).rejects.toThrow(/no streams here/);
    expect(calls[0]).toBe('beta: spawn sh');
    expect(calls.some((c) => c.includes('mkdir'))).toBe(false);
    // a stream prestage did not plan for still makes its own
    calls.length = 0;
    await expect(stream(ctx, 'volume-data', 'true', 'cat >/dev/null')).rejects.toThrow(/no streams here/);
    expect(calls.filter((c) => c.includes('mkdir')).sort()).toEqual([
      'alpha: mkdir -p /tmp/ferry.src/volume-data',
      'beta: mkdir -p /tmp/ferry.dst/volume-data',
    ]);
  });
});
