// The single binary, dist/ferry, on a machine without node: a PATH that
// holds every tool of this one but node, and the headless behaviour of the
// development build, including a real migration on the lab. scripts/test
// builds the binary just before; it is built here only when missing.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import type { EngineEvent } from '../../src/plan/migration.ts';
import {
  continuityProblems,
  removeContainer,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  startCounter,
  waitStatus,
  workloadStatus,
} from '../support/lab.ts';
import { pathWithoutNode } from '../support/path.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'dist', 'ferry');
const NAME = 'e2e-bin-counter';
if (!existsSync(BIN)) await execa('node', ['scripts/build-bin.mjs'], { cwd: ROOT });
const work = await mkdtemp(join(tmpdir(), 'ferry-bin-e2e-'));
const env: Record<string, string> = {
  PATH: await pathWithoutNode(work),
  HOME: process.env.HOME ?? work,
  // a journal dir of its own, so no other run's journal is touched
  XDG_STATE_HOME: join(work, 'state'),
  // the counter runs on the lab host's network (vitest.config.ts)
  FERRY_ALLOW: 'host-network',
};
const ferry = (args: string[]) => execa(BIN, args, { env, extendEnv: false, reject: false });
afterAll(() => rm(work, { recursive: true, force: true }));

describe('dist/ferry without node on PATH', () => {
  it('has no node to fall back on', async () => {
    const which = await execa('which', ['node'], { env, extendEnv: false, reject: false });
    expect(which.exitCode, which.stdout).not.toBe(0);
    expect((await stat(BIN)).size).toBeGreaterThan(50_000_000);
  });

  it('prints the version from package.json', async () => {
    const r = await ferry(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`ferry ${pkg.version}`);
    expect(r.stderr).toBe('');
  });

  it('prints usage on --help and exits 0', async () => {
    const r = await ferry(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stderr).toBe('');
  });

  it('rejects an unknown flag with the usage and exit 1', async () => {
    const r = await ferry(['--frobnicate']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/frobnicate/);
    expect(r.stderr).toContain('Usage:');
  });
});

describe.skipIf(SKIP_LAB)('dist/ferry on the lab, without node on PATH', () => {
  beforeAll(async () => {
    await removeContainer(NAME);
    await startCounter('alpha', NAME, 7390, 20);
  });
  afterAll(() => removeContainer(NAME));

  it('plans the migration (--plan --json) without touching the container', async () => {
    const r = await ferry([
      '--plan',
      '-F',
      SSH_CONFIG,
      '--containers',
      `alpha:${NAME}`,
      '--to',
      'beta',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { schema: string; order: string[]; blocked: boolean };
    expect(plan.schema).toBe('ferry.plan/v1');
    expect(plan.order).toEqual([`alpha/podman/${NAME}`]);
    expect(plan.blocked).toBe(false);
    expect((await ssh('alpha', `podman container exists ${NAME}`)).exitCode).toBe(0);
  });

  it('migrates a container headless, and it keeps counting on the destination', async () => {
    const before = await workloadStatus('alpha', 'podman', NAME);
    const r = await ferry([
      'migrate',
      '-F',
      SSH_CONFIG,
      '--containers',
      `alpha:${NAME}`,
      '--to',
      'beta',
      '--yes',
      '--events',
      'ndjson',
    ]);
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as EngineEvent);
    const finished = events.find(
      (e): e is Extract<EngineEvent, { type: 'run-finished' }> => e.type === 'run-finished',
    );
    expect(finished?.summary.results, r.stderr || r.stdout.slice(-2000)).toEqual([
      expect.objectContaining({ id: `alpha/podman/${NAME}`, outcome: 'migrated' }),
    ]);
    expect(r.exitCode).toBe(0);

    const after = await waitStatus('beta', 'podman', NAME, (s) => s.ticks > before.ticks);
    expect(after.runId).toBe(before.runId);
    expect(continuityProblems(before, after)).toEqual([]);
    expect((await ssh('alpha', `podman container exists ${NAME}`)).exitCode).toBe(1);
  });
});
