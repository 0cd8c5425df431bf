// npm run bench: ferry's strategies against a manual migration on the lab,
// interleaved, each run checked for state continuity. See bench/README.md.
//
//   node scripts/bench.ts [run] [--runtimes podman,docker] [--links 1gbit,200mbit]
//        [--workloads wf4,mixed8,single512,stack] [--busy off,on] [--reps 3]
//        [--methods manual,sequential,pipelined,parallel,auto] [--out bench] [--no-restore]
//   node scripts/bench.ts restore [--reps 5] [--out bench]   pre-created vs restore --import
//   node scripts/bench.ts merge [--out bench]                 parts -> summary, charts, README
//   node scripts/bench.ts list [same options as run]          one command per part (a lock slot each)
//
// Each (workload, runtime, link, idle|busy) is a part: it writes
// OUT/results/part-*.json on its own, so a long bench can run in slots and
// be merged at the end. Needs root and the lab (brought up here).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ganttSvg } from './bench/gantt.ts';
import {
  clearBench,
  continuity,
  cpuDelta,
  cpuSnapshot,
  currentRates,
  groupMB,
  lab,
  loadavg,
  machineTicks,
  metrics,
  ROOT,
  runFerry,
  runManual,
  sh,
  shOk,
  startHog,
  startWorkload,
  statuses,
  WORKLOADS,
  type Workload,
  wireCounters,
} from './bench/lab.ts';
import {
  aggregate,
  type BenchRuntime,
  METHODS,
  type Method,
  type Part,
  partSchema,
  type RestoreSample,
  RUNTIMES,
  type RunRecord,
  restoreSummary,
  type Summary,
  summarySchema,
} from './bench/model.ts';
import {
  breakdownTable,
  groupKey,
  groups,
  groupTitle,
  headlineTable,
  markdownTable,
  runtimeTable,
  textSummary,
} from './bench/report.ts';
import { clearStack, runManualStack, stackContinuity, stackSnapshot, startStack } from './bench/stack.ts';

const { positionals, values: v } = parseArgs({
  allowPositionals: true,
  options: {
    runtimes: { type: 'string', default: 'podman,docker' },
    links: { type: 'string', default: '1gbit,200mbit' },
    workloads: { type: 'string', default: 'wf4,mixed8,single512,stack' },
    busy: { type: 'string', default: 'off,on' },
    /** the busy source's hog at this niceness: 19 stands for ferry's work at a higher priority than the load */
    'hog-nice': { type: 'string', default: '0' },
    reps: { type: 'string' },
    methods: { type: 'string', default: METHODS.join(',') },
    out: { type: 'string', default: 'bench' },
    'no-restore': { type: 'boolean', default: false },
    'no-merge': { type: 'boolean', default: false },
    /** skip the single binary's budgets (bench-budgets.ts) and issue 12's ratios (bench-fast.ts) after a run */
    'no-budgets': { type: 'boolean', default: false },
    /** a suffix for the part's file, so one part can be run in several slots and merged */
    tag: { type: 'string' },
  },
});
const command = positionals[0] ?? 'run';
const list = (x: string) =>
  x
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const OUT = resolve(v.out);
const RESULTS = join(OUT, 'results');
const CHARTS = join(OUT, 'charts');

function pick<T extends string>(what: string, given: string[], known: readonly T[]): T[] {
  for (const g of given)
    if (!known.includes(g as T)) throw new Error(`--${what}: '${g}' is not one of ${known.join(', ')}`);
  return given as T[];
}
const runtimes = pick('runtimes', list(v.runtimes), RUNTIMES);
const methods = pick('methods', list(v.methods), METHODS);
const workloads = pick('workloads', list(v.workloads), Object.keys(WORKLOADS));
const busyModes = pick('busy', list(v.busy), ['off', 'on'] as const).map((b) => b === 'on');
const links = list(v.links);
for (const l of links)
  if (!/^\d+(gbit|mbit|kbit)$/.test(l)) throw new Error(`--links: '${l}' is not like 1gbit or 200mbit`);

const machine = () => ({
  host: hostname(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memMB: Math.round(totalmem() / 2 ** 20),
});
const commit = () => {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    return 'unknown';
  }
};
const partFile = (id: string) => join(RESULTS, `part-${id}${v.tag ? `-${v.tag}` : ''}.json`);
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function prepare(link: string) {
  mkdirSync(RESULTS, { recursive: true });
  const rates = currentRates();
  await lab('up');
  await lab('rate', 'all', link);
  execFileSync('node', [join(ROOT, 'scripts/build.mjs'), '--quiet'], { stdio: 'inherit' });
  return async () => {
    for (const [h, r] of Object.entries(rates)) await lab('rate', h, r).catch(() => undefined);
  };
}

// ------------------------------------------------------------------ run a part

async function runOnce(rt: BenchRuntime, w: Workload, method: Method, rep: number): Promise<RunRecord> {
  const names = w.compose ? await startStack(rt, w) : await startWorkload(rt, w);
  await new Promise((r) => setTimeout(r, 1000));
  const before = w.compose
    ? { kind: 'stack' as const, stack: await stackSnapshot(rt, w) }
    : { kind: 'workload' as const, workload: await statuses('alpha', rt, names) };
  const startedAt = new Date().toISOString();
  const [cpu0, wire0, m0, load0, t0] = [
    cpuSnapshot(),
    await wireCounters(),
    machineTicks(),
    loadavg(),
    Date.now(),
  ];
  const res =
    method === 'manual'
      ? await (w.compose ? runManualStack(rt, w) : runManual(rt, w))
      : method === 'direct'
        ? await runFerry(rt, w, 'auto', ['--transfer', 'direct'])
        : await runFerry(rt, w, method);
  const [cpu1, wire1, m1, load1, t1] = [
    cpuSnapshot(),
    await wireCounters(),
    machineTicks(),
    loadavg(),
    Date.now(),
  ];
  const problems = !res.ok
    ? []
    : before.kind === 'stack'
      ? await stackContinuity(rt, w, before.stack)
      : await continuity(rt, w, names, before.workload);
  const cpuSeconds = { ...cpuDelta(cpu0, cpu1), operator: res.operatorCpu };
  const total = Object.values(cpuSeconds).reduce((s, x) => s + x, 0);
  // the stack has no ballast: per GB it carried
  const gbMoved = (groupMB(w) || res.payloadBytes / 2 ** 20) / 1024;
  const failure = res.failure ?? (problems.length ? `lost state: ${problems.join('; ')}` : undefined);
  const m = metrics(res.timeline);
  const rec: RunRecord = {
    method,
    rep,
    ok: res.ok && problems.length === 0,
    ...(failure ? { failure } : {}),
    startedAt,
    loadBefore: load0,
    loadAfter: load1,
    machineBusy: (m1[0] - m0[0]) / Math.max(1, m1[1] - m0[1]),
    ...m,
    timeline: res.timeline,
    payloadBytes: res.payloadBytes,
    wireBytes: Object.fromEntries(
      Object.entries(wire1).map(([h, c]) => [
        h,
        { rx: c.rx - (wire0[h]?.rx ?? 0), tx: c.tx - (wire0[h]?.tx ?? 0) },
      ]),
    ),
    cpuSeconds,
    cpuSecondsPerGB: gbMoved ? total / gbMoved : 0,
    wallMs: t1 - t0,
    ...(res.events ? { events: res.events as unknown as Record<string, unknown>[] } : {}),
  };
  log(
    `${w.name} ${rt} ${method} #${rep}: ${rec.ok ? 'ok' : `FAILED (${failure})`} makespan ${rec.makespanMs} ms, downtime ${Object.values(rec.downtimeMs).join('/')} ms, CPU ${total.toFixed(1)} s, load ${load1[0]}`,
  );
  return rec;
}

const hogNice = Number(v['hog-nice']);
if (!Number.isInteger(hogNice) || hogNice < 0 || hogNice > 19)
  throw new Error(`--hog-nice: '${v['hog-nice']}' is not 0-19`);

async function runPart(rt: BenchRuntime, w: Workload, link: string, busy: boolean, reps: number) {
  const id = groupKey({ workload: w.name, runtime: rt, link, busy, hogNice });
  log(`part ${id}: ${reps} x ${methods.join(', ')}`);
  const restoreRates = await prepare(link);
  const hog = busy ? await startHog(cpus().length, hogNice) : undefined;
  const startedAt = new Date().toISOString();
  const runs: RunRecord[] = [];
  try {
    for (let rep = 1; rep <= reps; rep++) {
      // interleaved, and each repetition starts with a different method
      const order = methods.map((_, i) => methods[(i + rep - 1) % methods.length] as Method);
      for (const method of order) {
        try {
          runs.push(await runOnce(rt, w, method, rep));
        } catch (err) {
          log(`${id} ${method} #${rep}: ERROR ${String(err)}`);
          runs.push(errorRun(method, rep, err));
        }
      }
    }
  } finally {
    hog?.stop();
    await (w.compose ? clearStack(rt) : clearBench(rt));
    await restoreRates();
  }
  const part: Part = {
    kind: 'ferry-bench-part',
    id,
    machine: machine(),
    commit: commit(),
    runtime: rt,
    link,
    workload: w.name,
    busy,
    ...(busy && hogNice ? { hogNice } : {}),
    groupMB: groupMB(w),
    containers: w.members.length,
    reps,
    startedAt,
    finishedAt: new Date().toISOString(),
    runs,
  };
  writeFileSync(partFile(id), `${JSON.stringify(partSchema.parse(part), null, 1)}\n`);
  log(`wrote ${partFile(id)}`);
}

function errorRun(method: Method, rep: number, err: unknown): RunRecord {
  return {
    method,
    rep,
    ok: false,
    failure: `bench error: ${err instanceof Error ? err.message : String(err)}`,
    startedAt: new Date().toISOString(),
    loadBefore: loadavg(),
    loadAfter: loadavg(),
    machineBusy: 0,
    makespanMs: null,
    downtimeMs: {},
    stagesMs: {},
    timeline: [],
    payloadBytes: 0,
    wireBytes: {},
    cpuSeconds: {},
    cpuSecondsPerGB: 0,
    wallMs: 0,
  };
}

// ------------------------------------------------------------------ restore ratio

/** Pre-created restore vs restore --import, one 64 MB podman container, each alone on an idle beta, interleaved. */
async function runRestore(reps: number) {
  const w: Workload = {
    name: 'restore64',
    description: 'one 64 MB podman container',
    pipeline: false,
    members: [{ svc: 'r64', role: 'sink', ballastMb: 64, inPort: 40 }],
  };
  const rt: BenchRuntime = 'podman';
  const restoreRates = await prepare('1gbit');
  const samples: RestoreSample[] = [];
  const paths = ['precreate', 'import', 'plain-import'] as const;
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (let i = 0; i < paths.length; i++) {
        const path = paths[(i + rep - 1) % paths.length] as (typeof paths)[number];
        const [name] = await startWorkload(rt, w);
        await new Promise((r) => setTimeout(r, 1000));
        if (path === 'plain-import') {
          const f = `/tmp/bench-manual-${name}.tar`;
          await shOk(
            'alpha',
            `podman container checkpoint --export ${f} --compress none ${name} >/dev/null && scp -q -o BatchMode=yes ${f} 10.99.0.12:${f} && rm -f ${f} && podman rm -f -t 0 ${name} >/dev/null`,
          );
          const out = await shOk(
            'beta',
            `t0=$(date +%s%N); podman container restore --import ${f} >/dev/null; t1=$(date +%s%N); rm -f ${f}; echo $(( (t1 - t0) / 1000 ))`,
          );
          samples.push({ path, rep, ms: Number(out.trim()) / 1000 });
        } else {
          const r = await runFerry(rt, w, 'sequential', ['--restore-path', path]);
          const e = r.events?.find((x) => x.type === 'stage-finished' && x.stage === 'restore');
          if (!r.ok || !e) throw new Error(`restore ${path} #${rep}: ${r.failure ?? 'no restore stage'}`);
          samples.push({ path, rep, ms: e.ms ?? 0, ...(e.detail ? { detail: e.detail } : {}) });
        }
        log(`restore ${path} #${rep}: ${samples.at(-1)?.ms.toFixed(0)} ms`);
      }
    }
  } finally {
    await clearBench(rt);
    await restoreRates();
  }
  const now = new Date().toISOString();
  const part: Part = {
    kind: 'ferry-bench-part',
    id: 'restore-podman',
    machine: machine(),
    commit: commit(),
    runtime: rt,
    link: '1gbit',
    workload: w.name,
    busy: false,
    groupMB: 64,
    containers: 1,
    reps,
    startedAt: now,
    finishedAt: now,
    runs: [],
    restore: samples,
  };
  writeFileSync(partFile(part.id), `${JSON.stringify(partSchema.parse(part), null, 1)}\n`);
}

// ------------------------------------------------------------------ merge

export function loadParts(dir: string): Part[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => /^part-.*\.json$/.test(f));
  } catch {
    return [];
  }
  return files.sort().map((f) => partSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))));
}

function merge() {
  const parts = loadParts(RESULTS);
  if (parts.length === 0) throw new Error(`no parts in ${RESULTS}: run some first`);
  mkdirSync(CHARTS, { recursive: true });
  // parts of the same id (run in several slots, --tag) are one set of runs
  const byId = new Map<string, Part>();
  for (const p of parts.filter((x) => x.runs.length)) {
    const seen = byId.get(p.id);
    byId.set(p.id, seen ? { ...seen, reps: seen.reps + p.reps, runs: [...seen.runs, ...p.runs] } : p);
  }
  const merged = [...byId.values()];
  const aggregates = merged.flatMap(aggregate);
  const restoreSamples = parts.flatMap((p) => p.restore ?? []);
  const summary: Summary = {
    kind: 'ferry-bench-summary',
    generatedAt: new Date().toISOString(),
    machine: (parts[0] as Part).machine,
    parts: parts.map((p) => `${p.id} (${p.reps} reps, ${p.startedAt}, commit ${p.commit})`),
    aggregates,
    restore: restoreSamples.length ? restoreSummary(restoreSamples) : null,
  };
  writeFileSync(join(RESULTS, 'summary.json'), `${JSON.stringify(summarySchema.parse(summary), null, 1)}\n`);
  // one chart per part and method: its median run
  const charts = new Map<string, string[]>();
  for (const p of merged) {
    for (const method of METHODS) {
      const runs = p.runs.filter((r) => r.method === method);
      if (!runs.length) continue;
      const ok = runs.filter((r) => r.ok && r.makespanMs !== null);
      const pool = ok.length ? ok : runs;
      const sorted = [...pool].sort((a, b) => (a.makespanMs ?? 0) - (b.makespanMs ?? 0));
      const run = sorted[Math.floor((sorted.length - 1) / 2)] as RunRecord;
      const file = `${p.id}-${method}.svg`;
      const sub = `${p.runtime}, link ${p.link}, source ${p.busy ? `busy${p.hogNice ? ` (hog at nice ${p.hogNice})` : ''}` : 'idle'}; run ${run.rep} of ${runs.length} (median); makespan ${run.makespanMs === null ? '-' : (run.makespanMs / 1000).toFixed(1)} s${run.ok ? '' : ' FAILED'}; load ${run.loadBefore[0]}`;
      writeFileSync(join(CHARTS, file), ganttSvg(`${method}: ${p.workload}`, run.timeline, sub));
      charts.set(p.id, [...(charts.get(p.id) ?? []), file]);
    }
  }
  writeReadme(summary, merged, charts);
  process.stdout.write(textSummary(summary));
  log(
    `wrote ${join(RESULTS, 'summary.json')}, ${[...charts.values()].flat().length} charts, ${join(OUT, 'README.md')}`,
  );
}

const BEGIN = '<!-- bench:begin (generated by node scripts/bench.ts merge) -->';
const END = '<!-- bench:end -->';

function writeReadme(summary: Summary, parts: Part[], charts: Map<string, string[]>) {
  const lines: string[] = [BEGIN, ''];
  const m = summary.machine;
  lines.push(
    `Machine: \`${m.host}\`, ${m.cpus} x ${m.cpuModel}, ${m.memMB} MB; parts: ${parts.map((p) => `${p.id} (${p.reps} reps, commit ${p.commit})`).join('; ')}.`,
    '',
  );
  lines.push(
    '### Against the targets',
    '',
    "Ratios of medians within each part (the same workload, runtime, link and source, methods interleaved). The bound is the flow-shop lower bound of the makespan from sequential's stage durations.",
    '',
    headlineTable(summary.aggregates),
    '',
  );
  const byRuntime = runtimeTable(summary.aggregates);
  if (byRuntime) lines.push('### docker against podman', '', byRuntime, '');
  for (const [key, rows] of groups(summary.aggregates)) {
    const first = rows[0];
    if (!first) continue;
    lines.push(
      `### ${groupTitle(first)}`,
      '',
      `Flow-shop bound ${first.boundMs === null ? '-' : `${(first.boundMs / 1000).toFixed(1)} s`} (from sequential's stages); load average ${Math.min(...rows.map((r) => r.loadavg.min))}-${Math.max(...rows.map((r) => r.loadavg.max))} (2 cores).`,
      '',
      markdownTable(rows),
      '',
      'Median stage per container, and CPU-seconds per run by host (operator: ferry itself, or the manual script):',
      '',
      breakdownTable(rows),
      '',
    );
    for (const f of charts.get(key) ?? []) lines.push(`![${f}](charts/${f})`);
    lines.push('');
  }
  const r = summary.restore;
  if (r) {
    lines.push(
      '### Restore stage: pre-created container vs `restore --import`',
      '',
      `One 64 MB podman container, each path alone on an idle destination, interleaved, ${r.precreateMs.n} times each.`,
      '',
      '| path | median ms | min-max ms |',
      '|---|---|---|',
      `| pre-created (ferry's restore stage) | ${r.precreateMs.median.toFixed(0)} | ${r.precreateMs.min.toFixed(0)}-${r.precreateMs.max.toFixed(0)} |`,
      ...(r.importMs
        ? [
            `| ferry --restore-path import | ${r.importMs.median.toFixed(0)} | ${r.importMs.min.toFixed(0)}-${r.importMs.max.toFixed(0)} |`,
          ]
        : []),
      `| plain \`podman container restore --import\` | ${r.plainImportMs.median.toFixed(0)} | ${r.plainImportMs.min.toFixed(0)}-${r.plainImportMs.max.toFixed(0)} |`,
      '',
      `Ratio pre-created / plain: **${r.ratio.toFixed(2)}** (per interleaved pair ${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}).`,
      '',
      ...Object.entries(r.breakdown).map(
        ([path, b]) =>
          `- ${path}: ${Object.entries(b)
            .map(([k, x]) => `${k} ${Math.round(x)}`)
            .join(', ')} (medians, ms)`,
      ),
      '',
    );
  }
  const fast = readdirSync(RESULTS).filter((f) => /^fast-.*\.json$/.test(f));
  if (fast.length)
    lines.push(
      `Issue 12's ratios (start-up, inventory, plan, link; \`scripts/bench-fast.ts\`): ${fast.map((f) => `[${f}](results/${f})`).join(', ')}.`,
      '',
    );
  lines.push(END);
  const file = join(OUT, 'README.md');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = `# ferry bench\n\n${BEGIN}\n${END}\n`;
  }
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text =
    a >= 0 && b > a
      ? text.slice(0, a) + lines.join('\n') + text.slice(b + END.length)
      : `${text}\n${lines.join('\n')}\n`;
  writeFileSync(file, text);
}

// ------------------------------------------------------------------ main

const partsToRun = () =>
  runtimes.flatMap((rt) =>
    links.flatMap((link) => workloads.flatMap((wl) => busyModes.map((busy) => ({ rt, link, wl, busy })))),
  );

if (command === 'list') {
  for (const p of partsToRun())
    console.log(
      `node scripts/bench.ts run --runtimes ${p.rt} --links ${p.link} --workloads ${p.wl} --busy ${p.busy ? 'on' : 'off'}${p.busy && hogNice ? ` --hog-nice ${hogNice}` : ''} --reps ${v.reps ?? 3} --methods ${methods.join(',')} --out ${v.out} --no-restore --no-merge`,
    );
  console.log(`node scripts/bench.ts restore --reps 5 --out ${v.out}`);
  console.log(`node scripts/bench.ts merge --out ${v.out}`);
} else if (command === 'merge') {
  merge();
} else if (command === 'restore') {
  await runRestore(Number(v.reps ?? 5));
  if (!v['no-merge']) merge();
} else if (command === 'run') {
  const reps = Number(v.reps ?? 3);
  for (const p of partsToRun()) await runPart(p.rt, WORKLOADS[p.wl] as Workload, p.link, p.busy, reps);
  if (!v['no-restore']) await runRestore(5);
  if (!v['no-merge']) merge();
  // a sanity check that the lab is left as the next user expects
  const left = await sh('alpha', 'podman ps -q --filter label=io.ferry.bench=1 | wc -l');
  if (left.stdout.trim() !== '0') log('warning: bench containers left on alpha');
  // a part run in a lab slot (--no-merge) leaves the budgets to the final run
  if (!v['no-budgets'] && !v['no-merge']) {
    // the binary's start-up budgets, then issue 12's ratios (its own script and JSON) when present
    const after = ['scripts/build-bin.mjs', 'scripts/bench-budgets.ts', 'scripts/bench-fast.ts'];
    for (const script of after.filter((f) => existsSync(join(ROOT, f)))) {
      const r = spawnSync(process.execPath, [join(ROOT, script)], { stdio: 'inherit' });
      // a budget over its limit exits 1: reported, and the bench's exit status says so
      if (r.status !== 0) {
        log(`${script} exited ${r.status}`);
        process.exitCode = 1;
      }
    }
  }
} else {
  throw new Error(`unknown command '${command}' (run, restore, merge, list)`);
}
