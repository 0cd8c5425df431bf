// The entry: small on purpose. `--version` and `--help` are answered from
// here; everything else is loaded only when needed (dist/ has it in chunks),
// compiled once and then taken from V8's code cache (Node's compile cache).
// a namespace import: a Node without enableCompileCache still starts (and says it is too old)
import * as nodeModule from 'node:module';
import { drawSkeleton, leaveSkeleton, opensTui, stderrAfterSkeleton } from './skeleton.ts';
import { quickAnswer } from './usage.ts';

const argv = process.argv.slice(2);
const quick = quickAnswer(argv);
if (quick !== null) {
  process.stdout.write(quick);
} else {
  // the cache lives in Node's usual place (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE)
  if (process.env.NODE_DISABLE_COMPILE_CACHE === undefined) nodeModule.enableCompileCache?.();
  // the TUI's first frame now, while ink and the rest load
  const tui = opensTui(argv) && process.stdout.isTTY && process.stdin.isTTY;
  if (tui) drawSkeleton(argv, process.stdout);
  const { runCliAsync } = await import('./main.ts');
  const err = tui ? stderrAfterSkeleton(process.stdout, process.stderr) : process.stderr;
  const code = await runCliAsync(argv, process.stdout, err);
  if (tui) leaveSkeleton(process.stdout);
  process.exitCode = code;
  // Everything is said and done: a handle something left open (a socket still
  // closing, a terminal stream) must not keep ferry running in a script.
  setTimeout(() => {
    if (process.env.FERRY_TIMING === '1')
      process.stderr.write(`ferry: still open at exit: ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(code);
  }, 2000).unref();
}
