// npm run bench: the 4-container podman workflow alpha -> beta on the lab
// at a shaped link (default 1gbit), once per strategy, plus the restore-stage
// ratio against a plain `podman container restore --import` of the same
// container. Needs root and the lab (brought up here). Prints a table and
// writes bench-results.json.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { runMigration } from '../src/migrate/engine.ts';
import { planMigration } from '../src/migrate/planner.ts';
import { sessionsFor } from '../src/migrate/session.ts';
import {
  DEFAULT_OPTIONS,
  type EngineEvent,
  type MigrateOptions,
  type Strategy,
} from '../src/migrate/types.ts';
import { createSshPool } from '../src/ssh/index.ts';

const rate = process.argv[2] ?? '1gbit';
const LAB_DIR = process.env.FERRY_LAB_DIR ?? '/var/lib/ferry-lab';
const SSH_CONFIG = `${LAB_DIR}/ssh_config`;
const lab = (...args: string[]) =>
  execFileSync('bash', ['scripts/lab', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
const ssh = (host: string, cmd: string) =>
  execFileSync('ssh', ['-F', SSH_CONFIG, '-o', 'BatchMode=yes', host, cmd]).toString();

lab('up', '--rate', rate);
lab('rate', 'all', rate);

function reset() {
  ssh(
    'beta',
    'podman rm -f -t 0 $(podman ps -aq --filter label=io.ferry.lab=workflow) 2>/dev/null; rm -rf /tmp/ferry.*; true',
  );
  lab('workflow');
  execFileSync('sleep', ['2']);
}

interface Row {
  name: string;
  strategy: Strategy;
  makespanMs: number;
  predictedMakespanMs: number;
  planMs: number;
  downtimeMs: number[];
  restoreStageMs: number[];
  restoreDetail: Record<string, number | string>[];
  outcomes: string[];
}

const runs: { name: string; options: Partial<MigrateOptions> }[] = [
  { name: 'sequential', options: { strategy: 'sequential' } },
  { name: 'pipelined', options: { strategy: 'pipelined' } },
  { name: 'parallel', options: { strategy: 'parallel' } },
  { name: 'auto', options: { strategy: 'auto' } },
  { name: 'auto+direct', options: { strategy: 'auto', transfer: 'direct' } },
];
const rows: Row[] = [];
for (const { name, options } of runs) {
  reset();
  const pool = createSshPool({ configFile: SSH_CONFIG });
  const plan = await planMigration(pool, {
    members: [],
    compose: { host: 'alpha', project: 'wf' },
    to: 'beta',
    options: { ...DEFAULT_OPTIONS, compress: 'none', allow: ['host-network'], ...options },
  });
  const events: EngineEvent[] = [];
  const run = runMigration(plan, { session: sessionsFor(pool) });
  run.on((e) => events.push(e));
  const summary = await run.done;
  await pool.close();
  const restores = events.filter((e) => e.type === 'stage-finished' && e.stage === 'restore');
  rows.push({
    name,
    strategy: plan.options.strategy,
    makespanMs: summary.makespanMs,
    predictedMakespanMs: plan.predicted.makespanMs,
    planMs: plan.planMs,
    downtimeMs: summary.results.map((r) => r.downtimeMs ?? -1),
    restoreStageMs: restores.map((e) => (e.type === 'stage-finished' ? e.ms : 0)),
    restoreDetail: restores.map((e) => (e.type === 'stage-finished' ? (e.detail ?? {}) : {})),
    outcomes: summary.results.map((r) => r.outcome),
  });
  console.log(
    `${name}: makespan ${summary.makespanMs} ms (predicted ${plan.predicted.makespanMs}), downtime ${rows.at(-1)?.downtimeMs.join('/')} ms, plan ${plan.planMs} ms`,
  );
}

// the plain path for the same container: restore --import of its exported archive
reset();
const plain: number[] = [];
for (let i = 0; i < 3; i++) {
  ssh(
    'alpha',
    'podman container checkpoint --keep --export /tmp/bench.tar --compress none wf-sink-1 >/dev/null',
  );
  execFileSync('sh', [
    '-c',
    `ssh -F ${SSH_CONFIG} alpha cat /tmp/bench.tar | ssh -F ${SSH_CONFIG} beta 'cat > /tmp/bench.tar'`,
  ]);
  const t = performance.now();
  ssh('beta', 'podman container restore --import /tmp/bench.tar >/dev/null');
  plain.push(performance.now() - t);
  ssh('beta', 'podman rm -f -t 0 wf-sink-1 >/dev/null; rm -f /tmp/bench.tar');
  ssh('alpha', 'podman container restore wf-sink-1 >/dev/null; rm -f /tmp/bench.tar');
}
reset();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const seq = rows.find((r) => r.name === 'sequential');
const auto = rows.find((r) => r.name === 'auto');
const best = rows.filter((r) => r.name !== 'sequential').sort((a, b) => a.makespanMs - b.makespanMs)[0];
const ourRestore = median(rows.flatMap((r) => r.restoreStageMs));
const result = {
  rate,
  rows,
  plainRestoreImportMs: plain.map(Math.round),
  restoreStageMedianMs: ourRestore,
  restoreRatio: ourRestore / median(plain),
  autoVsSequential: seq && auto ? 1 - auto.makespanMs / seq.makespanMs : null,
  bestVsSequential: seq && best ? { name: best.name, saved: 1 - best.makespanMs / seq.makespanMs } : null,
};
writeFileSync('bench-results.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nlink ${rate}; 4 containers x 64 MB ballast, podman, alpha -> beta`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(12)} makespan ${String(r.makespanMs).padStart(6)} ms (predicted ${String(r.predictedMakespanMs).padStart(5)})  downtime ${r.downtimeMs.join('/')} ms  ${r.outcomes.join(',')}`,
  );
}
console.log(
  `restore stage (pre-created): median ${Math.round(ourRestore)} ms; plain restore --import: ${plain.map(Math.round).join('/')} ms; ratio ${result.restoreRatio.toFixed(2)}`,
);
if (result.autoVsSequential !== null)
  console.log(`auto is ${(result.autoVsSequential * 100).toFixed(0)}% faster than sequential`);
if (result.bestVsSequential)
  console.log(
    `best: ${result.bestVsSequential.name}, ${(result.bestVsSequential.saved * 100).toFixed(0)}% faster than sequential`,
  );
