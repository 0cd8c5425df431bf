// Bundles the CLI into dist/ferry.mjs, the small entry that the demo, the
// end-to-end tests and the single-binary build run, plus dist/chunks/*.mjs:
// the rest, split at its dynamic imports, loaded only when a command needs it
// (`--version` and `--help` load none of it; the TUI's ink only for the TUI).
import { chmod, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const quiet = process.argv.includes('--quiet');
const started = performance.now();
// chunks are named by content hash: the old ones would pile up
await rm('dist/chunks', { recursive: true, force: true });
const common = {
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  jsx: 'automatic',
  // ssh2 tries these native speed-ups inside try/catch; ferry runs on its pure-JS path
  external: ['cpu-features', '*.node'],
  // ink loads React DevTools only when DEV=true and react-devtools-core is installed; a static
  // import inside would otherwise become a top-level import of a package the bundle lacks
  plugins: [
    {
      // the entry loads the rest as dist/chunks/main.mjs, built on its own (below)
      name: 'entry-loads-main',
      setup(b) {
        b.onResolve({ filter: /^\.\/main\.ts$/ }, (a) =>
          a.importer.endsWith('src/cli/index.ts') ? { path: './chunks/main.mjs', external: true } : undefined,
        );
      },
    },
    {
      name: 'ink-without-devtools',
      setup(b) {
        b.onResolve({ filter: /^\.\/devtools\.js$/ }, (a) =>
          a.importer.includes('/ink/') ? { path: 'ink-devtools', namespace: 'ferry-stub' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'ferry-stub' }, () => ({ contents: 'export {};' }));
      },
    },
  ],
  // bundled CommonJS dependencies (ssh2) call require() for node builtins
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __ferryCreateRequire } from 'node:module';",
      "import { fileURLToPath as __ferryPath } from 'node:url';",
      'const require = __ferryCreateRequire(import.meta.url);',
      'const __filename = __ferryPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join('\n'),
  },
  logLevel: quiet ? 'warning' : 'info',
};
// the rest: main.mjs and the chunks it loads when needed (the TUI's ink only for the TUI)
await build({
  ...common,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/chunks',
  splitting: true,
  chunkNames: '[name]-[hash]',
});
// the entry on its own, with nothing shared: --version and --help read one small file
await build({ ...common, entryPoints: { ferry: 'src/cli/index.ts' }, outdir: 'dist' });
await chmod('dist/ferry.mjs', 0o755);
if (!quiet) console.log(`built dist/ferry.mjs in ${Math.round(performance.now() - started)} ms`);
