// One round trip to a host: its facts, every runtime's inventory, and any
// extra sections a caller (preflight) needs, from one batched shell script.
import type { HostFacts } from '../inventory/model.ts';
import { dockerRuntime } from './docker.ts';
import { excerpt, type HostExec } from './exec.ts';
import { DEFAULT_CHECKPOINT_DIR, hostFactSections, parseHostFacts } from './host-facts.ts';
import { podmanRuntime } from './podman.ts';
import type { HostProblem } from './problems.ts';
import type { Runtime, RuntimeProbe } from './runtime.ts';
import {
  buildScript,
  parseScriptOutput,
  type ScriptMeta,
  type Section,
  type SectionResult,
  type SudoMode,
} from './script.ts';

/** A host as the runtime layer sees it: a name, a way to run commands, and settings. */
export interface HostTarget {
  /** as the user names it (an ssh alias) */
  name: string;
  exec: HostExec;
  /** auto (default): sudo -n when the SSH user is not root; always; never */
  sudo?: SudoMode;
  /** where checkpoints are written (default /var/tmp/ferry) */
  checkpointDir?: string;
  criuBinary?: string;
  /** default: podman and docker, each optional */
  runtimes?: Runtime[];
  /** limit for each command on the host, seconds (default 20) */
  commandTimeoutSec?: number;
  /** limit for the whole round trip, ms (default: command limit + 15 s) */
  timeoutMs?: number;
}

export interface ProbeOptions {
  /** more sections to run in the same script */
  extra?: readonly Section[];
  /** stdin for the one extra section that reads it */
  stdin?: string;
  /** leave out runtime inventories (facts and extras only) */
  inventory?: boolean;
  signal?: AbortSignal;
}

export interface HostProbe {
  host: string;
  startedAt: number;
  durationMs: number;
  /** the script ran and reported; false: nothing is known from this attempt */
  reached: boolean;
  meta: ScriptMeta | null;
  facts: HostFacts | null;
  runtimes: { runtime: Runtime; probe: RuntimeProbe }[];
  problems: HostProblem[];
  extra: Map<string, SectionResult>;
}

export const DEFAULT_COMMAND_TIMEOUT_SEC = 20;
/** grace over timeoutMs before a transport that ignores it is given up on */
const GUARD_MS = 3000;

export function defaultRuntimes(): Runtime[] {
  return [podmanRuntime(), dockerRuntime()];
}

export function runtimesOf(target: HostTarget): Runtime[] {
  return target.runtimes ?? defaultRuntimes();
}

export async function probeHost(target: HostTarget, opts: ProbeOptions = {}): Promise<HostProbe> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const sudo = target.sudo ?? 'auto';
  const checkpointDir = target.checkpointDir ?? DEFAULT_CHECKPOINT_DIR;
  const runtimes = runtimesOf(target);
  const withInventory = opts.inventory ?? true;
  const hostSections = hostFactSections({
    checkpointDir,
    ...(target.criuBinary ? { criuBinary: target.criuBinary } : {}),
  });
  const runtimeSections = runtimes.flatMap((r) =>
    withInventory ? r.probeSections() : r.probeSections().filter((s) => s.name.endsWith('.info')),
  );
  const extra = opts.extra ?? [];
  const all = [...hostSections, ...runtimeSections, ...extra];
  const commandTimeoutSec = target.commandTimeoutSec ?? DEFAULT_COMMAND_TIMEOUT_SEC;
  const { script, nonce } = buildScript(all, { sudo, timeoutSec: commandTimeoutSec });
  const timeoutMs = target.timeoutMs ?? (commandTimeoutSec + 15) * 1000;

  const done = (p: Omit<HostProbe, 'host' | 'startedAt' | 'durationMs'>): HostProbe => ({
    host: target.name,
    startedAt,
    durationMs: performance.now() - t0,
    ...p,
  });
  const unreached = (problem: HostProblem) =>
    done({ reached: false, meta: null, facts: null, runtimes: [], problems: [problem], extra: new Map() });

  let res: Awaited<ReturnType<HostExec>>;
  // the transport should honour timeoutMs; this guards against one that does not
  const abort = new AbortController();
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(
        new Error(`no answer within ${Math.round((timeoutMs + GUARD_MS) / 1000)} s (the probe script hung)`),
      );
    }, timeoutMs + GUARD_MS);
  });
  try {
    res = await Promise.race([
      target.exec(['sh', '-c', script], {
        timeoutMs,
        signal: abort.signal,
        // the probe only reads (and writes its own scratch directory)
        idempotent: true,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      }),
      guard,
    ]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return unreached({
      severity: 'error',
      code: 'unreachable',
      message: `${target.name}: could not run the probe script: ${excerpt(why)}`,
      host: target.name,
      command: 'sh -c <probe script>',
      stderr: excerpt(why),
    });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const parsed = parseScriptOutput(res.stdout, nonce, all);
  if (!parsed.meta) {
    const code = res.code === 255 ? 'unreachable' : 'script-failed';
    const err = excerpt(res.stderr) || excerpt(res.stdout) || 'no output';
    return unreached({
      severity: 'error',
      code,
      message: `${target.name}: the probe script ${code === 'unreachable' ? 'could not reach the host' : 'failed'} (exit ${res.code ?? 'none'}): ${err}`,
      host: target.name,
      command: 'sh -c <probe script>',
      stderr: err,
    });
  }
  const problems: HostProblem[] = [];
  const meta = parsed.meta;
  if (meta.sudoNeeded && meta.sudoCode !== 0) {
    problems.push({
      severity: 'error',
      code: 'sudo-denied',
      message: `${target.name}: user ${meta.user ?? meta.uid ?? '?'} cannot run sudo -n (${excerpt(meta.sudoStderr) || `exit ${meta.sudoCode}`}); runtime and CRIU commands need root${sudo === 'auto' ? ', so they ran as the user' : ''}`,
      host: target.name,
      command: 'sudo -n true',
      stderr: excerpt(meta.sudoStderr),
    });
  }
  const probes = runtimes.map((runtime) => ({
    runtime,
    probe: runtime.parseProbe(parsed.sections, target.name),
  }));
  for (const { probe } of probes) {
    if (withInventory) problems.push(...probe.problems);
    else problems.push(...probe.problems.filter((p) => p.code !== 'section-missing'));
  }
  const facts = parseHostFacts(parsed.sections, meta, {
    sudo,
    checkpointDir,
    runtimes: probes.map((p) => p.probe.facts),
  });
  const extraResults = new Map<string, SectionResult>();
  for (const s of extra) {
    const r = parsed.sections.get(s.name);
    if (r) extraResults.set(s.name, r);
  }
  return done({ reached: true, meta, facts, runtimes: probes, problems, extra: extraResults });
}
