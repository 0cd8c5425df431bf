// Helpers for tests against the real lab (scripts/lab): plain OpenSSH with the
// lab's generated config, so these tests do not depend on ferry's own SSH code.
import { execa } from 'execa';

export const LAB_DIR = process.env.FERRY_LAB_DIR ?? '/var/lib/ferry-lab';
export const SSH_CONFIG = `${LAB_DIR}/ssh_config`;
export const LAB_SCRIPT = new URL('../../scripts/lab', import.meta.url).pathname;
export const SKIP_LAB = process.env.FERRY_SKIP_LAB === '1';
/** ferry's flags for the sample podman workflow, alpha -> beta */
export const WORKFLOW_TO_BETA = [
  '-F',
  SSH_CONFIG,
  '--compose-project',
  'wf',
  '--host',
  'alpha',
  '--to',
  'beta',
];

export type Runtime = 'podman' | 'docker';
export type ExecResult = { stdout: string; stderr: string; exitCode: number };

export async function ssh(host: string, command: string, opts: { sshArgs?: string[]; input?: string } = {}) {
  const r = await execa(
    'ssh',
    ['-F', SSH_CONFIG, '-o', 'BatchMode=yes', ...(opts.sshArgs ?? []), host, command],
    {
      reject: false,
      ...(opts.input === undefined ? {} : { input: opts.input }),
    },
  );
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 } satisfies ExecResult;
}

/** Like ssh() but throws with the host, command and stderr when it fails. */
export async function sshOk(host: string, command: string): Promise<string> {
  const r = await ssh(host, command);
  if (r.exitCode !== 0) {
    throw new Error(`ssh ${host} '${command}' exited ${r.exitCode}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * Gives a podman network on a lab host host-local leases of its own, in `dir`: the
 * lab's hosts share /var/lib/cni, so otherwise no host can hold an address that
 * another holds on a network of the same name (CNI reads the file on each use).
 */
export async function ownLeases(host: string, network: string, dir: string): Promise<void> {
  const file = `${LAB_DIR}/hosts/${host}/podman/cni/${network}.conflist`;
  const conf = JSON.parse(await sshOk(host, `cat ${file}`)) as {
    plugins: { ipam?: Record<string, unknown> }[];
  };
  for (const p of conf.plugins) if (p.ipam) p.ipam.dataDir = dir;
  const w = await ssh(host, `cat >${file}`, { input: JSON.stringify(conf) });
  if (w.exitCode !== 0) throw new Error(`${host}: writing ${file}: ${w.stderr.trim()}`);
}

export async function lab(args: string[]): Promise<ExecResult> {
  const r = await execa('bash', [LAB_SCRIPT, ...args], { reject: false });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

export type WorkloadStatus = {
  role: string;
  runId: string;
  ticks: number;
  updatedMs: number;
  ballastChecksum: string;
  ballastRecomputed: string;
  sent: number;
  acked: number;
  accepted: number;
  lastSeq: number;
  badValues: number;
  upstreamRestarts: number;
  downstreamRestarts: number;
};

/** key=value lines, as the lab's workload and stackkit print their status. */
export function keyValues(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return kv;
}

/** Parses the key=value lines the lab workload writes to /state/status. */
export function parseStatus(text: string): WorkloadStatus {
  const kv = keyValues(text);
  const str = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`workload status has no '${k}': ${JSON.stringify(text)}`);
    return v;
  };
  const num = (k: string) => Number(str(k));
  return {
    role: str('role'),
    runId: str('run_id'),
    ticks: num('ticks'),
    updatedMs: num('updated_ms'),
    ballastChecksum: str('ballast_checksum'),
    ballastRecomputed: str('ballast_recomputed'),
    sent: num('sent'),
    acked: num('acked'),
    accepted: num('accepted'),
    lastSeq: num('last_seq'),
    badValues: num('bad_values'),
    upstreamRestarts: num('upstream_restarts'),
    downstreamRestarts: num('downstream_restarts'),
  };
}

export async function workloadStatus(host: string, runtime: Runtime, container: string) {
  return parseStatus(await sshOk(host, `${runtime} exec ${container} /workload status`));
}

/** Waits until the workload has written a status newer than `afterMs` (wall clock). */
export async function freshStatus(
  host: string,
  runtime: Runtime,
  container: string,
  afterMs: number,
  timeoutMs = 20_000,
): Promise<WorkloadStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const s = await workloadStatus(host, runtime, container);
      if (s.updatedMs > afterMs) return s;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(
    `${runtime} ${container} on ${host}: no fresh status within ${timeoutMs} ms (${String(last)})`,
  );
}

/** Waits until `pred` holds for the container's status. */
export async function waitStatus(
  host: string,
  runtime: Runtime,
  container: string,
  pred: (s: WorkloadStatus) => boolean,
  timeoutMs = 30_000,
): Promise<WorkloadStatus> {
  const deadline = Date.now() + timeoutMs;
  let s: WorkloadStatus | undefined;
  while (Date.now() < deadline) {
    s = await workloadStatus(host, runtime, container).catch(() => undefined);
    if (s && pred(s)) return s;
    await sleep(250);
  }
  throw new Error(
    `${runtime} ${container} on ${host}: condition not met in ${timeoutMs} ms; last ${JSON.stringify(s)}`,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Asserts a restored stage carried its memory: same run id (not restarted),
 * counter at least where it was, ballast checksum unchanged and re-verified.
 */
export function continuityProblems(before: WorkloadStatus, after: WorkloadStatus): string[] {
  const p: string[] = [];
  if (after.runId !== before.runId)
    p.push(`run id changed ${before.runId} -> ${after.runId}: the process restarted`);
  if (after.ticks < before.ticks) p.push(`counter went back ${before.ticks} -> ${after.ticks}`);
  if (after.ballastChecksum !== before.ballastChecksum) p.push('ballast checksum changed');
  if (after.ballastRecomputed !== before.ballastChecksum)
    p.push('ballast memory no longer matches its checksum');
  if (after.upstreamRestarts !== before.upstreamRestarts) p.push('an upstream stage restarted');
  if (after.downstreamRestarts !== before.downstreamRestarts) p.push('a downstream stage restarted');
  if (after.badValues !== 0) p.push(`${after.badValues} items arrived with wrong values`);
  return p;
}

/** A counting sink of its own on `host` (no upstream), for tests that must leave the workflow alone. */
export async function startCounter(host: string, name: string, port: number, minTicks = 10): Promise<void> {
  await sshOk(
    host,
    `podman run -d --name ${name} --network host --restart no -e BALLAST_MB=16 -e RATE=20 -e IN_PORT=${port} localhost/ferry-workload:latest sink`,
  );
  await waitStatus(host, 'podman', name, (s) => s.ticks >= minTicks);
}

/** Removes a podman container from every host it may be on. */
export async function removeContainer(name: string, hosts = ['alpha', 'beta']): Promise<void> {
  await Promise.all(hosts.map((h) => ssh(h, `podman rm -f -t 0 ${name} >/dev/null 2>&1; true`)));
}
