// Podman: the optimized path pre-creates the container on the destination
// while the source still runs, then after the freeze places the CRIU images
// in its userdata, rewrites the paths in config.json, and runs a plain
// `podman container restore` (no archive import, no container creation
// inside the downtime). It depends on podman's userdata layout, so it is
// used only on podman versions where it was proven (4.x); otherwise, or when
// asked, the --export/--import path runs.
import { posix } from 'node:path';
import {
  createBinds,
  isAllowed,
  isSystemPath,
  type OciSpec,
  type SpecBaseline,
  specEscapes,
} from '../plan/escapes.ts';
import { attachedNetworks, podmanCopyArgv } from '../runtime/create-argv.ts';
import { inspectMounts } from '../runtime/inspect-common.ts';
import { arr, type Json, type JsonObject, maybeStr, obj, onlyStrings, str } from '../runtime/json.ts';
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
  q,
  removeCopy,
  removeTempDirs,
  StageError,
  stream,
  tarDir,
  timedStreams,
  untarInto,
} from './driver.ts';
import { ensureNetworks, removeCreatedNetworks } from './networks.ts';

const USERDATA_FILES = ['checkpoint', 'config.json', 'devshm-checkpoint.tar', 'network.status', 'stats-dump'];
/** podman 4's default capabilities, for a host whose `podman info` does not list them */
const DEFAULT_CAPS =
  'CAP_AUDIT_WRITE,CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_MKNOD,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SETFCAP,CAP_SETGID,CAP_SETPCAP,CAP_SETUID,CAP_SYS_CHROOT';
/** a container's own userdata dir in podman's storage */
const USERDATA = /\/overlay-containers\/[0-9a-f]{64}\/userdata$/;
/** podman versions whose userdata layout the pre-created restore was proven on */
const PRECREATE_PROVEN = /^4\./;

interface PodmanInspect {
  Id: string;
  Name: string;
  ImageName?: string;
  Image?: string;
  StaticDir?: string;
  State?: { Status?: string };
  Config?: { CreateCommand?: string[] | null; Env?: string[] | null };
  GraphDriver?: { Data?: { UpperDir?: string } };
  Mounts?: { Type?: string; Name?: string; Source?: string; Destination?: string }[];
  HostConfig?: { NetworkMode?: string; AutoRemove?: boolean };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}

interface PodmanInfo {
  host?: { security?: { capabilities?: string; seccompEnabled?: boolean } };
  store?: { graphRoot?: string; runRoot?: string };
  version?: { Version?: string };
}

/**
 * `podman container inspect` of one container, read field by field: a field
 * of another type than podman prints is absent, and a command line or
 * environment that is not a list of strings is refused.
 */
export function readPodmanInspect(o: JsonObject, where: string): PodmanInspect {
  const list = (field: string, v: Json | undefined): string[] | null => {
    if (v === undefined || v === null) return null;
    const l = onlyStrings(v);
    if (!l) throw new StageError(`${where}: podman inspect gives ${field} that is not a list of strings`);
    return l;
  };
  const config = obj(o.Config);
  const hostConfig = obj(o.HostConfig);
  const networks = obj(obj(o.NetworkSettings).Networks);
  return {
    Id: str(o.Id),
    Name: str(o.Name),
    ImageName: maybeStr(o.ImageName),
    Image: maybeStr(o.Image),
    StaticDir: maybeStr(o.StaticDir),
    State: { Status: maybeStr(obj(o.State).Status) },
    Config: {
      CreateCommand: list('Config.CreateCommand', config.CreateCommand),
      Env: list('Config.Env', config.Env),
    },
    GraphDriver: { Data: { UpperDir: maybeStr(obj(obj(o.GraphDriver).Data).UpperDir) } },
    Mounts: inspectMounts(o.Mounts),
    HostConfig: { NetworkMode: maybeStr(hostConfig.NetworkMode), AutoRemove: hostConfig.AutoRemove === true },
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(networks).map(([name, n]) => [name, { IPAddress: maybeStr(obj(n).IPAddress) }]),
      ),
    },
  };
}

/** `podman info`, read field by field. */
export function readPodmanInfo(o: JsonObject): PodmanInfo {
  const security = obj(obj(o.host).security);
  const store = obj(o.store);
  return {
    host: {
      security: {
        capabilities: maybeStr(security.capabilities),
        seccompEnabled: typeof security.seccompEnabled === 'boolean' ? security.seccompEnabled : undefined,
      },
    },
    store: { graphRoot: maybeStr(store.graphRoot), runRoot: maybeStr(store.runRoot) },
    version: { Version: maybeStr(obj(o.version).Version) },
  };
}

async function inspect(host: MigrationContext['src'], name: string): Promise<PodmanInspect> {
  const out = await must(
    host,
    ['podman', 'container', 'inspect', name],
    `inspecting podman container ${name}`,
  );
  const first = arr(JSON.parse(out))[0];
  if (!first) throw new StageError(`${host.host}: podman has no container ${name}`);
  return readPodmanInspect(obj(first), `${host.host}: ${name}`);
}

/** `podman info` of a host, once per run: it is the slowest of podman's queries (~0.2 s). */
function podmanInfo(ctx: MigrationContext, host: MigrationContext['src']): Promise<PodmanInfo> {
  return ctx.once(`podman-info:${host.host}`, async () =>
    readPodmanInfo(obj(JSON.parse(await must(host, ['podman', 'info', '--format', 'json'], 'podman info')))),
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
    if (!/^[0-9a-f]{12,64}$/.test(c.Id))
      throw new StageError(`${ctx.src.host} reports container id ${JSON.stringify(c.Id)}`);
    if (taken) {
      throw new StageError(`${ctx.dst.host}: a podman container named ${name} already exists there`);
    }
    const image = c.ImageName ?? c.Image;
    if (!image) throw new StageError(`${ctx.src.host}: cannot tell the image of ${name}`);
    ctx.state.memBytes = ctx.memoryHint ?? (await memoryInUse(ctx.src, 'podman', name));
    const srcPaths = {
      srcStatic: c.StaticDir,
      srcRun: info.store?.runRoot ? `${info.store.runRoot}/overlay-containers/${c.Id}/userdata` : undefined,
      srcLayer: c.GraphDriver?.Data?.UpperDir ? posix.dirname(c.GraphDriver.Data.UpperDir) : undefined,
    };
    plainPaths(ctx.src.host, srcPaths);
    if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(image))
      throw new StageError(
        `${ctx.src.host} reports image ${JSON.stringify(image)} for ${name}: not an image reference`,
      );
    Object.assign(ctx.state, { srcId: c.Id, image, ...srcPaths });

    ctx.state.imageBytes = await ctx.once(`podman-image:${ctx.dst.host}:${image}`, async () => {
      if ((await ctx.dst.exec(['podman', 'image', 'exists', image])).code === 0) return 0;
      ctx.warn(`${ctx.dst.host} has no image ${image}: copying it`);
      return copyImage(ctx, 'podman', image);
    });

    // the copy's command line, with the source's address on its only network (podman allocates one at start otherwise)
    const createArgv = podmanCopyArgv(c, ctx.options.newAddress ?? false);
    const versionsOk =
      PRECREATE_PROVEN.test(info.version?.Version ?? '') &&
      PRECREATE_PROVEN.test(dstInfo.version?.Version ?? '');
    const volumes = (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name);
    let path = ctx.options.restorePath;
    // --rm (quadlet, generate systemd --new): podman checkpoints it only with
    // --export and then removes it; the exported checkpoint on the source is
    // what brings it back if anything fails before the copy runs. The import
    // path trusts the source's archive, so the operator asks for it.
    if (c.HostConfig?.AutoRemove) {
      ctx.state.autoRemove = true;
      if (path !== 'import')
        throw new StageError(
          `${ctx.src.host}: ${name} was started with --rm: podman checkpoints it only by export, so it moves with --restore-path import`,
        );
    }
    if (path === 'auto') {
      if (!(createArgv && versionsOk && ctx.state.srcLayer && ctx.state.srcRun))
        // the import path creates the copy from the configuration inside the source's archive
        // (config.dump), which ferry cannot vet: it is never a silent fall-back
        throw new StageError(
          `${ctx.src.host}: ${name} cannot be pre-created on ${ctx.dst.host} (${!createArgv ? 'no recorded create command' : !versionsOk ? `podman ${info.version?.Version ?? '?'} -> ${dstInfo.version?.Version ?? '?'}, proven on 4.x` : 'storage paths unknown'}); --restore-path import restores it from the source's own archive, whose configuration is taken as the source sends it`,
        );
      path = 'precreate';
    }
    if (path === 'precreate' && !createArgv) {
      throw new StageError(
        `${ctx.src.host}: ${name} has no recorded create command, so it cannot be pre-created; use the import path`,
      );
    }
    ctx.state.path = path;
    // what podman gives a copy made from this container's settings: the spec sent with the
    // checkpoint is checked against it at restore (binds: of the create command, or as inspect
    // lists them for the import path, refused here if they are host system paths not allowed)
    const binds = createArgv
      ? createBinds(createArgv)
      : (c.Mounts ?? []).filter((m) => m.Type === 'bind' && m.Source).map((m) => m.Source as string);
    const refusedBinds = binds
      .map((b) => ({ allow: `bind:${b}`, what: `a bind mount of ${b}` }))
      .filter((e) => isSystemPath(e.allow.slice(5)) && !isAllowed(e, ctx.options.allow));
    if (path === 'import' && refusedBinds.length > 0)
      throw new StageError(
        `${ctx.src.host}: ${name} would be restored on ${ctx.dst.host} with ${refusedBinds.map((e) => e.what).join(', ')}: refused unless allowed with --allow ${refusedBinds.map((e) => e.allow).join(',')}`,
      );
    const security = dstInfo.host?.security;
    Object.assign(ctx.state, {
      specBinds: JSON.stringify(binds),
      specCaps: security?.capabilities ?? DEFAULT_CAPS,
      specSeccomp: security?.seccompEnabled !== false,
    });
    const nets = attachedNetworks(c);
    await ensureNetworks(ctx, 'podman', nets);
    if (path === 'import') {
      await makeStreamDirs(ctx, ['ckpt']);
      return;
    }

    // the copy, created now while the source still runs
    const id =
      (await createCopy(ctx, createArgv as string[], `podman create ${name}`)).trim().split('\n').pop() ?? '';
    if (!/^[0-9a-f]{12,64}$/.test(id))
      throw new StageError(`${ctx.dst.host}: podman create printed ${JSON.stringify(id)}, not an id`);
    ctx.state.dstId = id;
    const d = await inspectWithInfo(ctx, ctx.dst, id);
    const upper = d.c.GraphDriver?.Data?.UpperDir;
    if (!d.c.StaticDir || !upper || !d.info.store?.runRoot) {
      throw new StageError(`${ctx.dst.host}: podman did not report the paths of the new container ${name}`);
    }
    const dstPaths = {
      dstStatic: d.c.StaticDir,
      dstRun: `${d.info.store.runRoot}/overlay-containers/${id}/userdata`,
      dstLayer: posix.dirname(upper),
    };
    plainPaths(ctx.dst.host, dstPaths);
    Object.assign(ctx.state, dstPaths, { volumes: volumes.map((v) => v.Name).join(',') });

    for (const v of volumes) {
      const src = v.Source;
      const dst = d.c.Mounts?.find((m) => m.Type === 'volume' && m.Name === v.Name)?.Source;
      if (!src || !dst) throw new StageError(`volume ${v.Name} of ${name}: mount point unknown`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v.Name ?? ''))
        throw new StageError(`${ctx.src.host} reports volume name ${JSON.stringify(v.Name)} for ${name}`);
      plainPaths(ctx.src.host, { [`volume ${v.Name}`]: src });
      plainPaths(ctx.dst.host, { [`volume ${v.Name}`]: dst });
      ctx.state[`vol:${v.Name}`] = `${src}|${dst}`;
    }
    await makeStreamDirs(ctx, ['userdata', 'rootfs', ...volumes.map((v) => `volume-${v.Name}`)]);
  }

  async pause(ctx: MigrationContext): Promise<void> {
    await pauseFor(ctx, 'podman');
  }

  async checkpoint(ctx: MigrationContext): Promise<void> {
    const argv = ['podman', 'container', 'checkpoint', '--keep'];
    if (ctx.options.tcpEstablished || ctx.options.tcpClose) argv.push('--tcp-established');
    if (ctx.options.fileLocks) argv.push('--file-locks');
    if (ctx.state.path === 'import')
      argv.push('--export', `${ctx.state.tmpSrc}/checkpoint.tar`, '--compress', 'none');
    argv.push(ctx.item.container.name);
    await checkpointWith(ctx, 'podman', argv);
  }

  async transfer(ctx: MigrationContext): Promise<{ bytes: number; streamMs?: Record<string, number> }> {
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
    const { run, streamMs } = timedStreams(ctx);
    const jobs = [
      run('userdata', userdata, `tar --numeric-owner -C ${q(s.dstStatic ?? '')} -xf -`),
      run('rootfs', tarDir(`${s.srcLayer}/diff`), untarInto(`${s.dstLayer}/diff`)),
    ];
    for (const key of Object.keys(s).filter((k) => k.startsWith('vol:'))) {
      const [from = '', to = ''] = (s[key] ?? '').split('|');
      jobs.push(run(`volume-${key.slice(4)}`, tarDir(from), untarInto(to)));
    }
    const bytes = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    return { bytes, streamMs };
  }

  async restore(ctx: MigrationContext): Promise<Record<string, number>> {
    const name = ctx.item.container.name;
    const opts: string[] = [];
    // podman 4 has no --tcp-close: restored, the connection is reset by the peer, which has none
    if (ctx.options.tcpEstablished || ctx.options.tcpClose) opts.push('--tcp-established');
    if (ctx.options.newAddress) opts.push('--ignore-static-ip', '--ignore-static-mac');
    if (ctx.options.fileLocks) opts.push('--file-locks');
    if (ctx.state.path === 'import') {
      const t = performance.now();
      // what can be checked of the archive's spec: hooks, namespaces, devices, capabilities, confinement, binds
      const archive = `${ctx.state.tmpDst}/checkpoint.tar`;
      const dump = await must(ctx.dst, ['tar', '-xOf', archive, 'spec.dump'], 'reading spec.dump');
      let parsed: OciSpec;
      try {
        parsed = JSON.parse(dump) as OciSpec;
      } catch {
        throw new StageError(`${ctx.src.host}: the spec.dump sent for ${name} is not JSON`);
      }
      this.refuseSpec(ctx, parsed, {
        ownDirs: [ctx.state.srcStatic, ctx.state.srcRun].filter(
          (d): d is string => typeof d === 'string' && USERDATA.test(d),
        ),
        volumes: [],
        volumeLike: true,
        binds: JSON.parse(String(ctx.state.specBinds ?? '[]')) as string[],
        caps: String(ctx.state.specCaps ?? DEFAULT_CAPS).split(','),
        seccomp: String(ctx.state.specSeccomp) !== 'false',
      });
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
    // the source's paths in the OCI spec become the pre-created container's:
    // literal replacements in ferry (no sed program is ever built from host
    // text); then the spec is checked, so that the source cannot bring hooks,
    // mounts, namespaces or privileges the copy was not created with
    const file = `${s.dstStatic}/config.json`;
    let spec = await must(ctx.dst, ['cat', '--', file], 'reading config.json');
    const volumes = Object.keys(s)
      .filter((k) => k.startsWith('vol:'))
      .map((k) => (s[k] ?? '').split('|') as [string, string]);
    for (const [a, b] of [
      [s.srcStatic, s.dstStatic],
      [s.srcRun, s.dstRun],
      [s.srcLayer, s.dstLayer],
      ...volumes,
    ])
      if (a && b) spec = spec.split(a).join(b);
    let parsed: OciSpec;
    try {
      parsed = JSON.parse(spec) as OciSpec;
    } catch {
      throw new StageError(`${ctx.src.host}: the config.json of ${name} is not JSON`);
    }
    this.refuseSpec(ctx, parsed, {
      ownDirs: [s.dstStatic ?? '', s.dstRun ?? ''].filter(Boolean),
      volumes: volumes.map(([, b]) => b),
      binds: JSON.parse(s.specBinds ?? '[]') as string[],
      caps: (s.specCaps ?? DEFAULT_CAPS).split(','),
      seccomp: String(s.specSeccomp) !== 'false',
    });
    await must(
      ctx.dst,
      ['sh', '-c', 'cat >"$1.ferry" && mv -f -- "$1.ferry" "$1"', 'sh', file],
      'writing config.json',
      {
        stdin: spec,
      },
    );
    const t1 = performance.now();
    await must(ctx.dst, ['podman', 'container', 'restore', ...opts, name], `restore of ${name}`);
    ctx.state.restored = true;
    return { prepareMs: t1 - t0, criuRestoreMs: performance.now() - t1 };
  }

  /** Refuses a checkpointed spec that asks for more than its copy is allowed. */
  private refuseSpec(ctx: MigrationContext, spec: OciSpec, base: SpecBaseline): void {
    const allow = ctx.options.allow;
    const privileged = allow.includes('privileged');
    const refused = specEscapes(spec, base)
      // privileged mode is all of these at once
      .filter((e) => !(privileged && /^(devices|unconfined|cap:.*)$/.test(e.allow)))
      .filter((e) => !isAllowed(e, allow));
    if (refused.length > 0)
      throw new StageError(
        `${ctx.src.host}: the checkpointed spec of ${ctx.item.container.name} asks for ${refused.map((e) => e.what).join(', ')}, which its copy on ${ctx.dst.host} was not created with: refused unless allowed with --allow ${refused.map((e) => e.allow).join(',')}`,
      );
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
      await removeCopy(ctx, 'podman', String(ctx.state.dstId));
    } else if (ctx.state.path === 'import' && (ctx.state.restoring || ctx.state.restored)) {
      // restore --import makes the copy with the source's id
      await removeCopy(ctx, 'podman', String(ctx.state.srcId));
    }
    // a network left behind is no loss; the source must come back even if the destination is gone
    await removeCreatedNetworks(ctx, 'podman').catch((err: unknown) =>
      ctx.warn(`networks ferry created on ${ctx.dst.host} not removed: ${errorText(err)}`),
    );
    // a --rm container is gone once checkpointed: its exported checkpoint brings it back
    if (ctx.state.autoRemove && ctx.state.frozen && (await status(ctx.src, name)) === 'missing') {
      const r = await ctx.src.exec([
        'podman',
        'container',
        'restore',
        '--import',
        `${ctx.state.tmpSrc}/checkpoint.tar`,
      ]);
      if (r.code !== 0)
        throw new StageError(
          `${ctx.src.host}: ${name} (--rm) could not be restored from its exported checkpoint: ${r.stderr.trim().split('\n').pop()}`,
        );
    }
    // a checkpoint that holds established connections is restored only with --tcp-established
    const keep = [
      ...(ctx.options.tcpEstablished || ctx.options.tcpClose ? ['--tcp-established'] : []),
      ...(ctx.options.fileLocks ? ['--file-locks'] : []),
    ];
    await bringSourceBack(ctx, 'podman', ['podman', 'container', 'restore', ...keep, name]);
  }

  async locate(
    ctx: MigrationContext,
  ): Promise<{ source: ContainerPresence; destination: ContainerPresence }> {
    const name = ctx.item.container.name;
    const [source, destination] = await Promise.all([status(ctx.src, name), status(ctx.dst, name)]);
    return { source, destination };
  }
}
