// The drivers against a compromised source host. Each "host" is a local
// shell (real sh, cat, mv, sed, find), with podman and docker replaced by a
// script that answers as the hostile source would and records what it was
// asked to do; nothing here touches a real runtime.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerDriver } from '../../../src/migrate/docker.ts';
import { checkImageArchive, type MigrationContext, must } from '../../../src/migrate/driver.ts';
import { PodmanDriver } from '../../../src/migrate/podman.ts';
import type { HostSession } from '../../../src/migrate/types.ts';
import { DEFAULT_OPTIONS, type MigrateOptions } from '../../../src/plan/migration.ts';
import { commandName } from '../../../src/ssh/channel.ts';
import { shellQuoteArgv } from '../../../src/ssh/quote.ts';

const root = mkdtempSync(join(tmpdir(), 'ferry-hostile-'));
const bin = join(root, 'bin');
mkdirSync(bin);
// podman and docker: answers from $FAKE/<first three args, or two when the third is not a flag>.out
// (exit 1 without one); every call logged
const FAKE_RUNTIME = `#!/bin/sh
n=$(basename "$0")
{ printf '%s' "$n"; for a in "$@"; do printf ' %s' "$a"; done; echo; } >>"$FAKE/calls"
prev=
for a in "$@"; do
  if [ "$prev" = --env-file ]; then { echo "env-file mode $(stat -c %a "$a")"; cat "$a"; } >>"$FAKE/calls"; fi
  prev=$a
done
key3=$(echo "$n $1 $2 $3" | tr ' /' '__')
key2=$(echo "$n $1 $2" | tr ' /' '__')
if [ -f "$FAKE/$key3.out" ]; then cat "$FAKE/$key3.out"; exit 0; fi
case $3 in -*) exit 1 ;; esac
if [ -f "$FAKE/$key2.out" ]; then cat "$FAKE/$key2.out"; exit 0; fi
exit 1
`;
for (const n of ['podman', 'docker']) {
  writeFileSync(join(bin, n), FAKE_RUNTIME);
  chmodSync(join(bin, n), 0o755);
}

afterAll(() => {
  spawnSync('rm', ['-rf', root]);
});

/** A host that is this machine's shell, with the fake runtimes first on PATH. */
function localHost(name: string): HostSession & { dir: string; calls: () => string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const run = (argv: string[], stdin?: string) => {
    const r = spawnSync(argv[0] as string, argv.slice(1), {
      input: stdin ?? '',
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE: dir },
    });
    return {
      stdout: r.stdout?.toString() ?? '',
      stderr: r.stderr?.toString() ?? String(r.error ?? ''),
      code: r.status,
      signal: null,
    };
  };
  return {
    host: name,
    dir,
    calls: () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : ''),
    exec: async (argv, opts) => run(argv, typeof opts?.stdin === 'string' ? opts.stdin : undefined),
    spawn: async () => {
      throw new Error('no streams in these tests');
    },
  };
}

function context(
  src: HostSession,
  dst: HostSession,
  runtime: 'podman' | 'docker',
  options: Partial<MigrateOptions> = {},
): MigrationContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    item: {
      id: `src/${runtime}/web`,
      container: { host: 'src', runtime, name: 'web' },
      destination: 'dst',
    },
    runId: 'r1',
    src,
    dst,
    options: { ...DEFAULT_OPTIONS, ...options },
    state: {},
    zstd: false,
    memoryHint: 1_000_000,
    onProgress: () => undefined,
    warn: (m) => warnings.push(m),
    once: (_k, fn) => fn(),
    warnings,
  };
}

const ID = 'a'.repeat(64);
const NEW_ID = 'b'.repeat(64);

/** What a compromised docker source reports: a container that would own the destination. */
function dockerInspect(over: Record<string, unknown> = {}) {
  return [
    {
      Id: ID,
      Name: '/web',
      Image: 'sha256:1234',
      Config: {
        Image: 'localhost/web:1',
        Env: ['PATH=/bin', 'DB_PASSWORD=hunter2 with spaces'],
        Cmd: ['serve'],
      },
      HostConfig: {
        NetworkMode: 'host',
        Privileged: true,
        Binds: ['/:/host', '/srv/data:/data'],
        CapAdd: ['SYS_ADMIN'],
      },
      GraphDriver: { Data: { UpperDir: '/var/lib/docker/overlay2/abc/diff' } },
      Mounts: [],
      ...over,
    },
  ];
}

function dockerHosts(inspect: unknown) {
  const src = localHost(`docker-src-${Math.random().toString(36).slice(2)}`);
  const dst = localHost(`docker-dst-${Math.random().toString(36).slice(2)}`);
  for (const h of [src, dst]) writeFileSync(join(h.dir, 'docker_info_--format.out'), '/var/lib/docker\n');
  writeFileSync(join(src.dir, 'docker_container_inspect.out'), JSON.stringify(inspect));
  writeFileSync(join(dst.dir, 'docker_image_inspect_--format.out'), 'sha256:1234\n');
  writeFileSync(join(dst.dir, 'docker_create_--env-file.out'), `${NEW_ID}\n`);
  writeFileSync(join(dst.dir, 'docker_create_--name.out'), `${NEW_ID}\n`);
  return { src, dst };
}

describe('a hostile docker source', () => {
  it('privileged, a bind of /, SYS_ADMIN and the host network are refused before anything is created on the destination', async () => {
    const { src, dst } = dockerHosts(dockerInspect());
    const ctx = context(src, dst, 'docker');
    await expect(new DockerDriver().prestage(ctx)).rejects.toThrow(
      /would be created on docker-dst-\w+ with the host's network \(--network host\), a bind mount of \/, privileged mode, capability SYS_ADMIN: refused unless allowed with --allow host-network,bind:\/,privileged,cap:SYS_ADMIN/,
    );
    expect(dst.calls()).not.toContain('docker create');
  });

  it('allowed by name, they are created; environment values go through a 0600 env file, never the command line', async () => {
    const { src, dst } = dockerHosts(dockerInspect());
    const ctx = context(src, dst, 'docker', {
      allow: ['host-network', 'bind:/', 'privileged', 'cap:SYS_ADMIN'],
    });
    // the copy's own inspect, once created
    writeFileSync(
      join(dst.dir, `docker_container_inspect.out`),
      JSON.stringify(
        dockerInspect({
          Id: NEW_ID,
          GraphDriver: { Data: { UpperDir: '/var/lib/docker/overlay2/new/diff' } },
        }),
      ),
    );
    await new DockerDriver().prestage(ctx);
    const create =
      dst
        .calls()
        .split('\n')
        .find((l) => l.startsWith('docker create')) ?? '';
    expect(create).toContain('--privileged');
    expect(create).toContain('-v /:/host');
    expect(create).not.toContain('hunter2');
    expect(create).not.toContain('DB_PASSWORD');
    expect(dst.calls()).toContain('env-file mode 600\nPATH=/bin\nDB_PASSWORD=hunter2 with spaces\n');
    expect(ctx.state.dstId).toBe(NEW_ID);
  });

  it('an image that is a flag and paths that are not plain are refused', async () => {
    const flagImage = dockerHosts(
      dockerInspect({ Config: { Image: '--privileged' }, HostConfig: { NetworkMode: 'bridge' } }),
    );
    await expect(
      new DockerDriver().prestage(context(flagImage.src, flagImage.dst, 'docker')),
    ).rejects.toThrow(/reports image "--privileged" for web: not an image reference/);
    const badUpper = dockerHosts(
      dockerInspect({
        HostConfig: { NetworkMode: 'bridge' },
        GraphDriver: { Data: { UpperDir: "/x/diff'; touch /tmp/p; '" } },
      }),
    );
    await expect(new DockerDriver().prestage(context(badUpper.src, badUpper.dst, 'docker'))).rejects.toThrow(
      /reports the upper dir .*: not a plain absolute path, refused/,
    );
  });
});

describe('a hostile podman source', () => {
  let src: ReturnType<typeof localHost>;
  let dst: ReturnType<typeof localHost>;
  let marker: string;
  const CAPS = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  // the shape of a config.json podman 4.3 wrote on the lab, cut down
  const spec = (extra: Record<string, unknown> = {}, linux: Record<string, unknown> = {}) =>
    JSON.stringify({
      ociVersion: '1.0.2-dev',
      process: { capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS } },
      mounts: [
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/data', type: 'bind', source: '/srv/data', options: ['rw', 'rprivate', 'rbind'] },
        { destination: '/dev/shm', type: 'bind', source: '@STATIC@/shm', options: ['bind', 'rprivate'] },
      ],
      linux: {
        namespaces: [
          { type: 'pid' },
          { type: 'network', path: '/run/netns/netns-5069b5c4' },
          { type: 'ipc' },
          { type: 'uts' },
          { type: 'mount' },
        ],
        seccomp: { defaultAction: 'SCMP_ACT_ERRNO' },
        maskedPaths: ['/proc/kcore'],
        ...linux,
      },
      ...extra,
    });

  beforeEach(() => {
    src = localHost(`podman-src-${Math.random().toString(36).slice(2)}`);
    dst = localHost(`podman-dst-${Math.random().toString(36).slice(2)}`);
    marker = join(dst.dir, 'pwned');
    writeFileSync(join(dst.dir, 'podman_container_restore.out'), '');
  });

  /** The state after transfer: the source's config.json is in the copy's userdata, the copy's own spec kept aside. */
  function afterTransfer(srcStatic: string, theirs: string) {
    const dstStatic = join(dst.dir, 'userdata');
    const tmpDst = join(dst.dir, 'tmp');
    mkdirSync(dstStatic, { recursive: true });
    mkdirSync(tmpDst, { recursive: true });
    writeFileSync(join(dstStatic, 'config.json'), theirs.replaceAll('@STATIC@', srcStatic));
    const ctx = context(src, dst, 'podman');
    Object.assign(ctx.state, {
      path: 'precreate',
      srcStatic,
      dstStatic,
      srcRun: '/run/containers/storage/overlay-containers/x/userdata',
      dstRun: '/run/containers/storage/overlay-containers/y/userdata',
      srcLayer: '/var/lib/containers/storage/overlay/x',
      dstLayer: '/var/lib/containers/storage/overlay/y',
      tmpDst,
      dstId: NEW_ID,
      // what prestage learnt: the create command's binds, the destination's default capabilities
      specBinds: JSON.stringify(['/srv/data']),
      specCaps: CAPS.join(','),
      specSeccomp: true,
    });
    return { ctx, dstStatic };
  }

  it("a StaticDir built to break out of the path rewrite runs nothing on the destination (GNU sed's e command)", async () => {
    // `s|^.*|touch MARKER|e;#|...`: sed would run the line as a shell command
    const hostile = `^.*|touch ${marker}|e;#`;
    const { ctx, dstStatic } = afterTransfer(hostile, spec());
    await new PodmanDriver().restore(ctx);
    expect(existsSync(marker)).toBe(false);
    // the rewrite is literal: the source's path became the copy's, nothing else changed
    const written = JSON.parse(readFileSync(join(dstStatic, 'config.json'), 'utf8'));
    expect(written.mounts.map((m: { source: string }) => m.source)).toEqual([
      'sysfs',
      '/srv/data',
      `${dstStatic}/shm`,
    ]);
    expect(dst.calls()).toContain('podman container restore web');
  });

  it('such a StaticDir is refused already at prestage, naming the host', async () => {
    writeFileSync(
      join(src.dir, 'podman_container_inspect.out'),
      JSON.stringify([
        {
          Id: ID,
          Name: 'web',
          ImageName: 'localhost/web:1',
          StaticDir: `/var/lib/x|e touch ${marker}|`,
          GraphDriver: { Data: { UpperDir: '/var/lib/containers/storage/overlay/x/diff' } },
          Config: { CreateCommand: ['podman', 'run', '-d', '--name', 'web', 'localhost/web:1'] },
        },
      ]),
    );
    const info = JSON.stringify({
      store: { runRoot: '/run/containers/storage' },
      version: { Version: '4.3.1' },
    });
    for (const h of [src, dst]) writeFileSync(join(h.dir, 'podman_info_--format.out'), info);
    await expect(new PodmanDriver().prestage(context(src, dst, 'podman'))).rejects.toThrow(
      /^podman-src-\w+ reports srcStatic "\/var\/lib\/x\|e touch .*": not a plain absolute path, refused$/,
    );
    expect(dst.calls()).not.toContain('podman create');
  });

  it('a source that withholds its create command does not get the import path silently', async () => {
    const userdata = `/var/lib/containers/storage/overlay-containers/${ID}/userdata`;
    writeFileSync(
      join(src.dir, 'podman_container_inspect.out'),
      JSON.stringify([
        {
          Id: ID,
          Name: 'web',
          ImageName: 'localhost/web:1',
          StaticDir: userdata,
          GraphDriver: { Data: { UpperDir: '/var/lib/containers/storage/overlay/x/diff' } },
          Config: { CreateCommand: null },
          Mounts: [{ Type: 'bind', Source: '/etc', Destination: '/host-etc' }],
        },
      ]),
    );
    const info = JSON.stringify({
      store: { runRoot: '/run/containers/storage' },
      version: { Version: '4.3.1' },
    });
    for (const h of [src, dst]) writeFileSync(join(h.dir, 'podman_info_--format.out'), info);
    writeFileSync(join(dst.dir, 'podman_image_exists.out'), '');
    await expect(new PodmanDriver().prestage(context(src, dst, 'podman'))).rejects.toThrow(
      /web cannot be pre-created on podman-dst-\w+ \(no recorded create command\); --restore-path import restores it/,
    );
    // asked for, the import path still refuses a bind of a host system path
    await expect(
      new PodmanDriver().prestage(context(src, dst, 'podman', { restorePath: 'import' })),
    ).rejects.toThrow(
      /would be restored on podman-dst-\w+ with a bind mount of \/etc: refused unless allowed with --allow bind:\/etc/,
    );
  });

  it("the import path checks the archive's spec.dump before restore --import", async () => {
    for (const [theirs, refused] of [
      [spec(), null],
      [spec({ hooks: { prestart: [{ path: '/bin/sh' }] } }), /OCI hooks/],
      [
        spec({ mounts: [{ destination: '/r', type: 'bind', source: '/root', options: ['rbind'] }] }),
        /a bind mount of \/root/,
      ],
    ] as const) {
      const dir = join(dst.dir, `ckpt-${Math.random().toString(36).slice(2)}`);
      mkdirSync(join(dir, 'tar'), { recursive: true });
      writeFileSync(
        join(dir, 'tar', 'spec.dump'),
        theirs.replaceAll('@STATIC@', `/x/overlay-containers/${ID}/userdata`),
      );
      spawnSync('tar', ['-cf', join(dir, 'checkpoint.tar'), '-C', join(dir, 'tar'), 'spec.dump']);
      const ctx = context(src, dst, 'podman');
      Object.assign(ctx.state, {
        path: 'import',
        tmpDst: dir,
        srcStatic: `/x/overlay-containers/${ID}/userdata`,
        specBinds: JSON.stringify(['/srv/data']),
        specCaps: CAPS.join(','),
        specSeccomp: true,
      });
      writeFileSync(join(dst.dir, 'podman_container_restore_--import.out'), '');
      const seen = dst.calls().length;
      if (refused) {
        await expect(new PodmanDriver().restore(ctx)).rejects.toThrow(refused);
        expect(dst.calls().slice(seen)).not.toContain('restore --import');
      } else {
        await new PodmanDriver().restore(ctx);
        expect(dst.calls()).toContain(`podman container restore --import ${dir}/checkpoint.tar`);
      }
    }
  });

  it('a checkpointed spec with a prestart hook, a bind of /, the host pid namespace, more capabilities, no confinement or a device is refused before restore', async () => {
    const srcStatic = '/var/lib/containers/storage/overlay-containers/x/userdata';
    for (const [theirs, what] of [
      [
        spec({ hooks: { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}`] }] } }),
        /OCI hooks/,
      ],
      [
        spec({
          mounts: [{ destination: '/host', type: 'bind', source: '/', options: ['rbind'] }],
        }),
        /a bind mount of \/[ ,:]/,
      ],
      [
        spec({}, { namespaces: [{ type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] }),
        /the host's pid namespace/,
      ],
      [spec({ process: { capabilities: { bounding: [...CAPS, 'CAP_SYS_ADMIN'] } } }), /capability SYS_ADMIN/],
      [spec({}, { seccomp: undefined, maskedPaths: [] }), /no seccomp filter/],
      [spec({}, { devices: [{ path: '/dev/sda' }] }), /host device \/dev\/sda/],
      [spec({}, { maskedPaths: [] }), /unmasked \/proc and \/sys paths/],
    ] as const) {
      const { ctx } = afterTransfer(srcStatic, theirs);
      await expect(new PodmanDriver().restore(ctx)).rejects.toThrow(what);
      expect(dst.calls()).not.toContain('podman container restore');
    }
  });
});

describe('an image archive from a hostile source', () => {
  /** A docker-archive as `save` writes it, with the tags the source chose. */
  function archive(name: string, repoTags: string[], repositories?: Record<string, Record<string, string>>) {
    const dir = join(root, `archive-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'c.json', RepoTags: repoTags, Layers: [] }]),
    );
    writeFileSync(join(dir, 'c.json'), '{}');
    if (repositories) writeFileSync(join(dir, 'repositories'), JSON.stringify(repositories));
    const file = join(root, `${name}.tar`);
    spawnSync('tar', ['-cf', file, '-C', dir, '.']);
    return file;
  }
  const dst = localHost('image-dst');

  it('is loaded only when it tags the image asked for and nothing else', async () => {
    await checkImageArchive(
      dst,
      archive('ok', ['localhost/web:1'], { 'localhost/web': { '1': 'abc' } }),
      'localhost/web:1',
      'src',
    );
    await checkImageArchive(dst, archive('untagged', ['web:latest']), 'web', 'src');
    await expect(
      checkImageArchive(
        dst,
        archive('extra', ['localhost/web:1', 'docker.io/library/nginx:latest']),
        'localhost/web:1',
        'src',
      ),
    ).rejects.toThrow(
      'src: the archive sent for image localhost/web:1 would tag ["localhost/web:1","docker.io/library/nginx:latest"]: not loaded on image-dst',
    );
    await expect(
      checkImageArchive(
        dst,
        archive('legacy', ['localhost/web:1'], { 'docker.io/library/nginx': { latest: 'abc' } }),
        'localhost/web:1',
        'src',
      ),
    ).rejects.toThrow(/would tag \["docker.io\/library\/nginx:latest"\]/);
    await expect(
      checkImageArchive(dst, archive('other', ['localhost/other:1']), 'localhost/web:1', 'src'),
    ).rejects.toThrow(/would tag/);
  });
});

describe('secrets stay out of errors, the journal and NDJSON', () => {
  it('a failed command is named by its first two words, never its arguments', async () => {
    const argv = ['podman', 'create', '-e', 'DB_PASSWORD=hunter2', 'img'];
    expect(commandName(shellQuoteArgv(argv))).toBe('podman create');
    expect(commandName(`exec ${shellQuoteArgv(['sh', '-c', 'echo hunter2'])}`)).toBe('sh -c');
    const host = localHost('errors');
    // a command that fails silently: the error falls back to naming the command
    const err = await must(host, ['sh', '-c', 'exit 3', 'DB_PASSWORD=hunter2'], 'creating it').catch(
      (e: Error) => e,
    );
    expect(String(err)).toMatch(/errors: creating it failed \(exit 3\): sh -c$/);
    expect(String(err)).not.toContain('hunter2');
  });
});
