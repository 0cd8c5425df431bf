// What earlier runs left on a host, removed by the next run: only what this
// operator can prove no run needs, and never from a host's text.
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentOwner, Journal, type JournalRecord } from '../../../src/migrate/journal.ts';
import { parseLeftovers, removable, sweepLeftovers } from '../../../src/migrate/leftovers.ts';
import type { HostSession } from '../../../src/migrate/types.ts';
import { DEFAULT_OPTIONS, type MigrationItem } from '../../../src/plan/migration.ts';
import type { ExecResult } from '../../../src/ssh/index.ts';

const ITEM: MigrationItem = {
  id: 'alpha/podman/web',
  container: { host: 'alpha', runtime: 'podman', name: 'web' },
  destination: 'beta',
};
const ENDED = '20261129T100000-aaaaaa';
const KILLED = '20261129T110000-bbbbbb';
const LIVE = '20261129T120000-cccccc';
const UNKNOWN = '20261129T130000-dddddd';
const MINE = '20261129T140000-eeeeee';
const ROOT = '/var/lib/docker';
const CID = 'f'.repeat(64);
const tmpOf = (run: string, x = 'Ab3dE6gH') => `/tmp/ferry.${run}.${x}`;
const ckptOf = (run: string) => `${ROOT}/containers/${CID}/checkpoints/ferry-${run}`;

/** Journals as each kind of run leaves them: ended, SIGKILLed (owner gone), live (this process). */
function journals(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-leftovers-'));
  const write = (
    runId: string,
    owner: { operator: string; pid: number; pidStart: string | null },
    more: JournalRecord[],
  ) => {
    const j = new Journal(runId, dir);
    j.write({ kind: 'run', runId, at: 1, owner, options: DEFAULT_OPTIONS, items: [ITEM] } as JournalRecord);
    for (const r of more) j.write(r);
    j.close();
  };
  const dead = { operator: hostname(), pid: 2 ** 22 + 7, pidStart: '1' };
  const stage = (runId: string, state: Record<string, string | boolean>): JournalRecord => ({
    kind: 'stage',
    runId,
    at: 2,
    id: ITEM.id,
    stage: 'transfer',
    status: 'started',
    state,
  });
  write(ENDED, dead, [{ kind: 'end', runId: ENDED, at: 3 }]);
  // a --rm container on the import path: its exported checkpoint brings it back on recover
  write(KILLED, dead, [
    stage(KILLED, { tmpSrc: tmpOf(KILLED, 'Src00000'), tmpDst: tmpOf(KILLED), autoRemove: true }),
  ]);
  write(LIVE, currentOwner(), [stage(LIVE, { tmpSrc: tmpOf(LIVE) })]);
  return dir;
}

describe('leftovers of earlier runs', () => {
  it('are read only in the exact shapes ferry makes them', () => {
    const out = [
      `tmp ${tmpOf(ENDED)}`,
      `ckpt ${ckptOf(ENDED)}`,
      // older ferry, another tool's, or a host's invention: none of these is touched
      'tmp /tmp/ferry.Ab3dE6gH',
      'tmp /etc',
      `tmp /root${tmpOf(ENDED)}`,
      `tmp ${tmpOf(ENDED)}/../../etc`,
      `tmp ${tmpOf(ENDED)} -rf /`,
      `ckpt /var/lib/docker/../../etc/containers/${CID}/checkpoints/ferry-${ENDED}`,
      `ckpt ${ROOT}/containers/${CID}/checkpoints/ferry-${ENDED}; rm -rf /`,
      `ckpt /var/lib/docker/containers/x/checkpoints/ferry-${ENDED}`,
      `rm ${tmpOf(ENDED)}`,
    ].join('\n');
    expect(parseLeftovers(out)).toEqual([
      { kind: 'tmp', path: tmpOf(ENDED), runId: ENDED },
      { kind: 'ckpt', path: ckptOf(ENDED), runId: ENDED, container: CID },
    ]);
  });

  it('go when their run is over: all of a settled run, only the temp dirs recover does not read of a killed one', () => {
    const dir = journals();
    const tmp = (run: string, x?: string) => ({ kind: 'tmp' as const, path: tmpOf(run, x), runId: run });
    const ckpt = (run: string) => ({ kind: 'ckpt' as const, path: ckptOf(run), runId: run, container: CID });
    expect(removable(ENDED, dir)(tmp(ENDED))).toBe(true);
    expect(removable(ENDED, dir)(ckpt(ENDED))).toBe(true);
    expect(removable(KILLED, dir)(tmp(KILLED))).toBe(true);
    // what recover restores from: the --rm container's export, the frozen source's docker checkpoint
    expect(removable(KILLED, dir)(tmp(KILLED, 'Src00000'))).toBe(false);
    expect(removable(KILLED, dir)(ckpt(KILLED))).toBe(false);
    // a live run's, and a run this operator does not know (another operator's)
    expect(removable(LIVE, dir)(tmp(LIVE))).toBe(false);
    expect(removable(UNKNOWN, dir)(tmp(UNKNOWN))).toBe(false);
  });

  it('are swept from a host with rm and docker checkpoint rm, the paths as arguments, never in a script', async () => {
    const dir = journals();
    const calls: string[][] = [];
    const listing = [ENDED, KILLED, LIVE, UNKNOWN, MINE]
      .map((r) => `tmp ${tmpOf(r)}`)
      .concat([`tmp ${tmpOf(KILLED, 'Src00000')}`, `ckpt ${ckptOf(ENDED)}`, `ckpt ${ckptOf(KILLED)}`])
      .join('\n');
    const host: HostSession = {
      host: 'beta',
      exec: async (argv) => {
        calls.push(argv);
        return {
          stdout: calls.length === 1 ? `${listing}\n` : '',
          stderr: '',
          code: 0,
          signal: null,
        } as ExecResult;
      },
      spawn: async () => {
        throw new Error('no streams here');
      },
    };
    const removed = await sweepLeftovers(host, MINE, { journalDir: dir });
    expect(removed).toEqual([tmpOf(ENDED), tmpOf(KILLED), ckptOf(ENDED)]);
    expect(calls[1]).toEqual(['rm', '-rf', '--', tmpOf(ENDED), tmpOf(KILLED)]);
    // containerd's copy of the checkpoint, compared by a script that gets the path as $1
    expect(calls[2]?.slice(0, 2)).toEqual(['sh', '-c']);
    expect(calls[2]?.[2]).not.toContain(ENDED);
    expect(calls[2]?.slice(3)).toEqual(['sh', ckptOf(ENDED)]);
    expect(calls[3]).toEqual(['docker', 'checkpoint', 'rm', CID, `ferry-${ENDED}`]);
    expect(calls).toHaveLength(4);
  });
});
