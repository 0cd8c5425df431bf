// One round trip to a host: its facts, every runtime's inventory, and any
// extra sections a caller (preflight) needs, from one batched shell script.
import type { HostFacts, HostProblem } from '../inventory/model.ts';
import { errorText } from '../text/error.ts';
import { dockerRuntime } from './docker.ts';
import { excerpt, type HostExec } from './exec.ts';
import { type CachedSection, type FactsEntry, factsKeyScript, usableKey } from './facts-cache.ts';
import { DEFAULT_CHECKPOINT_DIR, hostFactSections, parseHostFacts } from './host-facts.ts';
import { MEMORY_SECTION, memorySection, parseCgroupMemory } from './listing.ts';
import { podmanRuntime } from './podman.ts';
import { emptyFacts, type Runtime, type RuntimeProbe } from './runtime.ts';
import {
  buildScript,
  FACTS_KEY_SECTION,
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
  /**
   * true (default): every container inspected, with images, networks, volumes,
   * pods and memory; 'list': each runtime's list command and memory from the
   * cgroups only (containers with detail 'list'); false: facts and extras only
   */
  inventory?: boolean | 'list';
  /**
   * host facts (kernel, CRIU, checkpoint dir) and runtime facts (info); default
   * true. 'list' and false (extras only) may leave them out: they do not change
   * between refreshes, or the caller has them already.
   */
  facts?: boolean;
  /**
   * the host's cacheable answers from an earlier run (null: none yet). Given,
   * the host prints its facts key first and skips the cacheable sections when
   * it is this entry's; the probe then reads them from the entry.
   */
  knownFacts?: FactsEntry | null;
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
  /** knownFacts was given: whether the host's key matched it (its answers were used) */
  factsCached?: boolean;
  /** the cacheable answers of this round trip, under the host's key, when they are worth keeping */
  factsToKeep?: FactsEntry;
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
  const list = opts.inventory === 'list';
  const withInventory = opts.inventory === true || opts.inventory === undefined;
  const withFacts = withInventory || (opts.facts ?? true);
  const hostSections = withFacts
    ? hostFactSections({
        checkpointDir,
        ...(target.criuBinary ? { criuBinary: target.criuBinary } : {}),
      })
    : [];
  const runtimeSections = runtimes.flatMap((r) => [
    ...(withInventory
      ? r.probeSections()
      : withFacts
        ? r.probeSections().filter((s) => s.name.endsWith('.info'))
        : []),
    ...(list ? r.listSections() : []),
  ]);
  const extra = opts.extra ?? [];
  const all = [...hostSections, ...runtimeSections, ...(list ? [memorySection()] : []), ...extra];
  const commandTimeoutSec = target.commandTimeoutSec ?? DEFAULT_COMMAND_TIMEOUT_SEC;
  const cacheable = all.filter((s) => s.cacheable);
  const caching = opts.knownFacts !== undefined && cacheable.length > 0;
  const known = opts.knownFacts ?? null;
  // the entry stands in only when it holds every cacheable answer this probe asks
  const covers = known !== null && cacheable.every((s) => known.sections[s.name] !== undefined);
  const { script, nonce } = buildScript(all, {
    sudo,
    timeoutSec: commandTimeoutSec,
    ...(caching
      ? {
          factsKey: {
            script: factsKeyScript([target.criuBinary ?? 'criu', ...runtimes.map((r) => r.binary)]),
            expect: covers ? known.key : null,
          },
        }
      : {}),
  });
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
    const why = errorText(err);
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
  const meta = parsed.meta;
  const cache = caching ? applyFactsCache(parsed.sections, cacheable, covers ? known : null, meta) : {};
  const problems: HostProblem[] = [];
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
  const memory = list ? parseCgroupMemory(parsed.sections.get(MEMORY_SECTION)?.stdout ?? '') : null;
  const probes = runtimes.map((runtime) => {
    const full = withInventory || withFacts ? runtime.parseProbe(parsed.sections, target.name) : null;
    const infoProblems = (full?.problems ?? []).filter((p) => withInventory || p.code !== 'section-missing');
    if (!memory && !full)
      return {
        runtime,
        probe: { facts: emptyFacts(runtime.kind, 'ok', 'not probed'), data: null, problems: [] },
      };
    if (!memory) return { runtime, probe: { ...(full as RuntimeProbe), problems: infoProblems } };
    const listed = runtime.parseList(parsed.sections, target.name, memory);
    // the list's containers; versions and checkpoint support from info when it ran
    const facts = full && listed.facts.status !== 'missing' ? full.facts : listed.facts;
    const seen = new Set(listed.problems.map((p) => p.message));
    return {
      runtime,
      probe: {
        facts,
        data: listed.data,
        problems: [...listed.problems, ...infoProblems.filter((p) => !seen.has(p.message))],
      },
    };
  });
  for (const { probe } of probes) problems.push(...probe.problems);
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
  return done({ reached: true, meta, facts, runtimes: probes, problems, extra: extraResults, ...cache });
}

/**
 * On a key that matches `known`, puts its answers in `results` (the host
 * skipped those sections). Otherwise, the answers to keep: when the key has a
 * boot id, sudo worked if it was needed, and every cacheable section reported
 * in time.
 */
function applyFactsCache(
  results: Map<string, SectionResult>,
  cacheable: readonly Section[],
  known: FactsEntry | null,
  meta: ScriptMeta,
): Pick<HostProbe, 'factsCached' | 'factsToKeep'> {
  const keyOut = results.get(FACTS_KEY_SECTION);
  results.delete(FACTS_KEY_SECTION);
  const key = keyOut?.code === 0 ? keyOut.stdout.replace(/\n+$/, '') : null;
  if (known && key === known.key) {
    for (const s of cacheable) {
      const c = known.sections[s.name] as CachedSection;
      results.set(s.name, { name: s.name, display: s.display, ...c, elapsedMs: null });
    }
    return { factsCached: true };
  }
  if (key === null || !usableKey(key) || (meta.sudoNeeded && meta.sudoCode !== 0))
    return { factsCached: false };
  const sections: Record<string, CachedSection> = {};
  for (const s of cacheable) {
    const r = results.get(s.name);
    // a criu check that ran out of time says nothing about the host: never kept
    if (!r || r.code === null || r.timedOut) return { factsCached: false };
    sections[s.name] = { code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: false };
  }
  return { factsCached: false, factsToKeep: { key, sections } };
}
