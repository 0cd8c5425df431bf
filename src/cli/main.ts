import { parseArgs } from 'node:util';
import { VERSION } from './version.ts';

export const USAGE = `ferry ${VERSION}: live-migrate groups of containers between hosts over SSH with CRIU

Usage:
  ferry [options]            open the terminal UI
  ferry --version            print the version
  ferry --help               print this help

Options:
  -F <file>                  ssh config file (as ssh -F)
  -h, --help                 show this help
  -V, --version              show the version

Examples:
  ferry -F ~/.ssh/config     use a specific ssh config
`;

export type CliResult = { code: number; stdout: string; stderr: string };

/** Pure entry: parses argv and returns what to print, so tests need no process. */
export function runCli(argv: string[]): CliResult {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { code: 1, stdout: '', stderr: `ferry: ${message}\n\n${USAGE}` };
  }
  if (parsed.values.help) return { code: 0, stdout: USAGE, stderr: '' };
  if (parsed.values.version) return { code: 0, stdout: `ferry ${VERSION}\n`, stderr: '' };
  return {
    code: 1,
    stdout: '',
    stderr: 'ferry: the terminal UI is not built yet; try --help\n',
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
      config: { type: 'string', short: 'F' },
    },
  });
}
