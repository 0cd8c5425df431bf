// npm run build:bin: dist/ferry, one executable with Node inside, for
// machines without node. @yao-pkg/pkg in SEA mode injects a small CommonJS
// main (seaMain below) into the pinned Node binary; that main carries the
// ESM entry dist/ferry.mjs and its chunks (dist/chunks) as strings and imports
// the entry through the default ESM loader, so top-level await works. Offline: pkg's download of Node is
// skipped by seeding a private pkg cache with the pinned binary, stripped.
// linux-x64 is built from node_modules/node; the other linux arch
// (dist/ferry-linux-arm64 on an x64 host) from the npm package
// node-linux-<arch> of the same version, or skipped with the reason.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
} from 'node:fs';
import { appendFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const started = performance.now();
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`;
const ARCHS = ['x64', 'arm64'];
// ELF e_machine values, to check a binary really is for the arch it claims
const ELF_MACHINE = { x64: 62, arm64: 183 };

if (process.platform !== 'linux' || !ARCHS.includes(process.arch)) {
  console.error(
    `build-bin: builds on linux-x64 or linux-arm64 only (this is ${process.platform}-${process.arch})`,
  );
  process.exit(1);
}

// The pinned Node: node_modules/node/bin/node is the real binary (the `node`
// package installs node-linux-<arch> and links it there), not a shim.
const nodePkgDir = dirname(require.resolve('node/package.json'));
const version = JSON.parse(readFileSync(join(nodePkgDir, 'package.json'), 'utf8')).version;
const pinnedNode = realpathSync(join(nodePkgDir, 'bin', 'node'));
const pinnedVersion = execFileSync(pinnedNode, ['--version']).toString().trim();
if (pinnedVersion !== `v${version}` || elfMachine(pinnedNode) !== ELF_MACHINE[process.arch]) {
  console.error(`build-bin: ${pinnedNode} is ${pinnedVersion}, not a linux-${process.arch} Node ${version}`);
  process.exit(1);
}
const { version: ferryVersion } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function elfMachine(path) {
  const head = Buffer.alloc(20);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  return head.readUInt32BE(0) === 0x7f454c46 ? head.readUInt16LE(18) : -1;
}

function run(cmd, args, opts = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) ok(out);
      else fail(new Error(`${cmd} ${args.join(' ')}: ${signal ?? `exit ${code}`}\n${out.trim()}`));
    });
  });
}

/**
 * The SEA main, serialized with toString(). Node 24 runs it as CommonJS
 * whose require() sees only builtins. The bundle is served under the
 * executable's own file URL by in-thread module hooks, so import.meta.url,
 * createRequire and __dirname in its banner work unchanged; anything but a
 * builtin is refused, so the binary never picks up modules from the disk
 * around it (ssh2 then takes its pure-JS path, as in the development build).
 */
function seaMain(entrySource) {
  const { registerHooks, isBuiltin, enableCompileCache } = require('node:module');
  const { pathToFileURL } = require('node:url');
  const fs = require('node:fs');
  const vm = require('node:vm');
  const entry = pathToFileURL(process.execPath).href;
  // the chunks (./chunks/... beside the entry) sit after the executable's end,
  // read only when imported: a string in this main would be parsed at every start
  const chunks = new Map();
  const fd = fs.openSync(process.execPath, 'r');
  const size = fs.fstatSync(fd).size;
  const tail = Buffer.alloc(16);
  fs.readSync(fd, tail, 0, 16, size - 16);
  if (tail.toString('latin1', 8) === 'FERRYCH1') {
    const indexBytes = Number(tail.readBigUInt64LE(0));
    const index = Buffer.alloc(indexBytes);
    fs.readSync(fd, index, 0, indexBytes, size - 16 - indexBytes);
    for (const [rel, [offset, length]] of Object.entries(JSON.parse(index.toString('utf8'))))
      chunks.set(new URL(rel, entry).href, { offset, length });
  }
  const chunkSource = (url) => {
    const c = chunks.get(url);
    const buf = Buffer.alloc(c.length);
    fs.readSync(fd, buf, 0, c.length, c.offset);
    return buf.toString('utf8');
  };
  // V8's code cache for the bundle in Node's usual place (os.tmpdir()/node-compile-cache),
  // as npm and tsc do: a fifth of `ferry --version` is compiling it
  enableCompileCache();
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === entry) return { url: entry, format: 'module', shortCircuit: true };
      if (isBuiltin(specifier)) return next(specifier, context);
      if (context.parentURL && /^\.\.?\//.test(specifier)) {
        const url = new URL(specifier, context.parentURL).href;
        if (chunks.has(url)) return { url, format: 'module', shortCircuit: true };
      }
      const err = new Error(`Cannot find module '${specifier}' (the ferry binary loads none from disk)`);
      throw Object.assign(err, { code: 'MODULE_NOT_FOUND' });
    },
    load(url, context, next) {
      if (url === entry) return { format: 'module', source: entrySource, shortCircuit: true };
      if (chunks.has(url)) return { format: 'module', source: chunkSource(url), shortCircuit: true };
      return next(url, context);
    },
  });
  // import() from the SEA main itself only reaches builtins; a script compiled
  // with the main context's default loader gets the full ESM loader. Its one
  // ExperimentalWarning is emitted synchronously here and dropped.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning?.message ?? warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    return emitWarning.call(this, warning, ...rest);
  };
  let loaded;
  try {
    loaded = new vm.Script(`import(${JSON.stringify(entry)})`, {
      filename: 'ferry-sea-main',
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }).runInThisContext();
  } finally {
    process.emitWarning = emitWarning;
  }
  loaded.catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

/** Copies `src` to `dst` without symbols and debug info; unstripped when no strip tool handles the arch. */
async function stripInto(src, dst, arch) {
  // GNU strip handles a foreign arch only as generic ELF; llvm-strip knows them all
  const tools = arch === process.arch ? ['strip', 'llvm-strip'] : ['llvm-strip', 'strip'];
  for (const tool of tools) {
    try {
      await run(tool, ['--strip-all', '-o', dst, src]);
      return true;
    } catch {
      // not installed, or it does not know this arch: try the next
    }
  }
  copyFileSync(src, dst);
  return false;
}

/** The node binary of `arch` at the pinned version: the pinned one, or npm's node-linux-<arch>. */
async function nodeBinary(arch, work) {
  if (arch === process.arch) return pinnedNode;
  const pkg = `node-linux-${arch}@${version}`;
  // npm checks the tarball against the registry's integrity hash and caches
  // it; an unreachable registry fails in seconds, not after a minute of retries
  const retries = ['--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=5000'];
  const args = ['pack', pkg, '--prefer-offline', '--loglevel=error', ...retries, '--pack-destination', work];
  const out = await run('npm', args, { timeoutMs: 120_000 });
  const name = out.trim().split('\n').at(-1);
  await run('tar', ['-xzf', join(work, name), '-C', work, 'package/bin/node']);
  const bin = join(work, 'package', 'bin', 'node');
  if (elfMachine(bin) !== ELF_MACHINE[arch]) throw new Error(`${pkg} holds no linux-${arch} ELF binary`);
  return bin;
}

/**
 * pkg fetches Node from nodejs.org unless its cache already has it:
 * ~/.pkg-cache/sea/node-vX.Y.Z-linux-ARCH.tar.gz with a `.ok` beside it
 * skips the download, node-vX.Y.Z-linux-ARCH/bin/node with `node.ok` skips
 * extracting that archive (never read then, so it is left empty). HOME
 * points pkg at a cache of our own, so the user's ~/.pkg-cache is untouched.
 */
async function seedPkgCache(home, arch, bin) {
  const sea = join(home, '.pkg-cache', 'sea');
  const base = `node-v${version}-linux-${arch}`;
  mkdirSync(join(sea, base, 'bin'), { recursive: true });
  const seeded = join(sea, base, 'bin', 'node');
  const isStripped = await stripInto(bin, seeded, arch);
  for (const f of [`${base}.tar.gz`, `${base}.tar.gz.ok`, `${base}/bin/node.ok`])
    await writeFile(join(sea, f), '');
  return { isStripped, seededBytes: (await stat(seeded)).size };
}

/**
 * dist/chunks/*.mjs after the executable's end: the chunks, a JSON index
 * { "chunks/NAME": [offset, length] }, its length (u64 LE) and 'FERRYCH1'.
 * The ELF loader and Node's SEA lookup ignore bytes after the image.
 */
async function appendChunks(output) {
  const dir = join(root, 'dist', 'chunks');
  let offset = (await stat(output)).size;
  const parts = [];
  const index = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.mjs')).sort()) {
    const data = await readFile(join(dir, name));
    index[`chunks/${name}`] = [offset, data.length];
    parts.push(data);
    offset += data.length;
  }
  const indexBytes = Buffer.from(JSON.stringify(index), 'utf8');
  const tail = Buffer.alloc(16);
  tail.writeBigUInt64LE(BigInt(indexBytes.length), 0);
  tail.write('FERRYCH1', 8, 'latin1');
  await appendFile(output, Buffer.concat([...parts, indexBytes, tail]));
}

/** `--version` of a built binary: directly on its own arch, under qemu-user for the other one if installed. */
async function smokeTest(arch, output) {
  const expected = `ferry ${ferryVersion}`;
  const cpu = arch === 'arm64' ? 'aarch64' : 'x86_64';
  const sysroot = `/usr/${cpu}-linux-gnu`;
  let out;
  let how = 'runs';
  if (arch === process.arch) out = await run(output, ['--version'], { env: {} });
  else if (!existsSync(sysroot)) return `not run here (no ${sysroot} for qemu-${cpu})`;
  else {
    try {
      // no compile cache: it would leave an arm64 cache in this machine's tmpdir
      const env = { NODE_DISABLE_COMPILE_CACHE: '1' };
      out = await run(`qemu-${cpu}`, ['-L', sysroot, output, '--version'], { env, timeoutMs: 60_000 });
      how = `runs under qemu-${cpu}`;
    } catch (err) {
      if (err.code === 'ENOENT') return `not run here (no qemu-${cpu})`;
      throw err;
    }
  }
  if (out.trim() !== expected)
    throw new Error(`${output} --version printed '${out.trim()}', not '${expected}'`);
  return how;
}

async function buildTarget(arch, work, mainPath) {
  const output = join(root, 'dist', arch === process.arch ? 'ferry' : `ferry-linux-${arch}`);
  await rm(output, { force: true });
  const home = join(work, `home-${arch}`);
  let bin;
  try {
    bin = await nodeBinary(arch, work);
  } catch (err) {
    return { skipped: `no linux-${arch} Node ${version} obtainable: ${err.message}` };
  }
  const { isStripped, seededBytes } = await seedPkgCache(home, arch, bin);
  await run(
    pinnedNode,
    [
      require.resolve('@yao-pkg/pkg/lib-es5/bin.js'),
      '--sea',
      '--targets',
      `node${version}-linux-${arch}`,
      '--output',
      output,
      mainPath,
    ],
    { env: { ...process.env, HOME: home }, timeoutMs: 300_000 },
  );
  await appendChunks(output);
  chmodSync(output, 0o755);
  return {
    output,
    nodeBytes: (await stat(bin)).size,
    seededBytes,
    bytes: (await stat(output)).size,
    isStripped,
    smoke: await smokeTest(arch, output),
  };
}

const work = mkdtempSync(join(tmpdir(), 'ferry-bin-'));
try {
  execFileSync(pinnedNode, [join(root, 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit', cwd: root });
  const entrySource = await readFile(join(root, 'dist', 'ferry.mjs'), 'utf8');
  const mainPath = join(work, 'sea-main.cjs');
  await writeFile(mainPath, `'use strict';\n(${seaMain.toString()})(${JSON.stringify(entrySource)});\n`);

  const results = await Promise.allSettled(ARCHS.map((arch) => buildTarget(arch, work, mainPath)));
  let failed = false;
  for (const [i, r] of results.entries()) {
    const arch = ARCHS[i];
    if (r.status === 'rejected') {
      console.error(
        `build-bin: linux-${arch} FAILED: ${r.reason instanceof Error ? r.reason.message : r.reason}`,
      );
      failed = true;
    } else if (r.value.skipped) {
      console.log(`build-bin: linux-${arch} SKIPPED, ${r.value.skipped}`);
    } else {
      const { output, bytes, nodeBytes, seededBytes, isStripped, smoke } = r.value;
      const size = isStripped
        ? `${MB(bytes)} (${MB(bytes - seededBytes + nodeBytes)} unstripped: Node ${MB(nodeBytes)} -> ${MB(seededBytes)})`
        : `${MB(bytes)} (Node NOT stripped: no strip tool for ${arch})`;
      console.log(
        `built ${output.slice(root.length + 1)} (linux-${arch}, node ${version}): ${size}; --version ${smoke}`,
      );
    }
  }
  console.log(
    `build-bin: ${failed ? 'FAILED' : 'done'} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  process.exitCode = failed ? 1 : 0;
} finally {
  await rm(work, { recursive: true, force: true });
}
