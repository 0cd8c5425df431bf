import { parseArgs } from 'node:util';
import { migrateCommand, recoverCommand, UsageError } from './migrate.ts';
import { describeConfigError, formatResolveView, resolveView } from './ssh-config.ts';
import { VERSION } from './version.ts';

export const USAGE = `ferry ${VERSION}: live-migrate groups of containers between hosts over SSH with CRIU

Usage:
  ferry [options]                       open the terminal UI
  ferry migrate --containers H:NAME[,...] --to HOST --yes
                                        live-migrate containers (headless)
  ferry recover [--journal FILE]        settle runs interrupted by a crash or a lost link
  ferry ssh-config resolve HOST         show how ferry resolves HOST from the ssh config
  ferry --version                       print the version
  ferry --help                          print this help

Options:
  -F <file>                  ssh config file, replacing ~/.ssh/config and /etc/ssh/ssh_config (as ssh -F)
  --json                     machine-readable output where a command supports it
  --containers LIST          host:name or host:podman/name, comma-separated
  --to HOST                  destination host
  --strategy S               sequential | pipelined | parallel | auto (default auto)
  --compress C               auto | none | zstd (default auto: by measured link speed)
  --restore-path P           auto | precreate | import (podman)
  --keep-source              keep the stopped source container
  --consistent-cut           pause every member before checkpointing any
  --events ndjson            every engine event as a JSON line on stdout
  --yes                      do it (migrate refuses to run without it)
  -h, --help                 show this help
  -V, --version              show the version

Examples:
  ferry ssh-config resolve gamma -F /var/lib/ferry-lab/ssh_config
  ferry ssh-config resolve db1 --json | jq .config.proxyJump
  ferry migrate --containers alpha:wf-sink-1,alpha:wf-producer-1 --to beta --yes
  ferry migrate --containers alpha:wf-sink-1 --to beta --yes --events ndjson | jq -c .
  ferry recover -F ~/.ssh/config
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
      containers: { type: 'string' },
      to: { type: 'string' },
      strategy: { type: 'string' },
      compress: { type: 'string' },
      'restore-path': { type: 'string' },
      'keep-source': { type: 'boolean' },
      'consistent-cut': { type: 'boolean' },
      events: { type: 'string' },
      journal: { type: 'string' },
      yes: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
}

/** Commands that do I/O over time (migrate, recover); the rest go through runCli. */
export async function runCliAsync(
  argv: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  let parsed: ReturnType<typeof parse> | undefined;
  try {
    parsed = parse(argv);
  } catch {
    parsed = undefined;
  }
  const command = parsed?.positionals[0];
  if (
    !parsed ||
    parsed.values.help ||
    parsed.values.version ||
    (command !== 'migrate' && command !== 'recover')
  ) {
    const r = runCli(argv);
    out.write(r.stdout);
    err.write(r.stderr);
    return r.code;
  }
  const v = parsed.values;
  try {
    if (command === 'recover') return await recoverCommand(v.config, v.journal, out);
    if (!v.containers || !v.to) throw new UsageError('migrate needs --containers and --to');
    if (!v.yes) throw new UsageError('migrate changes running systems: add --yes to do it');
    if (v.events !== undefined && v.events !== 'ndjson') throw new UsageError('--events takes ndjson');
    return await migrateCommand(
      {
        containers: v.containers,
        to: v.to,
        configFile: v.config,
        strategy: v.strategy,
        compress: v.compress,
        events: v.events,
        keepSource: v['keep-source'] ?? false,
        consistentCut: v['consistent-cut'] ?? false,
        restorePath: v['restore-path'],
      },
      out,
      err,
    );
  } catch (e) {
    if (v.debug && e instanceof Error) err.write(`${e.stack}\n`);
    err.write(`ferry: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
