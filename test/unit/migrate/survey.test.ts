// The plan's order of work, on probe outputs captured from the lab: what
// waits for what (issue 12: the plan costs about max(probes + preflight,
// link estimate), not their sum).
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../../src/migrate/survey.ts';
import type { LinkMeasure, measureLink } from '../../../src/migrate/transfer.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';
import type { ExecResult } from '../../../src/runtime/exec.ts';
import type { SshPool } from '../../../src/ssh/index.ts';
import { loadScript, replay, type ScriptFixture } from '../support/fixtures.ts';

const ROUND_TRIP_MS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** beta holds t5-static (podman); alpha is the destination. Each probe answers after ROUND_TRIP_MS. */
function lab(broken: string[] = []) {
  const t0 = performance.now();
  const log: { at: number; what: string }[] = [];
  const note = (what: string) => log.push({ at: performance.now() - t0, what });
  const answers: Record<string, [ScriptFixture, ScriptFixture]> = {
    beta: [loadScript('probe-beta'), loadScript('preflight-source-t5-static')],
    alpha: [loadScript('probe-alpha'), loadScript('preflight-destination-alpha')],
  };
  const scripts: Record<string, string[]> = { alpha: [], beta: [] };
  const pool = {
    exec: async (host: string, argv: string[]): Promise<ExecResult> => {
      const both = answers[host];
      // (a destination that only had to answer, as the planner once asked)
      if (argv.join(' ') === 'true') return { stdout: '', stderr: '', code: 0 };
      if (!both || argv[0] !== 'sh') throw new Error(`unexpected ${host}: ${argv.join(' ')}`);
      const n = scripts[host]?.push(argv[2] ?? '') ?? 0;
      note(`${host} probe ${n} start`);
      await sleep(ROUND_TRIP_MS);
      note(`${host} probe ${n} end`);
      // it answers, but its shell cannot run the probe
      if (broken.includes(host)) return { stdout: '', stderr: 'sh: 1: Syntax error', code: 2 };
      // the inventory part and the preflight sections, as one answer
      const [a, b] = [replay(both[0], argv), replay(both[1], argv)];
      return { ...a, stdout: a.stdout + b.stdout };
    },
  } as unknown as SshPool;
  const measured: string[] = [];
  const measure = (async (from, to, _compress, _route, o) => {
    measured.push(`${from.host}->${to.host}`);
    note('link start');
    await o?.quiet;
    note('link quiet');
    return {
      bytesPerSec: 40e6,
      zstd: false,
      source: { kind: 'measured', bytes: 80e6, ms: 2000, steady: true },
    };
  }) as typeof measureLink satisfies (...a: never[]) => Promise<LinkMeasure>;
  const at = (what: string) => log.find((l) => l.what === what)?.at ?? Number.NaN;
  return { pool, measure, measured, scripts, at };
}

describe('planMigration: what waits for what', () => {
  it('the link estimate starts before any probe answers, and reads its rate once the probes are in, beside preflight', async () => {
    const l = lab();
    const plan = await planMigration(
      l.pool,
      { members: [{ host: 'beta', name: 't5-static' }], to: 'alpha', options: { ...DEFAULT_OPTIONS } },
      { measureLink: l.measure },
    );
    // one estimate for the one pair
    expect(l.measured).toEqual(['beta->alpha']);
    expect(plan.links['beta->alpha']?.bytesPerSec).toBe(40e6);
    // it started beside the first probes ...
    expect(l.at('link start')).toBeLessThan(l.at('beta probe 1 end'));
    // ... its rate was read after both inventories answered ...
    expect(l.at('link quiet')).toBeGreaterThanOrEqual(
      Math.max(l.at('beta probe 1 end'), l.at('alpha probe 1 end')),
    );
    // ... without waiting for preflight's round trips
    expect(l.at('link quiet')).toBeLessThan(Math.min(l.at('beta probe 2 end'), l.at('alpha probe 2 end')));
    expect(plan.timings?.links).toBeGreaterThanOrEqual(plan.timings?.probes ?? Number.NaN);
  });

  it('two round trips per host, the second of both at once: the CPU image comes with the first', async () => {
    const l = lab();
    const plan = await planMigration(
      l.pool,
      { members: [{ host: 'beta', name: 't5-static' }], to: 'alpha', options: { ...DEFAULT_OPTIONS } },
      { measureLink: l.measure },
    );
    expect(l.scripts.beta).toHaveLength(2);
    expect(l.scripts.alpha).toHaveLength(2);
    // first: both inventories, the source's CPU image with its own
    expect(l.scripts.beta?.[0]).toContain('ferry_run pf.cpuinfo');
    expect(l.scripts.beta?.[0]).toContain('ferry_run podman.containers');
    expect(l.scripts.alpha?.[0]).toContain('ferry_run podman.containers');
    // second: preflight's own sections only, on both hosts at the same time
    expect(l.scripts.beta?.[1]).not.toContain('ferry_run pf.cpuinfo');
    expect(l.scripts.beta?.[1]).not.toContain('ferry_run podman.containers');
    expect(l.scripts.alpha?.[1]).toContain('ferry_run pf.cpucheck');
    expect(l.scripts.alpha?.[1]).not.toContain('ferry_run podman.containers');
    expect(l.at('alpha probe 2 start')).toBeLessThan(l.at('beta probe 2 end'));
    // the verdict is the one preflight gives when run step by step (preflight.test.ts)
    expect(plan.findings.map((f) => `${f.severity}:${f.code}`).sort()).toEqual([
      'blocker:bind-source-missing',
      'warning:mac-kept',
      'warning:network-create',
      'warning:volume-carried',
    ]);
  });

  it('a plan that fails ends its link stream and waits for it', async () => {
    const l = lab();
    let stopped = false;
    const measure = (async (_f, _t, _c, _r, o) => {
      await new Promise<void>((resolve) => {
        if (o?.stop?.aborted) resolve();
        o?.stop?.addEventListener('abort', () => resolve());
      });
      await sleep(20);
      stopped = true;
      throw new Error('stopped');
    }) as typeof measureLink;
    await expect(
      planMigration(
        l.pool,
        { members: [{ host: 'beta', name: 'no-such' }], to: 'alpha', options: { ...DEFAULT_OPTIONS } },
        { measureLink: measure },
      ),
    ).rejects.toThrow(/beta: no podman or docker container named no-such/);
    expect(stopped).toBe(true);
  });

  it('a destination that answers but fails the probe is a blocker from preflight, not an error', async () => {
    const l = lab(['alpha']);
    const plan = await planMigration(
      l.pool,
      { members: [{ host: 'beta', name: 't5-static' }], to: 'alpha', options: { ...DEFAULT_OPTIONS } },
      { measureLink: l.measure },
    );
    expect(plan.blocked).toBe(true);
    expect(plan.findings.map((f) => f.code)).toContain('destination-unreachable');
  });
});
