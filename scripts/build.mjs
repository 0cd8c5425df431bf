// Bundles the CLI into one ESM file, dist/ferry.mjs, that the demo, the
// end-to-end tests and (later) the single-binary build all run.
import { chmod } from 'node:fs/promises';
import { build } from 'esbuild';

const quiet = process.argv.includes('--quiet');
const started = performance.now();
await build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/ferry.mjs',
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
});
await chmod('dist/ferry.mjs', 0o755);
if (!quiet) console.log(`built dist/ferry.mjs in ${Math.round(performance.now() - started)} ms`);
