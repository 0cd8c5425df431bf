// Leftovers of earlier runs on a host, removed by the next run that touches
// it: temp dirs a SIGKILL kept from their cleanup, docker checkpoints named
// after a run, and containerd's unpacked copy of one. Only what this
// operator can prove no run needs goes: the run's journal is here and its
// process is gone. Its docker checkpoints (what restores a frozen source)
// and an exported checkpoint of a --rm container stay until the run is
// settled (journal `end`: the run or `ferry recover` finished it). Runs this
// operator does not know (another operator's) and live runs are left alone.
import { CONTAINERD_LEFTOVER } from './docker.ts';
import { journalOf, readJournal, runInFlight, statesFrom } from './journal.ts';
import type { HostSession } from './types.ts';

/** A run id as the engine makes them (20261129T215000-ab12cd). */
const RUN_ID = '[0-9]{8}T[0-9]{6}-[0-9a-f]{6}';
const TEMP = new RegExp(`^/tmp/ferry\\.(${RUN_ID})\\.[A-Za-z0-9]{8}$`);
const CHECKPOINT = new RegExp(
  `^(/[A-Za-z0-9._/-]+)/containers/([0-9a-f]{64})/checkpoints/ferry-(${RUN_ID})$`,
);

/** One line per leftover: `tmp PATH` or `ckpt PATH` (docker's root, when docker answers). */
const LIST = [
  'for d in /tmp/ferry.*; do [ -d "$d" ] && printf "tmp %s\\n" "$d"; done',
  'if command -v docker >/dev/null 2>&1 && r=$(docker info --format "{{.DockerRootDir}}" 2>/dev/null) && [ -n "$r" ]; then',
  '  for c in "$r"/containers/*/checkpoints/ferry-*; do [ -d "$c" ] && printf "ckpt %s\\n" "$c"; done',
  'fi',
  'exit 0',
].join('\n');

export interface Leftover {
  kind: 'tmp' | 'ckpt';
  path: string;
  runId: string;
  /** ckpt: the container holding it */
  container?: string;
}

/** The listing as ferry reads it: only paths of the exact shapes ferry makes (a host's text reaches no command otherwise). */
export function parseLeftovers(out: string): Leftover[] {
  const found: Leftover[] = [];
  for (const line of out.split('\n')) {
    const [kind, path = ''] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
    if (kind === 'tmp') {
      const m = TEMP.exec(path);
      if (m) found.push({ kind, path, runId: m[1] as string });
    } else if (kind === 'ckpt') {
      const m = CHECKPOINT.exec(path);
      if (m && !path.split('/').includes('..'))
        found.push({ kind, path, runId: m[3] as string, container: m[2] as string });
    }
  }
  return found;
}

/**
 * What may go of a run's leftovers: everything once it is settled; while it
 * waits for recover, its temp dirs but those recover reads; nothing of a run
 * that is live or not this operator's.
 */
export function removable(runId: string, journalDir: string): (l: Leftover) => boolean {
  const path = journalOf(runId, journalDir);
  if (!path) return () => false;
  let records: ReturnType<typeof readJournal>;
  try {
    records = readJournal(path);
  } catch {
    return () => false;
  }
  if (!records.some((r) => r.kind === 'run') || runInFlight(records)) return () => false;
  if (records.some((r) => r.kind === 'end')) return () => true;
  // recover rolls a --rm container back from the checkpoint it exported into its temp dir
  const needed = new Set(
    [...statesFrom(records).values()].flatMap((s) =>
      s.autoRemove && typeof s.tmpSrc === 'string' ? [s.tmpSrc] : [],
    ),
  );
  return (l) => l.kind === 'tmp' && !needed.has(l.path);
}

/**
 * Removes what earlier runs left on `host` that no run needs (see above);
 * returns what it removed. `runId` is the run sweeping: its own files stay.
 */
export async function sweepLeftovers(
  host: HostSession,
  runId: string,
  opts: { journalDir: string; timeoutMs?: number },
): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const listed = await host.exec(['sh', '-c', LIST], { timeoutMs });
  if (listed.code !== 0) throw new Error(`listing leftovers: ${listed.stderr.trim()}`);
  const verdicts = new Map<string, (l: Leftover) => boolean>();
  const gone = parseLeftovers(listed.stdout).filter((l) => {
    if (l.runId === runId) return false;
    let v = verdicts.get(l.runId);
    if (!v) {
      v = removable(l.runId, opts.journalDir);
      verdicts.set(l.runId, v);
    }
    return v(l);
  });
  const removed: string[] = [];
  const temps = gone.filter((l) => l.kind === 'tmp').map((l) => l.path);
  if (temps.length > 0) {
    const r = await host.exec(['rm', '-rf', '--', ...temps], { timeoutMs });
    if (r.code === 0) removed.push(...temps);
  }
  for (const l of gone.filter((x) => x.kind === 'ckpt')) {
    // containerd's copy first, while the checkpoint is there to compare it with
    await host.exec(['sh', '-c', CONTAINERD_LEFTOVER, 'sh', l.path], { timeoutMs });
    const r = await host.exec(['docker', 'checkpoint', 'rm', l.container as string, `ferry-${l.runId}`], {
      timeoutMs,
    });
    if (r.code === 0) removed.push(l.path);
  }
  return removed;
}
