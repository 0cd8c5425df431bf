import { runCliAsync } from './main.ts';

process.exitCode = await runCliAsync(process.argv.slice(2), process.stdout, process.stderr);
