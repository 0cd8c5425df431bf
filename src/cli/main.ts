import { parseArgs } from 'node:util';
import { describeConfigError, formatResolveView, resolveView } from './ssh-config.ts';
import { VERSION } from './version.ts';

export const USAGE = `ferry ${VERSION}: live-migrate groups of containers between hosts over SSH with CRIU

Usage:
  ferry [options]                       open the terminal UI
  ferry ssh-config resolve HOST         show how ferry resolves HOST from the ssh config
  ferry --version                       print the version
  ferry --help                          print this help

Options:
  -F <file>                  ssh config file, replacing ~/.ssh/config and /etc/ssh/ssh_config (as ssh -F)
  --json                     machine-readable output where a command supports it
  -h, --help                 show this help
  -V, --version              show the version

Examples:
  ferry ssh-config resolve gamma -F /var/lib/ferry-lab/ssh_config
  ferry ssh-config resolve db1 --json | jq .config.proxyJump
`;

export type CliResult = { code: number; stdout: string; stderr: string };

const fail = (message: string, hint?: string): CliResult => ({
  code: 1,
  stdout: '',
  stderr: `ferry: ${message}\n${hint ? `hint: ${hint}\n` : ''}`,
});

/** Pure entry: parses argv and returns what to print, so tests need no process. */
export function runCli(argv: string[]): CliResult {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { code: 1, stdout: '', stderr: `ferry: ${message}\n\n${USAGE}` };
  }
  const { values, positionals } = parsed;
  if (values.help) return { code: 0, stdout: USAGE, stderr: '' };
  if (values.version) return { code: 0, stdout: `ferry ${VERSION}\n`, stderr: '' };
  const [command, sub, host, ...rest] = positionals;
  if (command === 'ssh-config') {
    if (sub !== 'resolve' || !host || rest.length > 0) {
      return fail('usage: ferry ssh-config resolve HOST [-F file] [--json]');
    }
    try {
      const view = resolveView(host, values.config);
      return {
        code: 0,
        stdout: values.json ? `${JSON.stringify(view, null, 2)}\n` : formatResolveView(view),
        stderr: '',
      };
    } catch (err) {
      return fail(
        `cannot resolve ${host}: ${describeConfigError(err)}`,
        'check the file and line named above',
      );
    }
  }
  if (command !== undefined) return fail(`unknown command '${command}'`, 'see ferry --help');
  return fail('the terminal UI is not built yet', 'try ferry --help');
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
      json: { type: 'boolean' },
    },
  });
}
