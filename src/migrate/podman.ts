// Podman: the optimized path pre-creates the container on the destination
// while the source still runs, then after the freeze places the CRIU images
// in its userdata, rewrites the paths in config.json, and runs a plain
// `podman container restore` (no archive import, no container creation
// inside the downtime). It depends on podman's userdata layout, so it is
// used only on podman versions where it was proven (4.x); otherwise, or when
// asked, the --export/--import path runs.
import { posix } from 'node:path';
import {
  bringSourceBack,
  checkpointWith,
  containerState,
  copyImage,
  type HostState,
  type MigrationContext,
  type MigrationDriver,
  makeTempDirs,
  memoryInUse,
  must,
  pauseFor,
  q,
  removeTempDirs,
  StageError,
  sh,
  stream,
  tarDir,
  untarInto,
} from './driver.ts';

const USERDATA_FILES = ['checkpoint', 'config.json', 'devshm-checkpoint.tar', 'network.status', 'stats-dump'];
/** podman versions whose userdata layout the pre-created restore was proven on */
const PRECREATE_PROVEN = /^4\./;

interface PodmanInspect {
  Id: string;
  Name: string;
  ImageName?: string;
  Image?: string;
  StaticDir?: string;
  State?: { Status?: string };
  Config?: { CreateCommand?: string[] | null };
  GraphDriver?: { Data?: { UpperDir?: string } };
  Mounts?: { Type?: string; Name?: string; Source?: string; Destination?: string }[];
}

interface PodmanInfo {
  store?: { graphRoot?: string; runRoot?: string };
  version?: { Version?: string };
}

async function inspect(host: MigrationContext['src'], name: string): Promise<PodmanInspect> {
  const list = JSON.parse(
    await must(host, ['podman', 'container', 'inspect', name], `inspecting podman container ${name}`),
  ) as PodmanInspect[];
  const c = list[0];
  if (!c) throw new StageError(`${host.host}: podman has no container ${name}`);
  return c;
}

/** `podman info` of a host, once per run: it is the slowest of podman's queries (~0.2 s). */
function podmanInfo(ctx: MigrationContext, host: MigrationContext['src']): Promise<PodmanInfo> {
  return ctx.once(
    `podman-info:${host.host}`,
    async () =>
      JSON.parse(await must(host, ['podman', 'info', '--format', 'json'], 'podman info')) as PodmanInfo,
  );
}

async function inspectWithInfo(
  ctx: MigrationContext,
  host: MigrationContext['src'],
  name: string,
): Promise<{ c: PodmanInspect; info: PodmanInfo }> {
  const [c, info] = await Promise.all([inspect(host, name), podmanInfo(ctx, host)]);
  return { c, info };
}

/** `podman run -d ...` as recorded at creation, turned into `podman create ...` */
export function createArgvFrom(createCommand: readonly string[]): string[] | undefined {
  const argv = [...createCommand];
  if (argv.length < 3) return undefined;
  argv[0] = 'podman';
  let i = 1;
  if (argv[i] === 'container') i++;
  if (argv[i] !== 'run' && argv[i] !== 'create') return undefined;
  argv[i] = 'create';
  return argv.filter((a) => a !== '-d' && a !== '--detach' && a !== '--detach=true');
}

const status = (host: MigrationContext['src'], name: string) => containerState(host, 'podman', name);

export class PodmanDriver implements MigrationDriver {
  readonly kind = 'podman' as const;

  async prestage(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    // the temp dirs are in the state before any failure counts, so that the
    // rollback finds and removes them
    const temps = makeTempDirs(ctx);
    let found: [{ c: PodmanInspect; info: PodmanInfo }, PodmanInfo, boolean];
    try {
      found = await Promise.all([
        inspectWithInfo(ctx, ctx.src, name),
        podmanInfo(ctx, ctx.dst),
        ctx.dst.exec(['podman', 'container', 'exists', name]).then((r) => r.code === 0),
      ]);
    } finally {
      await temps.catch(() => undefined);
    }
    await temps;
    const [{ c, info }, dstInfo, taken] = found;
    if (taken) {
      throw new StageError(`${ctx.dst.host}: a podman container named ${name} already exists there`);
    }
    const image = c.ImageName ?? c.Image;
    if (!image) throw new StageError(`${ctx.src.host}: cannot tell the image of ${name}`);
    ctx.state.memBytes = ctx.memoryHint ?? (await memoryInUse(ctx.src, 'podman', name));
    Object.assign(ctx.state, {
      srcId: c.Id,
      image,
      srcStatic: c.StaticDir,
      srcRun: info.store?.runRoot ? `${info.store.runRoot}/overlay-containers/${c.Id}/userdata` : undefined,
      srcLayer: c.GraphDriver?.Data?.UpperDir ? posix.dirname(c.GraphDriver.Data.UpperDir) : undefined,
    });

    ctx.state.imageBytes = await ctx.once(`podman-image:${ctx.dst.host}:${image}`, async () => {
      if ((await ctx.dst.exec(['podman', 'image', 'exists', image])).code === 0) return 0;
      ctx.warn(`${ctx.dst.host} has no image ${image}: copying it`);
      return copyImage(ctx, 'podman', image);
    });

    const createArgv = c.Config?.CreateCommand ? createArgvFrom(c.Config.CreateCommand) : undefined;
    const versionsOk =
      PRECREATE_PROVEN.test(info.version?.Version ?? '') &&
      PRECREATE_PROVEN.test(dstInfo.version?.Version ?? '');
    const volumes = (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name);
    let path = ctx.options.restorePath;
    if (path === 'auto')
      path = createArgv && versionsOk && ctx.state.srcLayer && ctx.state.srcRun ? 'precreate' : 'import';
    if (path === 'precreate' && !createArgv) {
      throw new StageError(
        `${ctx.src.host}: ${name} has no recorded create command, so it cannot be pre-created; use the import path`,
      );
    }
    ctx.state.path = path;
    if (path === 'import') return;

    // the copy, created now while the source still runs
    const id =
      (await must(ctx.dst, createArgv as string[], `podman create ${name}`)).trim().split('\n').pop() ?? '';
    ctx.state.dstId = id;
    const d = await inspectWithInfo(ctx, ctx.dst, id);
    const upper = d.c.GraphDriver?.Data?.UpperDir;
    if (!d.c.StaticDir || !upper || !d.info.store?.runRoot) {
      throw new StageError(`${ctx.dst.host}: podman did not report the paths of the new container ${name}`);
    }
    Object.assign(ctx.state, {
      dstStatic: d.c.StaticDir,
      dstRun: `${d.info.store.runRoot}/overlay-containers/${id}/userdata`,
      dstLayer: posix.dirname(upper),
      volumes: volumes.map((v) => v.Name).join(','),
    });
    for (const v of volumes) {
      const src = v.Source;
      const dst = d.c.Mounts?.find((m) => m.Type === 'volume' && m.Name === v.Name)?.Source;
      if (!src || !dst) throw new StageError(`volume ${v.Name} of ${name}: mount point unknown`);
      ctx.state[`vol:${v.Name}`] = `${src}|${dst}`;
    }
  }

  async pause(ctx: MigrationContext): Promise<void> {
    await pauseFor(ctx, 'podman');
  }

  async checkpoint(ctx: MigrationContext): Promise<void> {
    const argv = ['podman', 'container', 'checkpoint', '--keep'];
    if (ctx.options.tcpEstablished) argv.push('--tcp-established');
    if (ctx.options.fileLocks) argv.push('--file-locks');
    if (ctx.state.path === 'import')
      argv.push('--export', `${ctx.state.tmpSrc}/checkpoint.tar`, '--compress', 'none');
    argv.push(ctx.item.container.name);
    await checkpointWith(ctx, 'podman', argv);
  }

  async transfer(ctx: MigrationContext): Promise<{ bytes: number }> {
    if (ctx.state.path === 'import') {
      const bytes = await stream(
        ctx,
        'ckpt',
        `cat ${q(`${ctx.state.tmpSrc}/checkpoint.tar`)}`,
        `cat > ${q(`${ctx.state.tmpDst}/checkpoint.tar`)}`,
      );
      return { bytes };
    }
    const s = ctx.state as Record<string, string>;
    const files = USERDATA_FILES.map(q).join(' ');
    const userdata = `cd ${q(s.srcStatic ?? '')} && L= && for f in ${files}; do [ -e "$f" ] && L="$L $f"; done; tar --numeric-owner -cf - $L`;
    const jobs = [
      stream(ctx, 'userdata', userdata, `tar --numeric-owner -C ${q(s.dstStatic ?? '')} -xf -`),
      stream(ctx, 'rootfs', tarDir(`${s.srcLayer}/diff`), untarInto(`${s.dstLayer}/diff`)),
    ];
    for (const key of Object.keys(s).filter((k) => k.startsWith('vol:'))) {
      const [from = '', to = ''] = (s[key] ?? '').split('|');
      jobs.push(stream(ctx, `volume-${key.slice(4)}`, tarDir(from), untarInto(to)));
    }
    const bytes = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    return { bytes };
  }

  async restore(ctx: MigrationContext): Promise<Record<string, number>> {
    const name = ctx.item.container.name;
    const opts: string[] = [];
    if (ctx.options.tcpEstablished) opts.push('--tcp-established');
    if (ctx.options.fileLocks) opts.push('--file-locks');
    if (ctx.state.path === 'import') {
      const t = performance.now();
      await must(
        ctx.dst,
        ['podman', 'container', 'restore', '--import', `${ctx.state.tmpDst}/checkpoint.tar`, ...opts],
        `restore --import of ${name}`,
      );
      ctx.state.restored = true;
      return { importRestoreMs: performance.now() - t };
    }
    const s = ctx.state as Record<string, string>;
    const t0 = performance.now();
    // the source's paths in the OCI spec become the pre-created container's
    const rewrites = [
      [s.srcStatic, s.dstStatic],
      [s.srcRun, s.dstRun],
      [s.srcLayer, s.dstLayer],
    ]
      .map(([a, b]) => `-e ${q(`s|${a}|${b}|g`)}`)
      .join(' ');
    await sh(ctx.dst, `sed -i ${rewrites} ${q(`${s.dstStatic}/config.json`)}`, 'rewriting config.json');
    const t1 = performance.now();
    await must(ctx.dst, ['podman', 'container', 'restore', ...opts, name], `restore of ${name}`);
    ctx.state.restored = true;
    return { prepareMs: t1 - t0, criuRestoreMs: performance.now() - t1 };
  }

  async verify(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    for (const delayMs of [0, 300]) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const st = await status(ctx.dst, name);
      if (st !== 'running')
        throw new StageError(`${ctx.dst.host}: ${name} is ${st} after restore, not running`);
    }
    if (ctx.options.healthCommand?.length) {
      await must(
        ctx.dst,
        ['podman', 'exec', name, ...ctx.options.healthCommand],
        `health command in ${name}`,
      );
    }
  }

  async finalize(ctx: MigrationContext): Promise<void> {
    if (!ctx.options.keepSource) {
      await must(
        ctx.src,
        ['podman', 'rm', '-f', String(ctx.state.srcId ?? ctx.item.container.name)],
        'removing the source container',
      );
    }
    await removeTempDirs(ctx);
  }

  async rollback(ctx: MigrationContext): Promise<void> {
    const name = ctx.item.container.name;
    // the partial copy: only ever one we made
    if (ctx.state.dstId) {
      await ctx.dst.exec(['podman', 'rm', '-f', String(ctx.state.dstId)]);
    } else if (ctx.state.path === 'import' && ctx.state.frozen) {
      const r = await ctx.dst.exec(['podman', 'container', 'inspect', '--format', '{{.Id}}', name]);
      if (r.code === 0 && r.stdout.trim() === ctx.state.srcId)
        await ctx.dst.exec(['podman', 'rm', '-f', r.stdout.trim()]);
    }
    await bringSourceBack(ctx, 'podman', ['podman', 'container', 'restore', name]);
  }

  async locate(ctx: MigrationContext): Promise<{ source: HostState; destination: HostState }> {
    const name = ctx.item.container.name;
    const [source, destination] = await Promise.all([status(ctx.src, name), status(ctx.dst, name)]);
    return { source, destination };
  }
}
