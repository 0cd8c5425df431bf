// npm run bench: the 4-container podman workflow alpha -> beta on the lab
// at a shaped link (default 1gbit), once per strategy, plus the restore-stage
// ratio against a plain `podman container restore --import` of the same
// container. Needs root and the lab (brought up here). Prints a table and
// writes bench-results.json.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { runMigration } from '../src/migrate/engine.ts';
import { sessionsFor } from '../src/migrate/session.ts';
import {
  DEFAULT_OPTIONS,
  type EngineEvent,
  type MigrationItem,
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

const items: MigrationItem[] = ['sink', 'enrich', 'parse', 'producer'].map((s) => ({
  id: `alpha/podman/wf-${s}-1`,
  container: { host: 'alpha', runtime: 'podman', name: `wf-${s}-1` },
  destination: 'beta',
}));

interface Row {
  strategy: Strategy;
  makespanMs: number;
  downtimeMs: number[];
  restoreStageMs: number[];
  restoreDetail: Record<string, number | string>[];
  outcomes: string[];
}

const rows: Row[] = [];
for (const strategy of ['sequential', 'pipelined', 'auto'] as Strategy[]) {
  reset();
  const pool = createSshPool({ configFile: SSH_CONFIG });
  const events: EngineEvent[] = [];
  const run = runMigration(
    { items, options: { ...DEFAULT_OPTIONS, strategy, compress: 'none' } },
    { session: sessionsFor(pool) },
  );
  run.on((e) => events.push(e));
  const summary = await run.done;
  await pool.close();
  const restores = events.filter((e) => e.type === 'stage-finished' && e.stage === 'restore');
  rows.push({
    strategy,
    makespanMs: summary.makespanMs,
    downtimeMs: summary.results.map((r) => r.downtimeMs ?? -1),
    restoreStageMs: restores.map((e) => (e.type === 'stage-finished' ? e.ms : 0)),
    restoreDetail: restores.map((e) => (e.type === 'stage-finished' ? (e.detail ?? {}) : {})),
    outcomes: summary.results.map((r) => r.outcome),
  });
  console.log(
    `${strategy}: makespan ${summary.makespanMs} ms, downtime ${rows.at(-1)?.downtimeMs.join('/')} ms`,
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
const seq = rows.find((r) => r.strategy === 'sequential');
const auto = rows.find((r) => r.strategy === 'auto');
const ourRestore = median(rows.flatMap((r) => r.restoreStageMs));
const result = {
  rate,
  rows,
  plainRestoreImportMs: plain.map(Math.round),
  restoreStageMedianMs: ourRestore,
  restoreRatio: ourRestore / median(plain),
  autoVsSequential: seq && auto ? 1 - auto.makespanMs / seq.makespanMs : null,
};
writeFileSync('bench-results.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nlink ${rate}; 4 containers x 64 MB ballast, podman, alpha -> beta`);
for (const r of rows) {
  console.log(
    `${r.strategy.padEnd(11)} makespan ${String(r.makespanMs).padStart(6)} ms  downtime ${r.downtimeMs.join('/')} ms  ${r.outcomes.join(',')}`,
  );
}
console.log(
  `restore stage (pre-created): median ${Math.round(ourRestore)} ms; plain restore --import: ${plain.map(Math.round).join('/')} ms; ratio ${result.restoreRatio.toFixed(2)}`,
);
if (result.autoVsSequential !== null)
  console.log(`auto is ${(result.autoVsSequential * 100).toFixed(0)}% faster than sequential`);
