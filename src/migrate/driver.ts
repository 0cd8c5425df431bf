// A driver moves one container of one runtime kind. The engine only calls
// these methods and never asks which runtime it is talking to.

import type { RuntimeKind } from '../inventory/model.ts';
import { createEscapes, isAllowed, isPlainPath, splitEnv } from '../plan/escapes.ts';
import type { MigrateOptions, MigrationItem } from '../plan/migration.ts';
import { parseUsage } from '../runtime/units.ts';
import { shellQuoteArgv } from '../ssh/quote.ts';
import { errorText } from '../text/error.ts';
import { linkRateKey, rememberRate } from './link-rate.ts';
import { type DirectRoute, direct, relay } from './transfer.ts';
import type { DriverState, HostSession } from './types.ts';

export interface MigrationContext {
  item: MigrationItem;
  runId: string;
  src: HostSession;
  dst: HostSession;
  options: MigrateOptions;
  /** persisted in the journal after each stage; drivers keep ids and paths here */
  state: DriverState;
  signal?: AbortSignal;
  /** whether the stream should be compressed (chosen by the engine from the link) */
  zstd: boolean;
  /** set when the source sends to the destination itself; otherwise ferry relays */
  direct?: DirectRoute;
  /** memory in use as the plan measured it moments ago: spares a `stats` call */
  memoryHint?: number;
  /** bytes moved since the last call, across all of this container's streams */
  onProgress(deltaBytes: number): void;
  warn(message: string): void;
  /** runs fn once per key for the whole run (e.g. one image copy per destination) */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** A container on one host: running, paused, stopped (there, not running) or missing (not there). */
export type ContainerPresence = 'running' | 'paused' | 'stopped' | 'missing';

export interface MigrationDriver {
  readonly kind: RuntimeKind;
  /** image, destination container, temp dirs: everything that needs no frozen memory */
  prestage(ctx: MigrationContext): Promise<void>;
  /** stop the world for this container (consistent cut only) */
  pause(ctx: MigrationContext): Promise<void>;
  /** the freeze: downtime starts here */
  checkpoint(ctx: MigrationContext): Promise<void>;
  /** bytes moved; streamMs: when each stream ended, ms after the stage began (the breakdown) */
  transfer(ctx: MigrationContext): Promise<{ bytes: number; streamMs?: Record<string, number> }>;
  /** returns the breakdown of the restore stage in ms */
  restore(ctx: MigrationContext): Promise<Record<string, number>>;
  verify(ctx: MigrationContext): Promise<void>;
  /** removes the source (unless kept) and the temp dirs */
  finalize(ctx: MigrationContext): Promise<void>;
  /** undoes what was done: the source runs again, no partial copy is left */
  rollback(ctx: MigrationContext): Promise<void>;
  /** where the container is now, for recovery */
  locate(ctx: MigrationContext): Promise<{ source: ContainerPresence; destination: ContainerPresence }>;
}

export class StageError extends Error {
  override name = 'StageError';
}

/** Runs argv and returns stdout, or throws naming the host, the command and its stderr. */
export async function must(
  host: HostSession,
  argv: string[],
  what: string,
  opts: { signal?: AbortSignal; stdin?: string } = {},
): Promise<string> {
  const r = await host.exec(argv, opts);
  if (r.code !== 0) {
    const err = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new StageError(
      `${host.host}: ${what} failed (exit ${r.code ?? r.signal ?? '?'}): ${err || argv.slice(0, 2).join(' ')}`,
    );
  }
  return r.stdout;
}

/** Runs a POSIX sh script on a host. */
export function sh(
  host: HostSession,
  script: string,
  what: string,
  opts: { signal?: AbortSignal } = {},
): Promise<string> {
  return must(host, ['sh', '-c', script], what, opts);
}

export const q = (word: string) => shellQuoteArgv([word]);

/** Consistent cut: pause the container; its checkpoint will resume it first. */
export async function pauseFor(ctx: MigrationContext, binary: string): Promise<void> {
  await must(ctx.src, [binary, 'pause', ctx.item.container.name], `${binary} pause`);
  ctx.state.paused = true;
}

/**
 * The freeze. Neither podman nor docker checkpoints a paused container, so a
 * paused one is resumed in the same remote command as its checkpoint: it runs
 * only for the checkpoint's start-up (~0.1-0.3 s) before CRIU freezes it.
 */
export async function checkpointWith(ctx: MigrationContext, binary: string, argv: string[]): Promise<void> {
  const name = ctx.item.container.name;
  const what = `checkpoint of ${name}`;
  if (ctx.state.paused) {
    await sh(ctx.src, `${binary} unpause ${q(name)} >/dev/null && exec ${shellQuoteArgv(argv)}`, what);
    ctx.state.paused = false;
  } else await must(ctx.src, argv, what);
  ctx.state.frozen = true;
}

/** A run's private temp dir: named after the run, so that the next run can tell whose a leftover is. */
export const tempDirTemplate = (runId: string) => `/tmp/ferry.${runId}.XXXXXXXX`;

/** A private temp dir on each side, 0700 (mktemp's default). */
export async function makeTempDirs(ctx: MigrationContext): Promise<void> {
  const mk = ['mktemp', '-d', tempDirTemplate(ctx.runId)];
  const [src, dst] = await Promise.all([
    ctx.state.tmpSrc ? undefined : must(ctx.src, mk, 'creating a temp dir'),
    ctx.state.tmpDst ? undefined : must(ctx.dst, mk, 'creating a temp dir'),
  ]);
  if (src) ctx.state.tmpSrc = src.trim();
  if (dst) ctx.state.tmpDst = dst.trim();
}

export async function removeTempDirs(ctx: MigrationContext): Promise<void> {
  const { tmpSrc, tmpDst } = ctx.state;
  await Promise.all([
    typeof tmpSrc === 'string' && tmpSrc.startsWith('/tmp/ferry.')
      ? ctx.src.exec(['rm', '-rf', tmpSrc])
      : undefined,
    typeof tmpDst === 'string' && tmpDst.startsWith('/tmp/ferry.')
      ? ctx.dst.exec(['rm', '-rf', tmpDst])
      : undefined,
  ]);
}

/** The streams' subdirectories of the temp dirs that prestage made. */
const madeDirs = (ctx: MigrationContext): string[] =>
  typeof ctx.state.streamDirs === 'string' ? ctx.state.streamDirs.split('/') : [];

/**
 * The subdirectories of the streams that will run while the container is
 * frozen, made in prestage: one round trip less in the frozen window.
 * Labels are ferry's own (`volume-NAME` with a checked NAME).
 */
export async function makeStreamDirs(ctx: MigrationContext, labels: string[]): Promise<void> {
  await Promise.all([
    must(ctx.src, ['mkdir', '-p', '--', ...labels.map((l) => `${ctx.state.tmpSrc}/${l}`)], 'mkdir'),
    must(ctx.dst, ['mkdir', '-p', '--', ...labels.map((l) => `${ctx.state.tmpDst}/${l}`)], 'mkdir'),
  ]);
  ctx.state.streamDirs = [...new Set([...madeDirs(ctx), ...labels])].join('/');
}

/** Streams run side by side, each one's end noted (ms after the first began): the transfer's breakdown. */
export function timedStreams(ctx: MigrationContext) {
  const t = performance.now();
  const streamMs: Record<string, number> = {};
  const run = (label: string, send: string, receive: string) =>
    stream(ctx, label, send, receive).then((bytes) => {
      streamMs[label] = Math.round(performance.now() - t);
      return bytes;
    });
  return { run, streamMs };
}

/** One relay stream in its own subdirectory of the temp dirs, so that several can run at once. */
export async function stream(
  ctx: MigrationContext,
  label: string,
  send: string,
  receive: string,
): Promise<number> {
  const tmpFrom = `${ctx.state.tmpSrc}/${label}`;
  const tmpTo = `${ctx.state.tmpDst}/${label}`;
  if (!madeDirs(ctx).includes(label))
    await Promise.all([
      must(ctx.src, ['mkdir', '-p', tmpFrom], 'mkdir'),
      must(ctx.dst, ['mkdir', '-p', tmpTo], 'mkdir'),
    ]);
  let reported = 0;
  const o = {
    from: ctx.src,
    to: ctx.dst,
    send,
    receive,
    tmpFrom,
    tmpTo,
    zstd: ctx.zstd,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (bytes: number) => {
      ctx.onProgress(bytes - reported);
      reported = bytes;
    },
  };
  const r = ctx.direct ? await direct({ ...o, route: ctx.direct }) : await relay(o);
  // what the link really carried stands in for the next plan's measurement (uncompressed streams only)
  if (!ctx.zstd)
    rememberRate(linkRateKey(ctx.src.host, ctx.dst.host, ctx.direct ? 'direct' : 'relay'), {
      kind: 'transfer',
      bytesPerSec: Math.round((r.bytes * 1000) / r.streamMs),
      at: Date.now(),
      bytes: r.bytes,
    });
  return r.bytes;
}

/**
 * The source runs again, as before the migration: unpaused, or restored from
 * its local checkpoint (`restoreArgv`) if it was frozen; then the temp dirs
 * go. Throws with every reason it is not running afterwards.
 */
export async function bringSourceBack(
  ctx: MigrationContext,
  binary: string,
  restoreArgv: string[],
): Promise<void> {
  const name = ctx.item.container.name;
  const problems: string[] = [];
  const st = await containerState(ctx.src, binary, name);
  if (st === 'paused') await must(ctx.src, [binary, 'unpause', name], `${binary} unpause`);
  // freezing: the checkpoint started; it may have stopped the process and then failed
  if (st === 'stopped' && (ctx.state.frozen || ctx.state.freezing)) {
    const r = await ctx.src.exec(restoreArgv);
    if (r.code !== 0)
      problems.push(`restore on ${ctx.src.host} failed: ${r.stderr.trim().split('\n').pop()}`);
  }
  const after = await containerState(ctx.src, binary, name);
  if (after !== 'running') problems.push(`${name} is ${after} on ${ctx.src.host}`);
  await removeTempDirs(ctx).catch(() => undefined);
  if (problems.length > 0) throw new StageError(problems.join('; '));
}

/** A rollback that must not go on: the source stays as it is, and a person checks what it says. */
export class NeedsAttention extends StageError {
  override name = 'NeedsAttention';
}

/**
 * The partial copy on the destination goes, or the rollback stops before the
 * source is restored: a copy that may run and a restored source would be two.
 * `ref` is the copy ferry made (its id); `how` tells a person how to check.
 * A copy whose restore never started cannot run: if the destination cannot
 * be reached it is left behind, with a warning, and the source comes back.
 */
export async function removeCopy(ctx: MigrationContext, binary: string, ref: string): Promise<void> {
  const name = ctx.item.container.name;
  const dst = ctx.dst.host;
  const started = Boolean(ctx.state.restoring || ctx.state.restored);
  const check = `on ${dst}: \`${binary} ps -a --filter id=${ref}\`; if it is not running, remove it and restore ${name} on ${ctx.src.host} with \`${binary} container restore ${name}\` (podman) or \`docker start --checkpoint ferry-${ctx.runId} ${name}\``;
  let state: ContainerPresence | 'unknown';
  let why = '';
  try {
    const rm = await ctx.dst.exec([binary, 'rm', '-f', ref]);
    const r = await ctx.dst.exec([binary, 'container', 'inspect', '--format', '{{.State.Status}}', ref]);
    if (r.code === 0) {
      const s = r.stdout.trim();
      state = s === 'running' ? 'running' : s === 'paused' ? 'paused' : 'stopped';
      why = rm.stderr.trim().split('\n').pop() ?? '';
    } else if (/no such (container|object)/i.test(r.stderr)) state = 'missing';
    else {
      state = 'unknown';
      why = r.stderr.trim().split('\n').pop() ?? '';
    }
  } catch (err) {
    state = 'unknown';
    why = errorText(err);
  }
  if (state === 'missing') return;
  if (state === 'stopped' || !started) {
    // it does not run (or never could): the source may come back
    ctx.warn(
      `${dst}: the ${state === 'stopped' ? 'stopped' : 'unstarted'} copy of ${name} (${ref.slice(0, 12)}) could not be removed (${why}); remove it by hand`,
    );
    return;
  }
  throw new NeedsAttention(
    `the copy of ${name} on ${dst} could not be removed (${state}${why ? `: ${why}` : ''}), so ${name} was NOT restored on ${ctx.src.host}; check ${check}`,
  );
}

/** Where a container stands on a host, for either runtime (both print .State.Status). */
export async function containerState(
  host: HostSession,
  binary: string,
  ref: string,
): Promise<ContainerPresence> {
  const r = await host.exec([binary, 'container', 'inspect', '--format', '{{.State.Status}}', ref]);
  return r.code !== 0 ? 'missing' : presenceOf(r.stdout.trim());
}

/** What a runtime's State.Status says of where the container is. */
export const presenceOf = (status: string): ContainerPresence =>
  status === 'running' ? 'running' : status === 'paused' ? 'paused' : 'stopped';

/** Memory in use by a container, from `stats` ("64.6MiB / 23.5GiB"): the size a checkpoint will have. */
export async function memoryInUse(
  host: HostSession,
  binary: string,
  name: string,
): Promise<number | undefined> {
  const r = await host.exec([binary, 'stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
  if (r.code !== 0) return undefined;
  return parseUsage(r.stdout.trim().split('\n')[0] ?? '') ?? undefined;
}

/**
 * Copies an image from source to destination: `save`, then on the
 * destination the archive is checked before `load`: a docker archive naming
 * this image and no other tag (a source could otherwise replace any image
 * of the destination by naming it in the archive).
 */
export async function copyImage(ctx: MigrationContext, binary: string, image: string): Promise<number> {
  const file = `${ctx.state.tmpDst}/image/image.tar`;
  const bytes = await stream(ctx, 'image', `${binary} save ${q(image)}`, `cat > ${q(file)}`);
  await checkImageArchive(ctx.dst, file, image, ctx.src.host);
  await must(ctx.dst, [binary, 'load', '-i', file], `${binary} load of ${image}`);
  await ctx.dst.exec(['rm', '-f', '--', file]);
  return bytes;
}

/** Names an image may go by: as given, with :latest, with or without docker.io/library/ or localhost/. */
function imageNames(image: string): Set<string> {
  const tagged = /:[^/]+$/.test(image) || image.includes('@') ? image : `${image}:latest`;
  const bare = tagged.replace(/^(docker\.io\/library\/|docker\.io\/|localhost\/)/, '');
  return new Set([
    image,
    tagged,
    bare,
    `docker.io/library/${bare}`,
    `docker.io/${bare}`,
    `localhost/${bare}`,
  ]);
}

/** Refuses an image archive on `host` that would tag anything but `image` (docker-archive: manifest.json). */
export async function checkImageArchive(
  host: HostSession,
  file: string,
  image: string,
  from: string,
): Promise<void> {
  const out = await must(
    host,
    [
      'sh',
      '-c',
      'tar -tf "$1" | grep -E "^(\\./)?(manifest\\.json|repositories|index\\.json|oci-layout)$"; printf "\\0"; tar -xOf "$1" manifest.json 2>/dev/null || tar -xOf "$1" ./manifest.json; printf "\\0"; tar -xOf "$1" repositories 2>/dev/null || tar -xOf "$1" ./repositories 2>/dev/null; true',
      'sh',
      file,
    ],
    `checking the image archive of ${image}`,
  );
  const [listing = '', manifestText = '', repositoriesText = ''] = out.split('\0');
  const names = listing.split('\n').map((l) => l.replace(/^\.\//, '').trim());
  const refuse = (why: string) => {
    throw new StageError(`${from}: the archive sent for image ${image} ${why}: not loaded on ${host.host}`);
  };
  if (names.includes('index.json') || names.includes('oci-layout')) refuse('is an OCI layout');
  // one of each: a loader that reads another copy than this check would see other tags
  for (const n of ['manifest.json', 'repositories'])
    if (names.filter((x) => x === n).length > 1) refuse(`holds ${n} twice`);
  let manifest: { RepoTags?: unknown }[];
  try {
    manifest = JSON.parse(manifestText) as { RepoTags?: unknown }[];
  } catch {
    return refuse('has no readable manifest.json');
  }
  if (!Array.isArray(manifest) || manifest.length !== 1)
    refuse(`holds ${Array.isArray(manifest) ? manifest.length : 0} images`);
  const tags = manifest[0]?.RepoTags;
  const allowed = imageNames(image);
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || !allowed.has(t)))
    refuse(`would tag ${JSON.stringify(tags)}`);
  // the legacy file tags too, for a loader that reads it
  if (names.includes('repositories')) {
    let repos: Record<string, Record<string, string>>;
    try {
      repos = JSON.parse(repositoriesText) as Record<string, Record<string, string>>;
    } catch {
      return refuse('has an unreadable repositories file');
    }
    const legacy = Object.entries(repos ?? {}).flatMap(([repo, t]) =>
      Object.keys(t ?? {}).map((tag) => `${repo}:${tag}`),
    );
    if (legacy.some((t) => !allowed.has(t))) refuse(`would tag ${JSON.stringify(legacy)}`);
  }
}

/** tar of a directory's contents, keeping owners, devices (overlay whiteouts) and xattrs */
export const tarDir = (dir: string) =>
  `tar --numeric-owner --xattrs --xattrs-include='*' -C ${q(dir)} -cf - .`;
export const untarInto = (dir: string) =>
  `mkdir -p ${q(dir)} && tar --numeric-owner --xattrs --xattrs-include='*' -C ${q(dir)} -xf -`;

/**
 * Paths a host reported, checked before they reach a command line: absolute,
 * plain characters, no `..` (they also name files the copy is built from).
 */
export function plainPaths(host: string, paths: Record<string, unknown>): void {
  for (const [what, p] of Object.entries(paths))
    if (p !== undefined && !isPlainPath(p))
      throw new StageError(
        `${host} reports ${what} ${JSON.stringify(p)}: not a plain absolute path, refused`,
      );
}

/**
 * Creates the destination's copy from `argv` after checking it: settings
 * that reach beyond the container are refused unless allowed by name, and
 * environment values go through a 0600 file in the private temp dir instead
 * of the command line (where /proc shows them to every user). Returns stdout.
 */
export async function createCopy(ctx: MigrationContext, argv: string[], what: string): Promise<string> {
  const refused = createEscapes(argv).filter((e) => !isAllowed(e, ctx.options.allow));
  if (refused.length > 0)
    throw new StageError(
      `${ctx.src.host}: ${ctx.item.container.name} would be created on ${ctx.dst.host} with ${refused.map((e) => e.what).join(', ')}: refused unless allowed with --allow ${refused.map((e) => e.allow).join(',')}`,
    );
  let split: ReturnType<typeof splitEnv>;
  try {
    split = splitEnv(argv);
  } catch (err) {
    throw new StageError(`${ctx.src.host}: ${ctx.item.container.name}: ${(err as Error).message}`);
  }
  if (split.env.length === 0) return must(ctx.dst, argv, what);
  const file = `${ctx.state.tmpDst}/create.env`;
  const at = split.argv.indexOf('create') + 1;
  const withFile = [...split.argv.slice(0, at), '--env-file', file, ...split.argv.slice(at)];
  const script = 'f=$1; shift; umask 077; cat >"$f" || exit 1; "$@"; rc=$?; rm -f -- "$f"; exit $rc';
  return must(ctx.dst, ['sh', '-c', script, 'sh', file, ...withFile], what, {
    stdin: `${split.env.join('\n')}\n`,
  });
}
