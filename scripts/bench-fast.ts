// Issue 12: ferry where the operator waits, each number a ratio to its floor
// measured in the same run (never asserted by a test: the machine is shared
// and noisy). Prints every ratio with its floor and writes
// bench/results/fast-LABEL.json.
//   node scripts/bench-fast.ts [--label L] [--ferry DIR] [--bin FILE] [--runs N]
//                              [--parts startup,inventory,plan,link,downtime,growth] [--before DIR]
// Parts that do not fit one lab slot together run one after another with the
// same --label: each measures its figures and their floors itself, and adds
// them to the same results file (a figure measured again replaces the old one).
// --ferry: the directory holding ferry.mjs (default dist); --bin: the single
// binary (default dist/ferry; skipped when missing). Lab parts need the lab
// up and the lab lock (flock /tmp/ferry-lab.lock ...); they are skipped when
// the lab's ssh config is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;
const LAB = '/var/lib/ferry-lab/ssh_config';
const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'now' },
    ferry: { type: 'string', default: join(ROOT, 'dist') },
    bin: { type: 'string', default: join(ROOT, 'dist', 'ferry') },
    runs: { type: 'string', default: '7' },
    parts: { type: 'string', default: 'startup,inventory,plan,link,downtime,growth' },
    out: { type: 'string' },
    // plan and growth: measure this older build too, in the same runs (before/after in one run)
    before: { type: 'string' },
    // what the older build is, for the ratio's name (a commit, say)
    'before-label': { type: 'string', default: 'the older build' },
  },
});
const RUNS = Math.max(3, Number(args.runs));
const parts = new Set((args.parts ?? '').split(','));
const FERRY = resolve(args.ferry as string, 'ferry.mjs');
const BIN = resolve(args.bin as string);
const NODE = process.execPath;
const HOSTS = ['alpha', 'beta', 'gamma'];
const labUp = existsSync(LAB);
const ratios: Ratio[] = [];
const extra: Record<string, unknown> = {};
// a state dir of the run's own: journals, and nothing remembered from before
const STATE = mkdtempSync(join(tmpdir(), 'ferry-bench-fast-'));
// the sample workflow and the bench's own containers run on the host network; hosts' facts
// are cached in the run's own cache dir (a plan part warms it first, as an operator's first plan would)
const ENV = {
  ...process.env,
  XDG_STATE_HOME: STATE,
  XDG_CACHE_HOME: join(STATE, 'cache'),
  TERM: 'xterm-256color',
  FERRY_ALLOW: 'host-network',
};
/** the machine's load average (1, 5, 15 min): the lab shares the machine with other work */
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
extra.loadavgAtStart = loadavg();

/** busy / total CPU time of the whole machine (the lab hosts share its kernel) while fn runs */
function cpuBusy<T>(fn: () => T): { value: T; busy: number } {
  const read = () => {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  const value = fn();
  const b = read();
  const total = b.total - a.total;
  return { value, busy: total > 0 ? r1((100 * (total - (b.idle - a.idle))) / total) / 100 : Number.NaN };
}

interface Ratio {
  name: string;
  ms: number;
  floor: string;
  floorMs: number;
  ratio: number;
  target: number | null;
  met: boolean | null;
  runs: number;
  note?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

function run(argv: string[], o: { env?: NodeJS.ProcessEnv; input?: string; ok?: boolean } = {}) {
  const [cmd = '', ...rest] = argv;
  const t = performance.now();
  const r = spawnSync(cmd, rest, {
    env: o.env ?? ENV,
    input: o.input,
    stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t;
  if ((o.ok ?? true) && r.status !== 0)
    throw new Error(`${argv.join(' ').slice(0, 200)}: exit ${r.status}: ${String(r.stderr).slice(-400)}`);
  return { ms, stdout: String(r.stdout), stderr: String(r.stderr), code: r.status };
}

/** Runs each command RUNS times, interleaved (so load drifts hit all alike); median ms of each. */
function interleaved(cmds: Record<string, () => number>, runs = RUNS): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of Object.keys(cmds)) (cmds[k] as () => number)(); // warm-up: page cache, compile cache
  for (let i = 0; i < runs; i++)
    for (const [k, f] of Object.entries(cmds)) {
      out[k] ??= [];
      out[k].push(f());
    }
  return out;
}

function ratio(
  name: string,
  samples: number[],
  floor: string,
  floorSamples: number[],
  target: number | null,
  note?: string,
) {
  const ms = median(samples);
  const floorMs = median(floorSamples);
  const x: Ratio = {
    name,
    ms: r1(ms),
    floor,
    floorMs: r1(floorMs),
    ratio: Math.round((ms / floorMs) * 100) / 100,
    target,
    met: target === null ? null : ms / floorMs <= target,
    runs: samples.length,
    ...(note ? { note } : {}),
  };
  ratios.push(x);
  const verdict = x.met === null ? '    ' : x.met ? 'met ' : 'OVER';
  console.log(
    `${verdict} ${name.padEnd(34)} ${String(x.ms).padStart(8)} ms = ${String(x.ratio).padStart(5)}x ${floor} (${x.floorMs} ms)${target ? `, target ${target}x` : ''}`,
  );
}

const ssh = (host: string, cmd: string, ok = true) => run(['ssh', '-F', LAB, host, cmd], { ok });

/** The bare listing commands over one OpenSSH connection per host, all hosts at once. */
function listingFloor(hosts: string[]): number {
  const script = hosts
    .map(
      (h) =>
        `ssh -F ${LAB} ${h} 'podman ps -a --format json >/dev/null; docker ps -a --format "{{json .}}" >/dev/null' &`,
    )
    .join('\n');
  return run(['sh', '-c', `${script}\nwait`]).ms;
}

/** The TUI in a pseudo-terminal: its FERRY_TIMING line (first frame, every host listed; ms since start). */
function tuiTiming(cmd: string, hosts: string): { firstFrameMs: number; inventoryMs: number } {
  const r = run(
    ['sh', '-c', `(sleep 2.5; printf q) | script -qfec "${cmd} -F ${LAB} --hosts ${hosts}" /dev/null`],
    { env: { ...ENV, FERRY_TIMING: '1' }, ok: false },
  );
  const m = /first frame (\d+) ms, inventory of all hosts (\d+|never)/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`the TUI reported no timing: ${(r.stdout + r.stderr).slice(-300)}`);
  return { firstFrameMs: Number(m[1]), inventoryMs: m[2] === 'never' ? Number.NaN : Number(m[2]) };
}

// ------------------------------------------------------------------ start-up
if (parts.has('startup')) {
  console.log(`\n# start-up (${FERRY}${existsSync(BIN) ? `, ${BIN}` : ''})`);
  const cmds: Record<string, () => number> = {
    floor: () => run([NODE, '-e', '0']).ms,
    mjsVersion: () => run([NODE, FERRY, '--version']).ms,
    mjsHelp: () => run([NODE, FERRY, '--help']).ms,
  };
  if (existsSync(BIN)) {
    cmds.binVersion = () => run([BIN, '--version']).ms;
    cmds.binHelp = () => run([BIN, '--help']).ms;
  }
  const s = interleaved(cmds, RUNS * 2);
  const floor = s.floor as number[];
  ratio('node dist/ferry.mjs --version', s.mjsVersion as number[], 'node -e 0', floor, 1.5);
  ratio('node dist/ferry.mjs --help', s.mjsHelp as number[], 'node -e 0', floor, 1.5);
  if (s.binVersion) ratio('dist/ferry --version', s.binVersion, 'node -e 0', floor, 1.5);
  if (s.binHelp) ratio('dist/ferry --help', s.binHelp, 'node -e 0', floor, 1.5);
  // the first frame does not wait for any host: an address that resolves nowhere keeps the lab out of it
  const hosts = 'nohost.invalid';
  const frames: Record<string, number[]> = { mjs: [], bin: [], floor: [] };
  for (let i = 0; i < RUNS; i++) {
    frames.floor?.push(run([NODE, '-e', '0']).ms);
    frames.mjs?.push(tuiTiming(`${NODE} ${FERRY}`, hosts).firstFrameMs);
    if (existsSync(BIN)) frames.bin?.push(tuiTiming(BIN, hosts).firstFrameMs);
  }
  ratio('TUI first frame (ferry.mjs)', frames.mjs as number[], 'node -e 0', frames.floor as number[], 2.5);
  if (existsSync(BIN))
    ratio('TUI first frame (dist/ferry)', frames.bin as number[], 'node -e 0', frames.floor as number[], 2.5);
}

// ------------------------------------------------------------------ inventory
if (parts.has('inventory') && labUp) {
  console.log('\n# inventory (3 lab hosts)');
  const all = HOSTS.join(',');
  const s = interleaved({
    floor: () => listingFloor(HOSTS),
    ps: () => run([NODE, FERRY, 'ps', '-F', LAB, '--hosts', all]).ms,
    hosts: () => run([NODE, FERRY, 'hosts', '-F', LAB, '--hosts', all]).ms,
    tui: () => tuiTiming(`${NODE} ${FERRY}`, all).inventoryMs,
  });
  const floor = s.floor as number[];
  const floorName = 'podman+docker ps -a, 1 ssh/host';
  ratio('ferry ps', s.ps as number[], floorName, floor, 1.5);
  ratio(
    'ferry hosts',
    s.hosts as number[],
    floorName,
    floor,
    null,
    'lists and probes the facts (CRIU, versions)',
  );
  ratio('TUI: every host listed', s.tui as number[], floorName, floor, 1.5, 'ms since process start');
}

// ------------------------------------------------------------------ plan
interface PlanJsonLite {
  planMs: number;
  links: { bytesPerSec: number; estimate?: { by: string; bytes?: number; ms?: number } }[];
  items: unknown[];
}

/** "ferry: plan timing: probes 412 ms, preflight 905 ms, links 2130 ms, total 2140 ms" (FERRY_TIMING=1) */
function planTimings(stderr: string): Record<string, number> {
  const line = /ferry: plan timing: (.*)/.exec(stderr)?.[1] ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+) (\d+) ms/g)].map((m) => [m[1], Number(m[2])]));
}

/** No link rate remembered on disk (src/migrate/link-rate.ts): the next plan measures its link. */
const forgetLinks = () => rmSync(join(ENV.XDG_CACHE_HOME, 'ferry', 'link-rates.json'), { force: true });

/** One link estimate alone (ferry's own, connections up): scripts/bench-link-alone.ts */
function linkAlone(from: string, to: string): { ms: number; bytesPerSec: number } {
  const r = run([NODE, join(ROOT, 'scripts', 'bench-link-alone.ts'), LAB, from, to]);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number; bytesPerSec: number };
}

/** --plan, timed from outside, with its own step times (FERRY_TIMING=1). */
function timedPlan(
  group: string[],
  ferry = FERRY,
): { ms: number; plan: PlanJsonLite; steps: Record<string, number> } {
  const r = run([NODE, ferry, '--plan', '-F', LAB, ...group, '--to', 'beta', '--json'], {
    env: { ...ENV, FERRY_TIMING: '1' },
    ok: false,
  });
  if (!r.stdout.trim().startsWith('{')) throw new Error(`--plan ${group.join(' ')}: ${r.stderr.slice(-600)}`);
  return { ms: r.ms, plan: JSON.parse(r.stdout) as PlanJsonLite, steps: planTimings(r.stderr) };
}

if (parts.has('plan') && labUp) {
  console.log('\n# --plan (alpha -> beta) against the probes plus one link estimate, alone, same run');
  const groups: Record<string, string[]> = {
    one: ['--containers', 'alpha:wf-sink-1'],
    workflow: ['--compose-project', 'wf', '--host', 'alpha'],
  };
  const planRuns: Record<string, unknown[]> = {};
  const BEFORE = args.before ? resolve(args.before, 'ferry.mjs') : null;
  for (const [name, group] of Object.entries(groups)) {
    const wall: number[] = [];
    const floor: number[] = [];
    const probeFloor: number[] = [];
    const links: number[] = [];
    const before: number[] = [];
    const warm: number[] = [];
    planRuns[name] = [];
    // the first plan fills the facts cache (every later plan of an operator finds it)
    const cold = timedPlan(group);
    console.log(`     ${name}: first plan (facts cache empty) ${Math.round(cold.ms)} ms`);
    extra[`planCold-${name}`] = { planMs: r1(cold.ms), steps: cold.steps };
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const f = listingFloor(['alpha', 'beta']);
      // ferry's own probe of both hosts (inventory and the facts a plan needs), nothing else
      const probes = run([NODE, FERRY, 'hosts', '-F', LAB, '--hosts', 'alpha,beta']).ms;
      const alone = linkAlone('alpha', 'beta');
      forgetLinks();
      const p = timedPlan(group);
      // the same plan again: the rate the one before measured stands in
      const w = timedPlan(group);
      forgetLinks();
      const b = BEFORE ? timedPlan(group, BEFORE).ms : undefined;
      wall.push(p.ms);
      warm.push(w.ms);
      links.push(alone.ms);
      floor.push(f + alone.ms);
      probeFloor.push(probes + alone.ms);
      if (b !== undefined) before.push(b);
      planRuns[name]?.push({
        planMs: r1(p.ms),
        steps: p.steps,
        listingFloorMs: r1(f),
        hostsProbeMs: r1(probes),
        linkAloneMs: alone.ms,
        linkAloneBytesPerSec: alone.bytesPerSec,
        planBytesPerSec: p.plan.links[0]?.bytesPerSec,
        warmPlanMs: r1(w.ms),
        warmSteps: w.steps,
        ...(b !== undefined ? { beforePlanMs: r1(b) } : {}),
      });
      const steps = Object.entries(p.steps)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `     ${name}: plan ${Math.round(p.ms)} ms (${steps}), again ${Math.round(w.ms)} ms${b !== undefined ? `, before ${Math.round(b)} ms` : ''}; floor: listing ${Math.round(f)} ms (ferry hosts ${Math.round(probes)} ms) + link alone ${alone.ms} ms (${r1(alone.bytesPerSec / 1e6)} MB/s; the plan's ${r1((p.plan.links[0]?.bytesPerSec ?? 0) / 1e6)} MB/s)`,
      );
    }
    ratio(
      `--plan ${name}`,
      wall,
      'listing floor + one link estimate alone',
      floor,
      1,
      `link estimate alone ${r1(median(links))} ms`,
    );
    ratio(
      `--plan ${name}, its link's rate remembered`,
      warm,
      'listing floor + one link estimate alone',
      floor,
      1,
      'the same plan again: the rate the plan before measured stands in (on disk, for 5 minutes)',
    );
    ratio(
      `--plan ${name} (ferry's probes)`,
      wall,
      'ferry hosts (alpha,beta) + one link estimate alone',
      probeFloor,
      1,
      "the probe a plan cannot skip: inventory and facts (CRIU check, versions), ferry's own",
    );
    if (before.length > 0)
      ratio(
        `--plan ${name}, before (${args['before-label']})`,
        before,
        'listing floor + one link estimate alone',
        floor,
        1,
        `--before ${args.before}, same runs`,
      );
  }
  extra.plan = planRuns;
}

// ------------------------------------------------------------------ link estimate vs transfer
if (parts.has('link') && labUp) {
  console.log('\n# link estimate alpha -> beta vs the transfer that follows');
  const name = 'fast-bench-link';
  const img = 'localhost/ferry-workload:latest';
  ssh(
    'alpha',
    `podman rm -f ${name} >/dev/null 2>&1; podman run -d --name ${name} -e BALLAST_MB=256 -e IN_PORT=7391 ${img} sink >/dev/null`,
  );
  ssh('beta', `podman rm -f ${name} >/dev/null 2>&1; true`, false);
  try {
    run(['sleep', '3']);
    const rows: {
      estimate: number;
      reached: number;
      bytes: number;
      transferMs: number;
      /** a second estimate, just after the first: does the first read differ from a repeat? */
      estimateAgain: number;
      /** the machine's CPU busy fraction while each ran (the lab shares it with other work) */
      busy: { estimate: number; estimateAgain: number; migrate: number };
      loadavg: number[];
    }[] = [];
    for (const [from, to] of [
      ['alpha', 'beta'],
      ['beta', 'alpha'],
      ['alpha', 'beta'],
      ['beta', 'alpha'],
    ] as const) {
      const planOnce = () =>
        cpuBusy(
          () =>
            JSON.parse(
              run(
                [
                  NODE,
                  FERRY,
                  '--plan',
                  '-F',
                  LAB,
                  '--containers',
                  `${from}:podman/${name}`,
                  '--to',
                  to,
                  '--json',
                  '--compress',
                  'none',
                ],
                { ok: false },
              ).stdout,
            ) as PlanJsonLite,
        );
      forgetLinks();
      const p = planOnce();
      forgetLinks();
      const again = planOnce();
      forgetLinks();
      const estimate = p.value.links[0]?.bytesPerSec ?? Number.NaN;
      const estimateAgain = again.value.links[0]?.bytesPerSec ?? Number.NaN;
      const { value: m, busy: migrateBusy } = cpuBusy(() =>
        run(
          [
            NODE,
            FERRY,
            'migrate',
            '-F',
            LAB,
            '--containers',
            `${from}:podman/${name}`,
            '--to',
            to,
            '--yes',
            '--compress',
            'none',
            '--events',
            'ndjson',
          ],
          { ok: false },
        ),
      );
      let transferMs = Number.NaN;
      let bytes = 0;
      for (const line of m.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as { type: string; stage?: string; ms?: number; bytes?: number };
        if (e.type === 'stage-finished' && e.stage === 'transfer') transferMs = e.ms ?? Number.NaN;
        if (e.type === 'bytes') bytes = Math.max(bytes, e.bytes ?? 0);
      }
      if (Number.isNaN(transferMs))
        throw new Error(`migrate ${from} -> ${to} moved nothing: ${m.stderr.slice(-1500)}`);
      const reached = (bytes * 1000) / transferMs;
      const busy = { estimate: p.busy, estimateAgain: again.busy, migrate: migrateBusy };
      rows.push({ estimate, reached, bytes, transferMs, estimateAgain, busy, loadavg: loadavg() });
      console.log(
        `     ${from} -> ${to}: estimate ${r1(estimate / 1e6)} MB/s (again ${r1(estimateAgain / 1e6)}), transfer reached ${r1(reached / 1e6)} MB/s (${r1(bytes / 1e6)} MB in ${Math.round(transferMs)} ms): ${Math.round((estimate / reached - 1) * 100)}%; machine busy ${busy.estimate} / ${busy.estimateAgain} / ${busy.migrate}`,
      );
    }
    extra.link = rows;
    const errs = rows.map((r) => r.estimate / r.reached);
    ratio(
      'link estimate / rate reached',
      errs.map((e) => e * 1000),
      'transfer (=1.0)',
      errs.map(() => 1000),
      null,
      'target 0.75..1.25',
    );
    const last = ratios.at(-1) as Ratio;
    last.met = errs.every((e) => e >= 0.75 && e <= 1.25);
  } finally {
    ssh('alpha', `podman rm -f -t 0 ${name} >/dev/null 2>&1; true`, false);
    ssh('beta', `podman rm -f -t 0 ${name} >/dev/null 2>&1; true`, false);
  }
}

// ------------------------------------------------------------------ docker downtime vs podman
/** The bare tools on one host: checkpoint, then restore, of a container `name` of `rt` (ms, timed on the host). */
function bareCycle(
  rt: 'podman' | 'docker',
  host: string,
  name: string,
  n: number,
): { checkpointMs: number; restoreMs: number } {
  const cp = `fast-bare-${n}`;
  const script =
    rt === 'podman'
      ? `t0=$(date +%s%N); podman container checkpoint ${name} >/dev/null || exit 1; t1=$(date +%s%N); podman container restore ${name} >/dev/null || exit 2; t2=$(date +%s%N)`
      : // containerd keeps an unpacked copy of each restored checkpoint in /tmp: the new ones go
        `before=$(ls -d /tmp/ctrd-checkpoint* 2>/dev/null); t0=$(date +%s%N); docker checkpoint create ${name} ${cp} >/dev/null || exit 1; t1=$(date +%s%N); docker start --checkpoint ${cp} ${name} >/dev/null || exit 2; t2=$(date +%s%N); docker checkpoint rm ${name} ${cp}; for d in /tmp/ctrd-checkpoint*; do case " $(echo $before) " in *" $d "*) ;; *) rm -rf -- "$d" ;; esac; done`;
  const out = ssh(host, `${script}; echo "$t0 $t1 $t2"`).stdout.trim().split('\n').at(-1) ?? '';
  const [t0 = 0, t1 = 0, t2 = 0] = out.split(' ').map(Number);
  return { checkpointMs: r1((t1 - t0) / 1e6), restoreMs: r1((t2 - t1) / 1e6) };
}

interface DowntimeRow {
  downtimeMs: number;
  stages: Record<string, number>;
  detail: Record<string, unknown>;
  /** inside the frozen window: checkpoint, transfer (streams: when each ended), restore, and the rest (waits) */
  frozen: {
    checkpointMs: number;
    transferMs: number;
    restoreMs: number;
    waitsMs: number;
    streams: Record<string, number>;
  };
}

if (parts.has('downtime') && labUp) {
  console.log(
    '\n# downtime: one 64 MB container, podman vs docker, alpha -> beta -> alpha (relay, no compression)',
  );
  const img = 'localhost/ferry-workload:latest';
  const names = { podman: 'fast-dt-p', docker: 'fast-dt-d' } as const;
  const bare = { podman: 'fast-bare-p', docker: 'fast-bare-d' } as const;
  const rm = () => {
    for (const h of ['alpha', 'beta'])
      ssh(
        h,
        `podman rm -f -t 0 ${names.podman} ${bare.podman} >/dev/null 2>&1; docker rm -f ${names.docker} ${bare.docker} >/dev/null 2>&1; true`,
        false,
      );
  };
  rm();
  const rows: Record<string, DowntimeRow[]> = { podman: [], docker: [] };
  const bareRows: Record<string, { checkpointMs: number; restoreMs: number }[]> = { podman: [], docker: [] };
  try {
    ssh(
      'alpha',
      // the host network, as the sample workflow: the lab's docker has no default bridge network on every host
      `podman run -d --name ${names.podman} --network host -e BALLAST_MB=64 -e IN_PORT=7392 ${img} sink >/dev/null && docker run -d --name ${names.docker} --network host -e BALLAST_MB=64 -e IN_PORT=7393 ${img} sink >/dev/null && podman run -d --name ${bare.podman} --network host -e BALLAST_MB=64 -e IN_PORT=7394 ${img} sink >/dev/null && docker run -d --name ${bare.docker} --network host -e BALLAST_MB=64 -e IN_PORT=7395 ${img} sink >/dev/null`,
    );
    run(['sleep', '3']);
    let n = 0;
    for (const [from, to] of [
      ['alpha', 'beta'],
      ['beta', 'alpha'],
      ['alpha', 'beta'],
      ['beta', 'alpha'],
    ] as const) {
      for (const rt of ['podman', 'docker'] as const) {
        // the floor first: the bare tools' own checkpoint and restore, on one host, same kind of container
        const b = bareCycle(rt, 'alpha', bare[rt], n++);
        bareRows[rt]?.push(b);
        const m = run(
          [
            NODE,
            FERRY,
            'migrate',
            '-F',
            LAB,
            '--containers',
            `${from}:${rt}/${names[rt]}`,
            '--to',
            to,
            '--yes',
            '--compress',
            'none',
            '--events',
            'ndjson',
          ],
          { ok: false },
        );
        const stages: Record<string, number> = {};
        const detail: Record<string, unknown> = {};
        let downtimeMs = Number.NaN;
        for (const line of m.stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const e = JSON.parse(line) as {
            type: string;
            stage?: string;
            ms?: number;
            downtimeMs?: number;
            detail?: Record<string, unknown>;
          };
          if (e.type === 'stage-finished' && e.stage) {
            stages[e.stage] = Math.round(e.ms ?? 0);
            if (e.detail) detail[e.stage] = e.detail;
          }
          if (e.type === 'container-done' && e.downtimeMs !== undefined) downtimeMs = e.downtimeMs;
        }
        if (Number.isNaN(downtimeMs))
          throw new Error(`${rt} ${from} -> ${to}: no downtime reported: ${m.stderr.slice(-1500)}`);
        const td = (detail.transfer ?? {}) as Record<string, unknown>;
        const streams = Object.fromEntries(
          Object.entries(td)
            .filter(([k, v]) => k.endsWith('Ms') && typeof v === 'number')
            .map(([k, v]) => [k.slice(0, -2), v as number]),
        );
        const frozen = {
          checkpointMs: stages.checkpoint ?? 0,
          transferMs: stages.transfer ?? 0,
          restoreMs: stages.restore ?? 0,
          waitsMs: downtimeMs - (stages.checkpoint ?? 0) - (stages.transfer ?? 0) - (stages.restore ?? 0),
          streams,
        };
        rows[rt]?.push({ downtimeMs, stages, detail, frozen });
        console.log(
          `     ${rt.padEnd(6)} ${from} -> ${to}: downtime ${downtimeMs} ms = checkpoint ${frozen.checkpointMs} + transfer ${frozen.transferMs} (${Object.entries(
            streams,
          )
            .map(([k, v]) => `${k} ends ${v}`)
            .join(
              ', ',
            )}) + restore ${frozen.restoreMs} + waits ${frozen.waitsMs}; bare ${rt} on alpha: checkpoint ${b.checkpointMs} + restore ${b.restoreMs} ms`,
        );
      }
    }
  } finally {
    rm();
  }
  const sum = (r: { checkpointMs: number; restoreMs: number }) => r.checkpointMs + r.restoreMs;
  const med = (rt: string, f: (r: DowntimeRow) => number) => r1(median((rows[rt] ?? []).map(f)));
  const breakdown = Object.fromEntries(
    (['podman', 'docker'] as const).map((rt) => [
      rt,
      {
        downtimeMs: med(rt, (r) => r.downtimeMs),
        checkpointMs: med(rt, (r) => r.frozen.checkpointMs),
        transferMs: med(rt, (r) => r.frozen.transferMs),
        restoreMs: med(rt, (r) => r.frozen.restoreMs),
        waitsMs: med(rt, (r) => r.frozen.waitsMs),
        bareCheckpointMs: r1(median((bareRows[rt] ?? []).map((r) => r.checkpointMs))),
        bareRestoreMs: r1(median((bareRows[rt] ?? []).map((r) => r.restoreMs))),
      },
    ]),
  );
  extra.downtime = rows;
  extra.downtimeBare = bareRows;
  extra.downtimeBreakdown = breakdown;
  console.log(`     medians: ${JSON.stringify(breakdown)}`);
  ratio(
    'docker downtime',
    (rows.docker ?? []).map((r) => r.downtimeMs),
    'podman downtime, same workload',
    (rows.podman ?? []).map((r) => r.downtimeMs),
    1.5,
  );
  ratio(
    'bare docker checkpoint+restore',
    (bareRows.docker ?? []).map(sum),
    'bare podman checkpoint+restore',
    (bareRows.podman ?? []).map(sum),
    null,
    "the tools' own steps, one host, no ferry",
  );
  // the least docker downtime ferry can reach: podman's, with docker's own restore in place of
  // podman's (ferry's docker checkpoint goes through containerd, as fast as podman's; the restore
  // can only be `docker start --checkpoint`, or dockerd would not know its container runs)
  const pd = breakdown.podman as Record<string, number>;
  const dk = breakdown.docker as Record<string, number>;
  const reachable = (pd.downtimeMs ?? 0) + (dk.bareRestoreMs ?? 0) - (pd.bareRestoreMs ?? 0);
  ratio(
    'docker downtime, reachable at best',
    [reachable],
    'podman downtime, same workload',
    [pd.downtimeMs ?? 0],
    1.5,
    "podman's downtime with docker's bare restore (start --checkpoint) in place of podman's: below this ferry cannot go",
  );
}

// ------------------------------------------------------------------ cost growth
if (parts.has('growth') && labUp) {
  console.log('\n# cost growth: containers per host on alpha (created, not started) and group size');
  const img = 'localhost/ferry-workload:latest';
  const base = Number(
    ssh('alpha', 'podman ps -aq | wc -l; docker ps -aq | wc -l')
      .stdout.split('\n')
      .reduce((a, b) => a + (Number(b) || 0), 0),
  );
  const BEFORE = args.before ? resolve(args.before, 'ferry.mjs') : null;
  const growth: { perHost: number; psMs: number; floorMs: number; beforePsMs?: number }[] = [];
  let made = 0;
  try {
    for (const n of [10, 50, 200]) {
      const add = Math.max(0, n - base - made);
      if (add > 0) {
        // half podman, half docker: created only (their list entries cost what a running one does)
        const half = Math.ceil(add / 2);
        ssh(
          'alpha',
          `for i in $(seq ${made / 2 + 1} ${made / 2 + half}); do podman create --name fast-grow-p$i ${img} sink >/dev/null & docker create --name fast-grow-d$i ${img} sink >/dev/null; wait; done`,
        );
        made += half * 2;
      }
      const s = interleaved(
        {
          floor: () => listingFloor(['alpha']),
          ps: () => run([NODE, FERRY, 'ps', '-F', LAB, '--hosts', 'alpha']).ms,
          ...(BEFORE ? { before: () => run([NODE, BEFORE, 'ps', '-F', LAB, '--hosts', 'alpha']).ms } : {}),
        },
        3,
      );
      const row = {
        perHost: base + made,
        psMs: r1(median(s.ps as number[])),
        floorMs: r1(median(s.floor as number[])),
        ...(s.before ? { beforePsMs: r1(median(s.before)) } : {}),
      };
      growth.push(row);
      console.log(
        `     alpha with ${row.perHost} containers: ferry ps ${row.psMs} ms = ${r1(row.psMs / row.floorMs)}x floor ${row.floorMs} ms${row.beforePsMs ? `; before ${row.beforePsMs} ms = ${r1(row.beforePsMs / row.floorMs)}x` : ''}`,
      );
    }
  } finally {
    ssh(
      'alpha',
      `podman rm -f $(podman ps -aq --filter name=fast-grow-) >/dev/null 2>&1; docker rm -f $(docker ps -aq --filter name=fast-grow-) >/dev/null 2>&1; true`,
      false,
    );
  }
  extra.growthContainers = growth;
  // hosts: the same three, then with bastion and the two other accounts on beta (5 connections)
  const hostSets = [HOSTS, [...HOSTS, 'bastion', 'beta-op']];
  const byHosts: { hosts: number; psMs: number; floorMs: number }[] = [];
  for (const hs of hostSets) {
    const s = interleaved(
      {
        floor: () => listingFloor(hs),
        ps: () => run([NODE, FERRY, 'ps', '-F', LAB, '--hosts', hs.join(',')], { ok: false }).ms,
      },
      3,
    );
    byHosts.push({
      hosts: hs.length,
      psMs: r1(median(s.ps as number[])),
      floorMs: r1(median(s.floor as number[])),
    });
    console.log(
      `     ${hs.length} hosts: ferry ps ${r1(median(s.ps as number[]))} ms, floor ${r1(median(s.floor as number[]))} ms`,
    );
  }
  extra.growthHosts = byHosts;
  // plan time against group size: 1, 4, 16 running containers on alpha
  const bySize: { size: number; planMs: number; steps: Record<string, number>[] }[] = [];
  try {
    ssh('alpha', `for i in $(seq 1 16); do podman run -d --name fast-plan-$i ${img} sink >/dev/null; done`);
    for (const size of [1, 4, 16]) {
      const group = [
        '--containers',
        Array.from({ length: size }, (_, i) => `alpha:fast-plan-${i + 1}`).join(','),
      ];
      const ms: number[] = [];
      const steps: Record<string, number>[] = [];
      for (let i = 0; i < 3; i++) {
        const p = timedPlan(group);
        ms.push(p.ms);
        steps.push(p.steps);
      }
      bySize.push({ size, planMs: r1(median(ms)), steps });
      console.log(
        `     --plan of ${size}: ${r1(median(ms))} ms; steps (ms since start, each run): ${steps.map((x) => JSON.stringify(x)).join(' ')}`,
      );
    }
  } finally {
    ssh('alpha', `podman rm -f -t 0 $(podman ps -aq --filter name=fast-plan-) >/dev/null 2>&1; true`, false);
  }
  extra.growthPlan = bySize;
}

rmSync(STATE, { recursive: true, force: true });
const outDir = join(ROOT, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const out = args.out ?? join(outDir, `fast-${args.label}.json`);
// parts of one run, each in its own lab slot, land in one file: a ratio measured again replaces its old value
const earlier = existsSync(out)
  ? (JSON.parse(readFileSync(out, 'utf8')) as { ratios?: Ratio[]; parts?: Record<string, string> } & Record<
      string,
      unknown
    >)
  : {};
const merged = [...(earlier.ratios ?? []).filter((x) => !ratios.some((y) => y.name === x.name)), ...ratios];
const when = new Date().toISOString();
writeFileSync(
  out,
  `${JSON.stringify(
    {
      ...earlier,
      issue: 12,
      label: args.label,
      at: when,
      ferry: FERRY,
      runs: RUNS,
      parts: { ...(earlier.parts ?? {}), ...Object.fromEntries([...parts].map((p) => [p, when])) },
      ...extra,
      loadavgAtEnd: loadavg(),
      ratios: merged,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
