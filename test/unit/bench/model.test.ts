import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CpuSnapshot, cpuDelta } from '../../../scripts/bench/lab.ts';
import {
  aggregate,
  downtimesOf,
  flowShopBound,
  makespanOf,
  parseNdjson,
  payloadBytesOf,
  type RunRecord,
  restoreSummary,
  stagesOf,
  timelineFromEvents,
} from '../../../scripts/bench/model.ts';
import { groupKey, groupTitle, headlineTable, runtimeTable } from '../../../scripts/bench/report.ts';

// captured from `ferry migrate --events ndjson` on the lab (the 4-stage workflow, 64-256 MB, podman, pipelined, 1 Gbit/s; byte-progress events left out, as the bench stores them)
const fixture = readFileSync(new URL('../../fixtures/bench/pipelined-wf4.ndjson', import.meta.url), 'utf8');

describe('metrics from the engine events', () => {
  const events = parseNdjson(fixture);
  const tl = timelineFromEvents(events);

  it('has one timeline per container, with every stage it went through', () => {
    expect(tl.map((c) => c.name).sort()).toEqual([
      'bp-wf4-producer',
      'bp-wf4-sink',
      'bp-wf4-stage1',
      'bp-wf4-stage2',
    ]);
    for (const c of tl) {
      expect(c.outcome).toBe('migrated');
      expect(c.stages.map((b) => b.stage)).toEqual([
        'prestage',
        'checkpoint',
        'transfer',
        'restore',
        'verify',
        'finalize',
      ]);
      for (const b of c.stages) expect(b.end).toBeGreaterThanOrEqual(b.start);
    }
  });

  it('downtime runs from checkpoint start to restore end, and matches the engine own figure', () => {
    const d = downtimesOf(tl);
    for (const e of events.filter((x) => x.type === 'container-done')) {
      const name = (e.id ?? '').split('/')[2] as string;
      // the engine measures with performance.now, around its awaits; the events are stamped in whole ms as emitted
      expect(Math.abs((d[name] ?? 0) - (e.downtimeMs ?? 0))).toBeLessThanOrEqual(20);
    }
  });

  it('makespan runs from the first freeze to the last container running, not the whole run', () => {
    const m = makespanOf(tl) as number;
    const first = Math.min(...tl.map((c) => c.freezeAt as number));
    const last = Math.max(...tl.map((c) => c.runningAt as number));
    expect(m).toBe(last - first);
    const finished = events.find((e) => e.type === 'run-finished');
    expect(m).toBeLessThan(finished?.t ?? 0);
  });

  it('sums stage durations and the transfer bytes', () => {
    const s = stagesOf(tl);
    const restores = events.filter((e) => e.type === 'stage-finished' && e.stage === 'restore');
    for (const e of restores) {
      const name = (e.id ?? '').split('/')[2] as string;
      expect(Math.abs((s[name]?.restore ?? 0) - (e.ms ?? 0))).toBeLessThanOrEqual(20);
    }
    expect(payloadBytesOf(events)).toBeGreaterThan(640 * 2 ** 20);
  });

  it('a container without a restore has no downtime figure and does not end the makespan', () => {
    const last = [...tl].sort((a, b) => (b.runningAt ?? 0) - (a.runningAt ?? 0))[0]?.name as string;
    const cut = events.filter(
      (e) => !(e.type === 'stage-finished' && e.stage === 'restore' && e.id?.endsWith(`/${last}`)),
    );
    const t = timelineFromEvents(cut);
    expect(Object.keys(downtimesOf(t))).not.toContain(last);
    expect(Object.keys(downtimesOf(t))).toHaveLength(3);
    expect(makespanOf(t)).toBeLessThan(makespanOf(tl) as number);
  });
});

describe('flow-shop lower bound', () => {
  it('is the chain of a single job', () => {
    expect(flowShopBound([{ checkpoint: 1, transfer: 2, restore: 3 }])).toBe(6);
  });

  it('is the busiest resource plus the least fill and drain', () => {
    // transfer dominates: 1 + (4+4+4) + 1
    const jobs = [
      { checkpoint: 1, transfer: 4, restore: 1 },
      { checkpoint: 2, transfer: 4, restore: 2 },
      { checkpoint: 3, transfer: 4, restore: 3 },
    ];
    expect(flowShopBound(jobs)).toBe(14);
    // checkpoint dominates: (5+5) + least (transfer+restore) = 10 + 2
    expect(
      flowShopBound([
        { checkpoint: 5, transfer: 1, restore: 1 },
        { checkpoint: 5, transfer: 3, restore: 3 },
      ]),
    ).toBe(12);
  });

  it('never exceeds the one-by-one sum and never falls under any resource load', () => {
    const jobs = [
      { checkpoint: 3, transfer: 7, restore: 2 },
      { checkpoint: 1, transfer: 2, restore: 9 },
    ];
    const b = flowShopBound(jobs);
    expect(b).toBeLessThanOrEqual(3 + 7 + 2 + 1 + 2 + 9);
    expect(b).toBeGreaterThanOrEqual(11);
    // checkpoint 4 + drain 9 = 13; transfer 1 + 9 + 2 = 12; restore: fill 3 + load 11 = 14
    expect(b).toBe(14);
  });
});

const run = (method: RunRecord['method'], makespanMs: number, downs: number[], ok = true): RunRecord => ({
  method,
  rep: 1,
  ok,
  startedAt: '',
  loadBefore: [1, 1, 1],
  loadAfter: [2, 1, 1],
  machineBusy: 0.5,
  makespanMs,
  downtimeMs: Object.fromEntries(downs.map((d, i) => [`c${i}`, d])),
  stagesMs: Object.fromEntries(
    downs.map((d, i) => [`c${i}`, { checkpoint: d / 4, transfer: d / 2, restore: d / 4 }]),
  ),
  timeline: [],
  payloadBytes: 0,
  wireBytes: {},
  cpuSeconds: { alpha: 1, operator: 2 },
  cpuSecondsPerGB: 10,
  wallMs: 0,
});

describe('aggregate', () => {
  it('gives ratios against sequential and manual from medians, leaving failed runs out', () => {
    const rows = aggregate({
      runtime: 'podman',
      link: '1gbit',
      workload: 'wf4',
      busy: false,
      runs: [
        run('manual', 20_000, [4000, 4000]),
        run('sequential', 10_000, [2000, 2000]),
        run('sequential', 12_000, [2000, 2000]),
        run('sequential', 14_000, [2000, 2000]),
        run('auto', 6000, [1000, 3000]),
        run('auto', 1, [1, 1], false),
      ],
    });
    const auto = rows.find((r) => r.method === 'auto');
    expect(auto?.runs).toBe(2);
    expect(auto?.ok).toBe(1);
    expect(auto?.vsSequential).toBeCloseTo(0.5);
    expect(auto?.vsManual).toBeCloseTo(0.3);
    expect(auto?.downtimeVsManual).toBeCloseTo(0.5);
    expect(auto?.downtimeMs).toEqual({ min: 1000, max: 3000 });
    const seq = rows.find((r) => r.method === 'sequential');
    expect(seq?.makespanMs).toEqual({ median: 12_000, min: 10_000, max: 14_000, n: 3 });
    // the bound from sequential's stages: transfer 1000 + 1000, fill 500, drain 500
    expect(auto?.boundMs).toBe(3000);
    expect(auto?.efficiency).toBeCloseTo(0.5);
  });

  it('keeps a busy part with a niced hog apart from the plain busy part, under the part id', () => {
    const part = {
      runtime: 'podman' as const,
      link: '1gbit',
      workload: 'wf4',
      runs: [run('auto', 6000, [1000, 3000])],
    };
    const plain = aggregate({ ...part, busy: true })[0];
    const niced = aggregate({ ...part, busy: true, hogNice: 19 })[0];
    if (!plain || !niced) throw new Error('no rows');
    expect(groupKey(plain)).toBe('wf4-podman-1gbit-busy');
    expect(groupKey(niced)).toBe('wf4-podman-1gbit-busy-hognice19');
    expect(groupTitle(niced)).toContain('at nice 19');
    expect(groupKey({ ...niced, busy: false })).toBe('wf4-podman-1gbit-idle');
  });
});

describe('restore summary', () => {
  it('pairs interleaved samples for the spread of the ratio', () => {
    const r = restoreSummary([
      { path: 'precreate', rep: 1, ms: 100, detail: { criuRestoreMs: 80 } },
      { path: 'plain-import', rep: 1, ms: 200 },
      { path: 'precreate', rep: 2, ms: 300, detail: { criuRestoreMs: 90 } },
      { path: 'plain-import', rep: 2, ms: 400 },
    ]);
    expect(r?.ratio).toBeCloseTo(200 / 300);
    expect(r?.ratioMin).toBeCloseTo(0.5);
    expect(r?.ratioMax).toBeCloseTo(0.75);
    expect(r?.breakdown.precreate?.criuRestoreMs).toBe(85);
  });
});

describe('CPU per host', () => {
  it('counts what each process and its reaped children used, new processes whole, the hog not at all', () => {
    const a: CpuSnapshot = new Map([
      [
        'alpha',
        new Map([
          ['1:5', { self: 100, children: 50, comm: 'sshd' }],
          ['9:7', { self: 10, children: 0, comm: 'gone' }],
        ]),
      ],
    ]);
    const b: CpuSnapshot = new Map([
      [
        'alpha',
        new Map([
          ['1:5', { self: 110, children: 250, comm: 'sshd' }],
          ['2:9', { self: 30, children: 0, comm: 'criu' }],
          ['3:9', { self: 900, children: 0, comm: 'yes' }],
        ]),
      ],
    ]);
    expect(cpuDelta(a, b)).toEqual({ alpha: (10 + 200 + 30) / 100 });
  });
});

describe('the targets table', () => {
  const part = (runtime: 'podman' | 'docker', scale: number) =>
    aggregate({
      runtime,
      link: '1gbit',
      workload: 'wf4',
      busy: false,
      runs: [
        run('manual', 20_000 * scale, [4000 * scale, 4000 * scale]),
        run('sequential', 12_000 * scale, [2000 * scale, 2000 * scale]),
        run('auto', 6000 * scale, [1000 * scale, 3000 * scale]),
      ],
    });

  it('gives each part its ratios against sequential and manual, and the bound against sequential', () => {
    const rows = part('podman', 1);
    const table = headlineTable(rows);
    const cells = (table.split('\n')[2] ?? '').split('|').map((c) => c.trim());
    // auto / seq, pipelined / seq (none), parallel / seq (none), bound / seq, auto eff.
    expect(cells.slice(1, 6)).toEqual(['wf4, podman, 1gbit, idle', '0.50', '-', '-', '0.25']);
    expect(cells[6]).toBe('50%');
    // downtime seq / manual, auto / manual, auto / seq
    expect(cells.slice(7, 10)).toEqual(['0.50', '0.50', '1.00']);
    // CPU per GB auto / manual (the same figure here), direct / manual (none), auto / manual makespan
    expect(cells.slice(10, 13)).toEqual(['1.00', '-', '0.30']);
  });

  it('compares docker with podman only for the same part and method', () => {
    const table = runtimeTable([...part('podman', 1), ...part('docker', 3)]);
    expect(table).toContain('| wf4, 1gbit, idle | auto | 3.00 | 3.00 |');
    expect(table.split('\n')).toHaveLength(2 + 3);
    expect(runtimeTable(part('docker', 3))).toBe('');
  });
});
