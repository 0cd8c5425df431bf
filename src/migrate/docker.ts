// Docker: the destination container is created ahead with the source's
// configuration (rebuilt from inspect). A docker checkpoint holds neither
// the writable layer nor named volumes (criu#289), so both are carried
// next to the CRIU images, which go into the new container's checkpoints/
// directory; `docker start --checkpoint` then restores it. (Docker 20.10
// refuses --checkpoint-dir on start.)
//
// The checkpoint itself goes through containerd when ferry can reach it:
// `docker checkpoint create` has containerd pack the CRIU images into its
// content store and unpack them again into checkpoints/ (2-3 s for 64 MB on
// the lab), while `ctr task checkpoint --image-path` has runc write them
// there directly (0.3 s), the same images `docker start --checkpoint` reads.

import { isPlainPath } from '../plan/escapes.ts';
import {
  attachedNetworks,
  connectArgvs,
  createArgvFromInspect,
  dockerRestartValue,
} from '../runtime/create-argv.ts';
import { type DockerInspect, readDockerInspect as readInspect } from '../runtime/docker-inspect.ts';
import { arr, type JsonObject, obj } from '../runtime/json.ts';
import { errorText } from '../text/error.ts';
import {
  bringSourceBack,
  type ContainerPresence,
  checkpointWith,
  containerState,
  copyImage,
  createCopy,
  type MigrationContext,
  type MigrationDriver,
  makeStreamDirs,
  makeTempDirs,
  memoryInUse,
  must,
  pauseFor,
  plainPaths,
  presenceOf,
  removeCopy,
  removeTempDirs,
  StageError,
  tarDir,
  timedStreams,
  untarInto,
} from './driver.ts';
import { ensureNetworks, removeCreatedNetworks } from './networks.ts';

/** `docker container inspect` of one container, read field by field; what would reach the copy's command line in another type is refused. */
export function readDockerInspect(o: JsonObject, where: string): DockerInspect {
  return readInspect(o, where, (message) => new StageError(message));
}

async function inspect(host: MigrationContext['src'], ref: string): Promise<DockerInspect> {
  const out = await must(host, ['docker', 'container', 'inspect', ref], `inspecting docker container ${ref}`);
  const first = arr(JSON.parse(out))[0];
  if (!first) throw new StageError(`${host.host}: docker has no container ${ref}`);
  return readDockerInspect(obj(first), `${host.host}: ${ref}`);
}

const status = (host: MigrationContext['src'], ref: string) => containerState(host, 'docker', ref);

/** a containerd namespace as containerd takes it */
const CONTAINERD_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,75}$/;

/**
 * The containerd that runs the container, read from its shim's command line
 * (`-address SOCKET -namespace NS`), when ctr can reach it from this session;
 * undefined otherwise (docker's own checkpoint is used then).
 */
export async function containerdOf(
  host: MigrationContext['src'],
  pid: number | undefined,
): Promise<{ address: string; namespace: string } | undefined> {
  if (!pid || !Number.isInteger(pid) || pid <= 1) return undefined;
  const r = await host.exec([
    'sh',
    '-c',
    'p=$(awk \'/^PPid:/ { print $2 }\' "/proc/$1/status") && tr "\\0" "\\n" <"/proc/$p/cmdline"',
    'sh',
    String(pid),
  ]);
  const found = r.code === 0 ? shimContainerd(r.stdout.split('\n')) : undefined;
  if (!found) return undefined;
  const ok = await host.exec(['ctr', '--address', found.address, 'version']);
  return ok.code === 0 ? found : undefined;
}

/** `-address` and `-namespace` of a containerd shim's argv; undefined for anything else. */
export function shimContainerd(argv: readonly string[]): { address: string; namespace: string } | undefined {
  if (!/(^|\/)containerd-shim[A-Za-z0-9.-]*$/.test(argv[0] ?? '')) return undefined;
  const flag = (f: string) => {
    const i = argv.findIndex((a) => a === `-${f}` || a === `--${f}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const address = flag('address');
  const namespace = flag('namespace');
  if (!address || !namespace || !isPlainPath(address) || !CONTAINERD_NAMESPACE.test(namespace))
    return undefined;
  return { address, namespace };
}

/** The streams of the frozen window: the checkpoint, the writable layer, each volume. */
const streamLabels = (ctx: MigrationContext): string[] => [
  'checkpoint',
  'rootfs',
  ...Object.keys(ctx.state)
    .filter((k) => k.startsWith('vol:'))
    .map((k) => `volume-${k.slice(4)}`),
];

/**
 * containerd unpacks the checkpoint of every `docker start --checkpoint` into
 * /tmp/ctrd-checkpoint* and never removes it (one copy of the memory image
 * per restore). The copy of this checkpoint is the one whose inventory.img
 * (unique per dump) matches it; others may belong to a restore in progress.
 */
export const CONTAINERD_LEFTOVER = [
  '[ -f "$1/inventory.img" ] || exit 0',
  'for d in /tmp/ctrd-checkpoint*; do',
  '  [ -d "$d" ] && cmp -s "$d/inventory.img" "$1/inventory.img" && rm -rf -- "$d"',
  'done',
  'exit 0',
].join('\n');

/** containerd's unpacked copy of the run's checkpoint on one side, while that checkpoint is still there to compare with. */
async function removeContainerdCopy(ctx: MigrationContext, side: 'src' | 'dst'): Promise<void> {
  const s = ctx.state;
  const cp = s.checkpointName;
  const [root, id] = side === 'src' ? [s.srcRoot, s.srcId] : [s.dstRoot, s.dstId];
  if (typeof cp !== 'string' || typeof root !== 'string' || typeof id !== 'string') return;
  // the path is an argument of the script, never part of it
  const dir = `${root}/containers/${id}/checkpoints/${cp}`;
  await ctx[side].exec(['sh', '-c', CONTAINERD_LEFTOVER, 'sh', dir]).catch(() => undefined);
}

/** The run's checkpoint (named ferry-RUN) in the container that runs now: a leftover once it runs. */
export async function removeRunCheckpoint(ctx: MigrationContext, side: 'src' | 'dst' = 'src'): Promise<void> {
  const cp = ctx.state.checkpointName;
  if (typeof cp !== 'string' || cp !== `ferry-${ctx.runId}`) return;
  await removeContainerdCopy(ctx, side);
  const ref = side === 'src' ? ctx.item.container.name : String(ctx.state.dstId ?? ctx.item.container.name);
  await ctx[side].exec(['docker', 'checkpoint', 'rm', ref, cp]).catch(() => undefined);
}

export class DockerDriver implements MigrationDriver {
  readonly kind = 'docker' as const;

  async prestage(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    const [c, srcRoot, dstRoot, taken] = await Promise.all([
      inspect(ctx.src, name),
      must(ctx.src, ['docker', 'info', '--format', '{{.DockerRootDir}}'], 'docker info'),
      must(ctx.dst, ['docker', 'info', '--format', '{{.DockerRootDir}}'], 'docker info on the destination'),
      ctx.dst.exec(['docker', 'container', 'inspect', '--format', '{{.Id}}', name]),
    ]);
    if (taken.code === 0)
      throw new StageError(`${ctx.dst.host}: a docker container named ${name} already exists there`);
    if (ctx.options.tcpEstablished || ctx.options.fileLocks) {
      ctx.warn(
        'docker 20.10 takes no CRIU options on checkpoint: --tcp-established/--file-locks need /etc/criu/runc.conf on the hosts',
      );
    }
    await makeTempDirs(ctx);
    ctx.state.memBytes = ctx.memoryHint ?? (await memoryInUse(ctx.src, 'docker', name));
    const upper = c.GraphDriver?.Data?.UpperDir;
    plainPaths(ctx.src.host, { 'the docker root': srcRoot.trim(), 'the upper dir': upper });
    plainPaths(ctx.dst.host, { 'the docker root': dstRoot.trim() });
    if (!/^[0-9a-f]{12,64}$/.test(c.Id))
      throw new StageError(`${ctx.src.host} reports container id ${JSON.stringify(c.Id)}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(c.Config.Image))
      throw new StageError(
        `${ctx.src.host} reports image ${JSON.stringify(c.Config.Image)} for ${name}: not an image reference`,
      );
    if (!upper)
      throw new StageError(`${ctx.src.host}: ${name} has no overlay upper dir; only overlay2 is supported`);
    const containerd = await containerdOf(ctx.src, c.State?.Pid);
    const restart = dockerRestartValue(c.HostConfig.RestartPolicy);
    Object.assign(ctx.state, {
      ...(containerd ? { containerd: containerd.address, containerdNamespace: containerd.namespace } : {}),
      // dockerd restarts a stopped container that has one, fresh: after the checkpoint, that is a second copy
      ...(restart ? { restartPolicy: restart } : {}),
      srcId: c.Id,
      image: c.Config.Image,
      srcRoot: srcRoot.trim(),
      dstRoot: dstRoot.trim(),
      srcUpper: upper,
      checkpointName: `ferry-${ctx.runId}`,
    });
    const hasImage =
      (await ctx.dst.exec(['docker', 'image', 'inspect', '--format', '{{.Id}}', c.Config.Image])).code === 0;
    if (!hasImage) {
      ctx.warn(`${ctx.dst.host} has no image ${c.Config.Image}: copying it`);
      ctx.state.imageBytes = await copyImage(ctx, 'docker', c.Config.Image);
    }
    await ensureNetworks(ctx, 'docker', attachedNetworks(c));
    const dstId = (
      await createCopy(
        ctx,
        createArgvFromInspect(c, { newAddress: ctx.options.newAddress ?? false }),
        `docker create ${name}`,
      )
    ).trim();
    ctx.state.dstId = dstId;
    if (!/^[0-9a-f]{12,64}$/.test(dstId))
      throw new StageError(`${ctx.dst.host}: docker create printed ${JSON.stringify(dstId)}, not an id`);
    // compose's way: the other networks after the first, each with its names and address
    for (const argv of connectArgvs(c, dstId, { newAddress: ctx.options.newAddress ?? false }))
      await must(ctx.dst, argv, `connecting the copy of ${name} to network ${argv.at(-2)}`);
    const d = await inspect(ctx.dst, dstId);
    const dstUpper = d.GraphDriver?.Data?.UpperDir;
    plainPaths(ctx.dst.host, { 'the new upper dir': dstUpper });
    if (!dstUpper) throw new StageError(`${ctx.dst.host}: the new ${name} has no overlay upper dir`);
    ctx.state.dstUpper = dstUpper;
    for (const m of c.Mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name || !m.Source) continue;
      const to = d.Mounts?.find((x) => x.Type === 'volume' && x.Name === m.Name)?.Source;
      if (!to) throw new StageError(`${ctx.dst.host}: volume ${m.Name} was not created for ${name}`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m.Name))
        throw new StageError(`${ctx.src.host} reports volume name ${JSON.stringify(m.Name)} for ${name}`);
      plainPaths(ctx.src.host, { [`volume ${m.Name}`]: m.Source });
      plainPaths(ctx.dst.host, { [`volume ${m.Name}`]: to });
      ctx.state[`vol:${m.Name}`] = `${m.Source}|${to}`;
    }
    await makeStreamDirs(ctx, streamLabels(ctx));
  }

  async pause(ctx: MigrationContext): Promise<void> {
    await pauseFor(ctx, 'docker');
  }

  async checkpoint(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    const s = ctx.state;
    const id = String(s.srcId);
    const cp = String(s.checkpointName);
    if (s.restartPolicy)
      await must(ctx.src, ['docker', 'update', '--restart', 'no', id], `lifting ${name}'s restart policy`);
    await checkpointWith(
      ctx,
      'docker',
      typeof s.containerd === 'string' && typeof s.containerdNamespace === 'string'
        ? [
            'ctr',
            '--address',
            s.containerd,
            '--namespace',
            s.containerdNamespace,
            'task',
            'checkpoint',
            '--exit',
            '--image-path',
            `${s.srcRoot}/containers/${id}/checkpoints/${cp}`,
            id,
          ]
        : ['docker', 'checkpoint', 'create', name, cp],
    );
  }

  async transfer(ctx: MigrationContext): Promise<{ bytes: number; streamMs: Record<string, number> }> {
    const s = ctx.state as Record<string, string>;
    const cp = s.checkpointName ?? '';
    const from = `${s.srcRoot}/containers/${s.srcId}/checkpoints/${cp}`;
    const to = `${s.dstRoot}/containers/${s.dstId}/checkpoints/${cp}`;
    const { run: timed, streamMs } = timedStreams(ctx);
    const jobs = [
      timed('checkpoint', tarDir(from), untarInto(to)),
      // the writable layer (docker's checkpoint does not hold it)
      timed('rootfs', tarDir(s.srcUpper ?? ''), untarInto(s.dstUpper ?? '')),
    ];
    for (const key of Object.keys(s).filter((k) => k.startsWith('vol:'))) {
      const [a = '', b = ''] = (s[key] ?? '').split('|');
      jobs.push(timed(`volume-${key.slice(4)}`, tarDir(a), untarInto(b)));
    }
    return { bytes: (await Promise.all(jobs)).reduce((x, y) => x + y, 0), streamMs };
  }

  async restore(ctx: MigrationContext): Promise<Record<string, number>> {
    const t = performance.now();
    await must(
      ctx.dst,
      ['docker', 'start', '--checkpoint', String(ctx.state.checkpointName), String(ctx.state.dstId)],
      `restore of ${ctx.item.container.name}`,
    );
    ctx.state.restored = true;
    return { criuRestoreMs: performance.now() - t };
  }

  async verify(ctx: MigrationContext): Promise<void> {
    const id = String(ctx.state.dstId);
    for (const delayMs of [0, 300]) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      // with a restart policy, dockerd starts a copy whose restored process died again, fresh:
      // running, but without the checkpoint's state
      const r = await ctx.dst.exec([
        'docker',
        'container',
        'inspect',
        '--format',
        '{{.State.Status}} {{.RestartCount}}',
        id,
      ]);
      const [state = '', restarts = '0'] = r.stdout.trim().split(' ');
      const st = r.code !== 0 ? 'missing' : presenceOf(state);
      if (st !== 'running')
        throw new StageError(
          `${ctx.dst.host}: ${ctx.item.container.name} is ${st} after restore, not running`,
        );
      if (restarts !== '0')
        throw new StageError(
          `${ctx.dst.host}: ${ctx.item.container.name} died after its restore and dockerd started it again, without its state`,
        );
    }
    if (ctx.options.healthCommand?.length) {
      await must(
        ctx.dst,
        ['docker', 'exec', id, ...ctx.options.healthCommand],
        `health command in ${ctx.item.container.name}`,
      );
    }
  }

  async finalize(ctx: MigrationContext): Promise<void> {
    if (!ctx.options.keepSource) {
      await must(
        ctx.src,
        ['docker', 'rm', '-f', '-v', String(ctx.state.srcId)],
        'removing the source container',
      );
    }
    await removeRunCheckpoint(ctx, 'dst');
    await removeTempDirs(ctx);
  }

  async rollback(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    if (ctx.state.dstId) {
      // a restore that failed on the destination leaves containerd's copy there too
      if (ctx.state.restoring || ctx.state.restored) await removeContainerdCopy(ctx, 'dst');
      await removeCopy(ctx, 'docker', String(ctx.state.dstId));
    }
    // a network left behind is no loss; the source must come back even if the destination is gone
    await removeCreatedNetworks(ctx, 'docker').catch((err: unknown) =>
      ctx.warn(`networks ferry created on ${ctx.dst.host} not removed: ${errorText(err)}`),
    );
    await bringSourceBack(ctx, 'docker', [
      'docker',
      'start',
      '--checkpoint',
      String(ctx.state.checkpointName),
      name,
    ]);
    // running again: its restart policy as it was (the checkpoint may have lifted it)
    if (typeof ctx.state.restartPolicy === 'string')
      await must(
        ctx.src,
        ['docker', 'update', '--restart', ctx.state.restartPolicy, String(ctx.state.srcId)],
        `restoring ${name}'s restart policy (${ctx.state.restartPolicy})`,
      ).catch((err: unknown) =>
        // it runs on its source again: the policy is worth a warning, not a failed roll-back
        ctx.warn(
          `${name} runs on ${ctx.src.host} again, but its restart policy is still 'no': ${errorText(err)}; set it with docker update --restart ${ctx.state.restartPolicy} ${name}`,
        ),
      );
    await removeRunCheckpoint(ctx);
  }

  async locate(
    ctx: MigrationContext,
  ): Promise<{ source: ContainerPresence; destination: ContainerPresence }> {
    const [source, destination] = await Promise.all([
      status(ctx.src, ctx.item.container.name),
      ctx.state.dstId ? status(ctx.dst, String(ctx.state.dstId)) : status(ctx.dst, ctx.item.container.name),
    ]);
    return { source, destination };
  }
}
