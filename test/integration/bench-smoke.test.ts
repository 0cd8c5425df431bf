// The bench's smoke run on the real lab: 2 containers of 16 MB, one
// repetition, manual against auto, with the busy source. It proves the bench
// runs end to end, its JSON parses against the schema, a chart is written,
// and the CPU hog is gone afterwards. It asserts no speed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { partSchema, summarySchema } from '../../scripts/bench/model.ts';
import { ssh } from '../support/lab.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'ferry-bench-smoke-'));

describe('npm run bench (smoke)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs manual and auto on 2 x 16 MB with a busy source, writes schema-valid JSON, charts and a README', async () => {
    const r = await execa(
      process.execPath,
      [
        'scripts/bench.ts',
        'run',
        '--runtimes',
        'podman',
        '--links',
        '1gbit',
        '--workloads',
        'smoke',
        '--busy',
        'on',
        '--reps',
        '1',
        '--methods',
        'manual,auto',
        '--no-restore',
        '--no-budgets',
        '--out',
        out,
      ],
      { cwd: ROOT, reject: false, timeout: 150_000 },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);

    const part = partSchema.parse(
      JSON.parse(readFileSync(join(out, 'results', 'part-smoke-podman-1gbit-busy.json'), 'utf8')),
    );
    expect(part.runs.map((x) => x.method).sort()).toEqual(['auto', 'manual']);
    for (const run of part.runs) {
      // state continuity was checked on the destination, and it held
      expect(run.failure).toBeUndefined();
      expect(run.ok).toBe(true);
      expect(Object.keys(run.downtimeMs).sort()).toEqual(['bp-smoke-s1-16mb', 'bp-smoke-s2-16mb']);
      expect(run.cpuSeconds.alpha).toBeGreaterThan(0);
      expect(run.cpuSeconds.beta).toBeGreaterThan(0);
      expect(run.wireBytes.alpha?.tx).toBeGreaterThan(2 * 16 * 2 ** 20);
    }
    const summary = summarySchema.parse(
      JSON.parse(readFileSync(join(out, 'results', 'summary.json'), 'utf8')),
    );
    expect(summary.aggregates.find((a) => a.method === 'auto')?.vsManual).not.toBeNull();

    const charts = readdirSync(join(out, 'charts'));
    expect(charts.sort()).toEqual(['smoke-podman-1gbit-busy-auto.svg', 'smoke-podman-1gbit-busy-manual.svg']);
    const svg = readFileSync(join(out, 'charts', 'smoke-podman-1gbit-busy-auto.svg'), 'utf8');
    expect(svg).toContain('data-stage="transfer"');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('charts/smoke-podman-1gbit-busy-auto.svg');
    expect(String(r.stdout)).toContain('auto');

    // the hog was killed and the bench left nothing behind on either host
    const left = await ssh(
      'alpha',
      'for p in $(pgrep -x yes); do [ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/self/ns/net)" ] && echo $p; done | wc -l; ' +
        'podman ps -aq --filter label=io.ferry.bench=1 | wc -l',
    );
    expect(left.stdout.split('\n').map((l) => l.trim())).toEqual(['0', '0']);
    const beta = await ssh('beta', 'podman ps -aq --filter label=io.ferry.bench=1 | wc -l');
    expect(beta.stdout.trim()).toBe('0');
  }, 180_000);
});
