// Performance budgets (issue 7), measured here and not in timed tests: a
// loaded CI machine would make those flaky. Prints a table, writes
// bench-budgets.json, and exits 1 when a budget is exceeded.
//   node scripts/bench-budgets.ts      (npm run bench runs it after bench.ts)
// Builds dist/ferry first when it is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'dist', 'ferry');
const RUNS = 20;

interface Budget {
  name: string;
  budgetMs: number;
  /** wall-clock samples in ms */
  measure: () => number[] | Promise<number[]>;
}

interface Result {
  name: string;
  budgetMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  ok: boolean;
}

// the binary must not lean on a node it happens to find
const noNodePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir && !safeReaddir(dir).includes('node'))
  .join(delimiter);

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Runs `argv` `RUNS` times after two warm-up runs (page cache, V8 compile cache). */
function timeCommand(argv: string[], env: Record<string, string>): number[] {
  const [cmd = '', ...args] = argv;
  const once = () => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    return ms;
  };
  once();
  once();
  return Array.from({ length: RUNS }, once);
}

const budgets: Budget[] = [
  {
    name: 'dist/ferry --version',
    budgetMs: 150,
    measure: () => timeCommand([BIN, '--version'], { PATH: noNodePath }),
  },
  // Later measurements go here, each a name, a budget and a measure():
  //   'first TUI frame'    dist/ferry in a pseudo-terminal until the first frame is drawn
  //   '--plan on the lab'  dist/ferry --plan against the lab (npm run bench brings it up)
];

if (!existsSync(BIN)) execFileSync('node', [join(ROOT, 'scripts', 'build-bin.mjs')], { stdio: 'inherit' });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const round = (ms: number) => Math.round(ms * 10) / 10;

const results: Result[] = [];
for (const b of budgets) {
  const samples = await b.measure();
  const medianMs = round(median(samples));
  results.push({
    name: b.name,
    budgetMs: b.budgetMs,
    medianMs,
    minMs: round(Math.min(...samples)),
    maxMs: round(Math.max(...samples)),
    runs: samples.length,
    ok: medianMs <= b.budgetMs,
  });
}

writeFileSync(
  join(ROOT, 'bench-budgets.json'),
  `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
);
for (const r of results) {
  console.log(
    `${r.ok ? 'ok  ' : 'OVER'} ${r.name.padEnd(24)} median ${String(r.medianMs).padStart(6)} ms ` +
      `(min ${r.minMs}, max ${r.maxMs}, ${r.runs} runs)  budget ${r.budgetMs} ms`,
  );
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
