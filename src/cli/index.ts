import { runCliAsync } from './main.ts';

const code = await runCliAsync(process.argv.slice(2), process.stdout, process.stderr);
process.exitCode = code;
// Everything is said and done: a handle something left open (a socket still
// closing, a terminal stream) must not keep ferry running in a script.
setTimeout(() => {
  if (process.env.FERRY_TIMING === '1')
    process.stderr.write(`ferry: still open at exit: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit(code);
}, 2000).unref();
