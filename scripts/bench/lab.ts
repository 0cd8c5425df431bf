// The bench's side effects on the lab: its own workloads (never the sample
// workflow), state snapshots, CPU and wire accounting per lab host, the busy
// source's CPU hog, and the three ways to move a group (ferry, manual).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { continuityProblems, parseStatus, type WorkloadStatus } from '../../test/support/lab.ts';
import {
  type BenchEvent,
  type BenchRuntime,
  type ContainerTimeline,
  downtimesOf,
  type Method,
  makespanOf,
  parseNdjson,
  payloadBytesOf,
  stagesOf,
  timelineFromEvents,
} from './model.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const LAB_DIR = process.env.FERRY_LAB_DIR ?? '/var/lib/ferry-lab';
export const SSH_CONFIG = `${LAB_DIR}/ssh_config`;
export const LAB_HOSTS = ['alpha', 'beta', 'bastion', 'gamma'] as const;
const IMAGE = 'localhost/ferry-workload:latest';
export const SOURCE = 'alpha';
export const DEST = 'beta';
/** beta as alpha's own ssh knows it (the lab's known_hosts lists its address) */
export const DEST_ADDR = '10.99.0.12';

// ------------------------------------------------------------------ shell

export async function sh(host: string, script: string, opts: { input?: string; timeoutMs?: number } = {}) {
  const r = await execa('ssh', ['-F', SSH_CONFIG, '-o', 'BatchMode=yes', host, script], {
    reject: false,
    timeout: opts.timeoutMs ?? 300_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), code: r.exitCode ?? -1 };
}

export async function shOk(host: string, script: string, opts: { input?: string; timeoutMs?: number } = {}) {
  const r = await sh(host, script, opts);
  if (r.code !== 0)
    throw new Error(`${host}: '${script.slice(0, 120)}' exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function lab(...args: string[]) {
  const r = await execa('bash', [join(ROOT, 'scripts/lab'), ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`lab ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr)}`);
  return String(r.stdout);
}

/** Each lab host's current tc rate (file written by `lab rate`), to put back after the part. */
export function currentRates(): Record<string, string> {
  return Object.fromEntries(
    LAB_HOSTS.map((h) => {
      const f = join(LAB_DIR, 'hosts', h, 'rate');
      return [h, existsSync(f) ? readFileSync(f, 'utf8').trim() : 'none'];
    }),
  );
}

// ------------------------------------------------------------------ workloads

export interface Member {
  svc: string;
  role: 'producer' | 'transformer' | 'sink';
  ballastMb: number;
  /** offsets from the runtime's base port */
  inPort?: number;
  outPort?: number;
  dependsOn?: string;
}

export interface Workload {
  name: string;
  description: string;
  members: Member[];
  /** a pipeline's sink must keep accepting items in sequence after the move */
  pipeline: boolean;
  /** the lab's compose stack (scripts/bench/stack.ts): its project per runtime */
  compose?: Record<BenchRuntime, string>;
}

const pipeline = (name: string, description: string, mbs: number[], base: number): Workload => ({
  name,
  description,
  pipeline: true,
  members: mbs.map((mb, i) => {
    const role = i === 0 ? 'producer' : i === mbs.length - 1 ? 'sink' : 'transformer';
    const svc = i === 0 ? 'producer' : i === mbs.length - 1 ? 'sink' : `stage${i}`;
    const m: Member = { svc, role, ballastMb: mb };
    if (i > 0) m.inPort = base + i;
    if (i < mbs.length - 1) {
      m.outPort = base + i + 1;
      // as the lab's workflow labels it: each stage depends on the one it feeds
      m.dependsOn = i + 1 === mbs.length - 1 ? 'sink' : `stage${i + 1}`;
    }
    return m;
  }),
});

const sinks = (name: string, description: string, mbs: number[], base: number): Workload => ({
  name,
  description,
  pipeline: false,
  members: mbs.map((mb, i) => ({ svc: `s${i + 1}-${mb}mb`, role: 'sink', ballastMb: mb, inPort: base + i })),
});

export const WORKLOADS: Record<string, Workload> = {
  wf4: pipeline('wf4', '4-stage workflow, ballast 64/128/192/256 MB', [64, 128, 192, 256], 0),
  mixed8: sinks('mixed8', '8 containers of mixed sizes (16-224 MB)', [16, 32, 48, 64, 96, 128, 160, 224], 10),
  single512: sinks('single512', 'one 512 MB container', [512], 20),
  smoke: sinks('smoke', 'CI smoke: 2 containers of 16 MB', [16, 16], 30),
  stack: {
    name: 'stack',
    description:
      'the compose stack: redis with a volume, a client on one TCP connection to it, a web front on a published port, on the project network',
    pipeline: false,
    compose: { podman: 'fs', docker: 'fsd' },
    members: (['store', 'client', 'web'] as const).map((svc) => ({ svc, role: 'sink', ballastMb: 0 })),
  },
};

export const groupMB = (w: Workload) => w.members.reduce((s, m) => s + m.ballastMb, 0);
const basePort = (rt: BenchRuntime) => (rt === 'podman' ? 7300 : 7400);
export const projectOf = (rt: BenchRuntime, w: Workload) => w.compose?.[rt] ?? `b${rt[0]}-${w.name}`;
/** as compose names them for the stack (project_service_1), project-service for the bench's own */
export const containerName = (rt: BenchRuntime, w: Workload, m: Member) =>
  w.compose ? `${projectOf(rt, w)}_${m.svc}_1` : `${projectOf(rt, w)}-${m.svc}`;

/** `run`/`create` arguments after the subcommand: the same as scripts/lab's workflow, with bench labels. */
export function createArgs(rt: BenchRuntime, w: Workload, m: Member): string[] {
  const project = projectOf(rt, w);
  const base = basePort(rt);
  const a = ['--name', containerName(rt, w, m), '--network', 'host', '--restart', 'no'];
  a.push(
    '--label',
    `com.docker.compose.project=${project}`,
    '--label',
    `com.docker.compose.service=${m.svc}`,
  );
  a.push('--label', 'com.docker.compose.container-number=1', '--label', 'com.docker.compose.oneoff=False');
  a.push('--label', `com.docker.compose.project.working_dir=/srv/${project}`, '--label', 'io.ferry.bench=1');
  if (m.dependsOn) a.push('--label', `com.docker.compose.depends_on=${m.dependsOn}:service_started:false`);
  a.push('-e', `BALLAST_MB=${m.ballastMb}`, '-e', 'RATE=20', '-e', 'TRANSFORMS=2');
  if (m.inPort !== undefined) a.push('-e', `IN_PORT=${base + m.inPort}`);
  if (m.outPort !== undefined) a.push('-e', `OUT_PORT=${base + m.outPort}`);
  a.push(IMAGE, m.role);
  return a;
}

/** Removes every bench container (and the manual method's leftovers) from alpha and beta. */
export async function clearBench(rt: BenchRuntime) {
  const rm = rt === 'podman' ? 'podman rm -f -t 0' : 'docker rm -f';
  await Promise.all(
    [SOURCE, DEST].map((h) =>
      sh(
        h,
        // docker start --checkpoint leaves containerd's copy of the checkpoint in /tmp
        // (ctrd-checkpoint*): on the lab's 4 GB tmpfs a few 640 MB groups fill it
        `ids=$(${rt} ps -aq --filter label=io.ferry.bench=1); [ -z "$ids" ] || ${rm} $ids >/dev/null 2>&1; rm -rf /tmp/bench-manual-* /tmp/ctrd-checkpoint*; true`,
      ),
    ),
  );
}

/** Fresh workload on alpha, consumers first (as compose starts them), ready when every stage reports. */
export async function startWorkload(rt: BenchRuntime, w: Workload) {
  await clearBench(rt);
  const ms = w.members;
  const cmds = [...ms].reverse().map((m) => `${rt} run -d ${createArgs(rt, w, m).join(' ')} >/dev/null`);
  await shOk(SOURCE, `set -e; ${cmds.join('; ')}`);
  const names = ms.map((m) => containerName(rt, w, m));
  const deadline = Date.now() + 90_000;
  const sinkName = names.at(-1) as string;
  for (;;) {
    const st = await statuses(SOURCE, rt, names).catch(() => new Map<string, WorkloadStatus>());
    const ready =
      names.every((n) => (st.get(n)?.ticks ?? 0) >= 3) &&
      (!w.pipeline || (st.get(sinkName)?.accepted ?? 0) >= 10);
    if (ready) return names;
    if (Date.now() > deadline)
      throw new Error(`${rt} workload ${w.name} did not get ready on ${SOURCE} in 90 s`);
    await sleep(500);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every named container's workload status, in one ssh round trip. */
export async function statuses(host: string, rt: BenchRuntime, names: string[]) {
  const out = await sh(
    host,
    names.map((n) => `echo "@@${n}"; ${rt} exec ${n} /workload status 2>/dev/null`).join('; '),
  );
  const m = new Map<string, WorkloadStatus>();
  for (const chunk of out.stdout.split('@@').slice(1)) {
    const nl = chunk.indexOf('\n');
    const name = chunk.slice(0, nl).trim();
    try {
      m.set(name, parseStatus(chunk.slice(nl + 1)));
    } catch {
      // not running (yet): absent from the map
    }
  }
  return m;
}

/** Problems with state continuity on the destination after a move; [] when every stage carried on. */
export async function continuity(
  rt: BenchRuntime,
  w: Workload,
  names: string[],
  before: Map<string, WorkloadStatus>,
): Promise<string[]> {
  const after = Date.now();
  const deadline = after + 30_000;
  let st = new Map<string, WorkloadStatus>();
  const sinkName = names.at(-1) as string;
  const sinkBefore = before.get(sinkName);
  while (Date.now() < deadline) {
    st = await statuses(DEST, rt, names);
    const fresh = names.every((n) => (st.get(n)?.updatedMs ?? 0) > after);
    const flowing = !w.pipeline || (st.get(sinkName)?.accepted ?? 0) > (sinkBefore?.accepted ?? 0) + 10;
    if (fresh && flowing) break;
    await sleep(400);
  }
  const problems: string[] = [];
  for (const n of names) {
    const b = before.get(n);
    const a = st.get(n);
    if (!b) problems.push(`${n}: no status before the move`);
    else if (!a || a.updatedMs <= after) problems.push(`${n}: not running with fresh status on ${DEST}`);
    else problems.push(...continuityProblems(b, a).map((p) => `${n}: ${p}`));
  }
  if (w.pipeline && problems.length === 0) {
    const s = st.get(sinkName) as WorkloadStatus;
    if (s.accepted <= (sinkBefore?.accepted ?? 0) + 10) problems.push(`${sinkName}: items stopped flowing`);
    if (s.lastSeq !== s.accepted)
      problems.push(`${sinkName}: accepted ${s.accepted} but last seq ${s.lastSeq}`);
  }
  return problems;
}

// ------------------------------------------------------------------ accounting

const CLK_TCK = 100;

interface ProcTimes {
  self: number;
  children: number;
  comm: string;
}

function readStat(pid: string): { key: string; t: ProcTimes } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    const n = (i: number) => Number(f[i] ?? 0);
    // fields 14-17 (utime stime cutime cstime) and 22 (starttime), counted from state = field 3
    return { key: `${pid}:${f[19]}`, t: { self: n(11) + n(12), children: n(13) + n(14), comm } };
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Map<string, Map<string, ProcTimes>>;

/**
 * Every process's CPU ticks, by the lab host whose network namespace it is
 * in. Children reaped inside the namespace show up in their parent's
 * cutime/cstime, so short-lived criu, podman and ssh processes count.
 */
export function cpuSnapshot(hosts: readonly string[] = LAB_HOSTS): CpuSnapshot {
  const inode = new Map<string, string>();
  for (const h of hosts) {
    try {
      inode.set(`net:[${statSync(`/run/netns/ferrylab-${h}`).ino}]`, h);
    } catch {
      // host down: counts nothing
    }
  }
  const snap: CpuSnapshot = new Map(hosts.map((h) => [h, new Map()]));
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue;
    }
    const h = inode.get(ns);
    if (!h) continue;
    const s = readStat(pid);
    if (s) snap.get(h)?.set(s.key, s.t);
  }
  return snap;
}

/** CPU-seconds each host spent between two snapshots; the busy source's hog (`yes`) is left out. */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot, exclude = new Set(['yes'])): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [h, procs] of b) {
    let ticks = 0;
    for (const [key, t] of procs) {
      if (exclude.has(t.comm)) continue;
      const was = a.get(h)?.get(key);
      ticks += Math.max(0, t.self - (was?.self ?? 0)) + Math.max(0, t.children - (was?.children ?? 0));
    }
    out[h] = ticks / CLK_TCK;
  }
  return out;
}

/** [busy, total] jiffies of the whole machine. */
export function machineTicks(): [number, number] {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = f.reduce((s, x) => s + x, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return [total - idle, total];
}

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

export async function wireCounters(): Promise<Record<string, { rx: number; tx: number }>> {
  const out: Record<string, { rx: number; tx: number }> = {};
  await Promise.all(
    LAB_HOSTS.map(async (h) => {
      const r = await execa('ip', ['-n', `ferrylab-${h}`, '-s', '-j', 'link', 'show', 'eth0'], {
        reject: false,
      });
      try {
        const j = JSON.parse(String(r.stdout)) as {
          stats64: { rx: { bytes: number }; tx: { bytes: number } };
        }[];
        out[h] = { rx: j[0]?.stats64.rx.bytes ?? 0, tx: j[0]?.stats64.tx.bytes ?? 0 };
      } catch {
        out[h] = { rx: 0, tx: 0 };
      }
    }),
  );
  return out;
}

/**
 * Runs argv on the operator through sh, which reads its own cutime/cstime
 * after the command: the CPU of the command and every child it reaped.
 */
export async function timedLocal(
  argv: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
) {
  const statFile = join(tmpdir(), `bench-cpu-${process.pid}-${Date.now()}`);
  const r = await execa(
    'sh',
    ['-c', `"$@"; rc=$?; cat /proc/$$/stat > ${statFile}; exit $rc`, 'sh', ...argv],
    {
      reject: false,
      timeout: opts.timeoutMs ?? 900_000,
      ...(opts.input === undefined ? {} : { input: opts.input }),
      ...(opts.env ? { env: opts.env } : {}),
    },
  );
  let cpu = 0;
  try {
    const s = readFileSync(statFile, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    cpu = (Number(f[13]) + Number(f[14]) + Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    // killed by the timeout: no figure
  }
  rmSync(statFile, { force: true });
  return { stdout: String(r.stdout), stderr: String(r.stderr), code: r.exitCode ?? -1, cpuSeconds: cpu };
}

// ------------------------------------------------------------------ busy source

export interface Hog {
  stop(): void;
}

/** `yes` on every core inside alpha's namespace: bounded (timeout 3600 s each: a busy docker part of 3 repetitions runs about 25 min) and killed by pid on stop or exit. */
export async function startHog(cores: number, nice = 0): Promise<Hog> {
  const child: ChildProcess = spawn(
    'bash',
    [
      join(ROOT, 'scripts/lab'),
      'exec',
      SOURCE,
      '--',
      'sh',
      '-c',
      `for i in $(seq ${cores}); do timeout 3600 nice -n ${nice} yes >/dev/null & echo $!; done; wait`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'], detached: true },
  );
  const pids: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('the CPU hog did not start')), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const got = buf.split('\n').filter((l) => /^\d+$/.test(l.trim()));
      if (got.length >= cores) {
        clearTimeout(t);
        pids.push(...got.map(Number));
        resolve();
      }
    });
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // timeout passes the TERM on to its yes
    for (const p of pids) {
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', stop);
  for (const s of ['SIGINT', 'SIGTERM'] as const)
    process.once(s, () => {
      stop();
      process.exit(130);
    });
  return { stop };
}

// ------------------------------------------------------------------ methods

export interface MethodResult {
  ok: boolean;
  failure?: string;
  timeline: ContainerTimeline[];
  events?: BenchEvent[];
  payloadBytes: number;
  operatorCpu: number;
}

export const FERRY = join(ROOT, 'dist', 'ferry.mjs');

/** ferry migrate of the workload's compose project alpha -> beta, NDJSON events. */
export async function runFerry(
  rt: BenchRuntime,
  w: Workload,
  strategy: Exclude<Method, 'manual' | 'direct'>,
  extra: string[] = [],
): Promise<MethodResult> {
  // each run measures its link: a rate remembered from the run before (on disk,
  // for 5 minutes) would carry one part's shaping into the next
  const cache = mkdtempSync(join(tmpdir(), 'ferry-bench-cache-'));
  const r = await timedLocal(
    [
      process.execPath,
      FERRY,
      'migrate',
      '-F',
      SSH_CONFIG,
      '--compose-project',
      projectOf(rt, w),
      '--host',
      SOURCE,
      '--to',
      DEST,
      '--strategy',
      strategy,
      '--events',
      'ndjson',
      '--yes',
      ...extra,
    ],
    // the workloads use the host's network, as the lab's sample workflow does
    { env: { FERRY_ALLOW: 'host-network', XDG_CACHE_HOME: cache } },
  ).finally(() => rmSync(cache, { recursive: true, force: true }));
  const events = parseNdjson(r.stdout);
  const timeline = timelineFromEvents(events);
  const notMigrated = timeline.filter((c) => c.outcome !== 'migrated').map((c) => `${c.name} ${c.outcome}`);
  const ok = r.code === 0 && notMigrated.length === 0 && timeline.length === w.members.length;
  return {
    ok,
    ...(ok
      ? {}
      : {
          failure:
            `ferry exited ${r.code}; ${notMigrated.join(', ')} ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`.trim(),
        }),
    timeline,
    events: events.filter((e) => e.type !== 'bytes'),
    payloadBytes: payloadBytesOf(events),
    operatorCpu: r.cpuSeconds,
  };
}

/**
 * What a sysadmin does by hand, one container after another, from alpha
 * (the lab's hosts can ssh each other): podman checkpoint --export, scp,
 * restore --import; docker: checkpoint create, tar the checkpoint and the
 * writable layer, scp, create the same container on beta, unpack both into
 * it and start --checkpoint (Docker 20.10 refuses --checkpoint-dir).
 */
export function manualScript(rt: BenchRuntime, w: Workload): string {
  const now = 'date +%s%3N';
  const lines = ['set -e', `ms() { ${now}; }`];
  for (const m of w.members) {
    const n = containerName(rt, w, m);
    const f = `/tmp/bench-manual-${n}`;
    if (rt === 'podman') {
      lines.push(
        `t0=$(ms); podman container checkpoint --export ${f}.tar.gz ${n} >/dev/null; t1=$(ms)`,
        `scp -q -o BatchMode=yes ${f}.tar.gz ${DEST_ADDR}:${f}.tar.gz; t2=$(ms)`,
        `ssh -n -o BatchMode=yes ${DEST_ADDR} "podman container restore --import ${f}.tar.gz >/dev/null && rm -f ${f}.tar.gz"; t3=$(ms)`,
        `bytes=$(stat -c %s ${f}.tar.gz); podman rm -f -t 0 ${n} >/dev/null; rm -f ${f}.tar.gz`,
      );
    } else {
      const create = createArgs(rt, w, m).join(' ');
      lines.push(
        `upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' ${n})`,
        `t0=$(ms); mkdir -p ${f}; docker checkpoint create --checkpoint-dir ${f} ${n} cp >/dev/null`,
        `tar -C ${f}/cp -cf ${f}.ckpt.tar . && tar -C "$upper" -cf ${f}.upper.tar .; t1=$(ms)`,
        `scp -q -o BatchMode=yes ${f}.ckpt.tar ${f}.upper.tar ${DEST_ADDR}:/tmp/; t2=$(ms)`,
        `ssh -n -o BatchMode=yes ${DEST_ADDR} 'set -e; docker create ${create} >/dev/null; root=$(docker info -f "{{.DockerRootDir}}"); id=$(docker inspect -f "{{.Id}}" ${n}); up=$(docker inspect -f "{{.GraphDriver.Data.UpperDir}}" ${n}); mkdir -p $root/containers/$id/checkpoints/cp; tar -C $root/containers/$id/checkpoints/cp -xf ${f}.ckpt.tar; tar -C $up -xf ${f}.upper.tar; docker start --checkpoint cp ${n}; rm -f ${f}.ckpt.tar ${f}.upper.tar'; t3=$(ms)`,
        `bytes=$(( $(stat -c %s ${f}.ckpt.tar) + $(stat -c %s ${f}.upper.tar) )); docker rm -f ${n} >/dev/null; rm -rf ${f} ${f}.ckpt.tar ${f}.upper.tar`,
      );
    }
    lines.push(`echo "T ${n} $t0 $t1 $t2 $t3 $bytes"`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runManual(
  rt: BenchRuntime,
  w: Workload,
  script = manualScript(rt, w),
): Promise<MethodResult> {
  const r = await timedLocal(
    [
      'ssh',
      '-F',
      SSH_CONFIG,
      '-o',
      'BatchMode=yes',
      SOURCE,
      // the script is read whole first: nothing in it can eat the rest of it from stdin
      'f=$(mktemp /tmp/bench-manual-XXXXXX.sh); cat > "$f"; bash "$f" </dev/null; rc=$?; rm -f "$f"; exit $rc',
    ],
    { input: script },
  );
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('T '))
    .map((l) => l.split(' '));
  const t0 = Math.min(...rows.map((x) => Number(x[2])));
  const timeline: ContainerTimeline[] = rows.map(([, name, a, b, c, d]) => {
    const [s, k, x, e] = [a, b, c, d].map((v) => Number(v) - t0) as [number, number, number, number];
    return {
      name: name as string,
      freezeAt: s,
      runningAt: e,
      outcome: 'migrated',
      stages: [
        { stage: 'checkpoint', start: s, end: k },
        { stage: 'transfer', start: k, end: x },
        { stage: 'restore', start: x, end: e },
      ],
    };
  });
  const ok = r.code === 0 && rows.length === w.members.length;
  return {
    ok,
    ...(ok
      ? {}
      : {
          failure: `manual script exited ${r.code}: ${`${r.stdout} ${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`,
        }),
    timeline,
    payloadBytes: rows.reduce((s, x) => s + Number(x[6] ?? 0), 0),
    operatorCpu: r.cpuSeconds,
  };
}

/** A run's metrics from its timeline. */
export function metrics(timeline: ContainerTimeline[]) {
  return {
    makespanMs: makespanOf(timeline),
    downtimeMs: downtimesOf(timeline),
    stagesMs: stagesOf(timeline),
  };
}
