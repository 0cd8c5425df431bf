import { parseArgs } from 'node:util';
import { errorText } from '../text/error.ts';
import { guardTerminal } from '../text/sanitize.ts';
import { hostsCommand, psCommand, resolveHostList } from './inventory.ts';
import { migrateCommand, recoverCommand } from './migrate.ts';
import { planCommand } from './plan-command.ts';
import { commaList, type MigrateArgs } from './request.ts';
import { describeConfigError, formatResolveView, resolveView } from './ssh-config.ts';
import { USAGE, UsageError } from './usage.ts';
import { VERSION } from './version.ts';

export { USAGE };

export type CliResult = { code: number; stdout: string; stderr: string };

const fail = (message: string, hint?: string): CliResult => ({
  code: 1,
  stdout: '',
  stderr: `ferry: ${message}\n${hint ? `hint: ${hint}\n` : ''}`,
});

type Parsed = ReturnType<typeof parse>;

/** argv parsed, or the usage error to print (with the usage) when it cannot be. */
function parseCli(argv: string[]): { parsed: Parsed } | { result: CliResult } {
  try {
    return { parsed: parse(argv) };
  } catch (err) {
    return { result: { code: 1, stdout: '', stderr: `ferry: ${errorText(err)}\n\n${USAGE}` } };
  }
}

/**
 * What is answered without I/O over time: --help, --version, ssh-config and
 * an unknown command. undefined: the TUI, --plan or an ASYNC_COMMANDS command.
 */
function answerNow({ values, positionals }: Parsed): CliResult | undefined {
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
  if (command !== undefined && !ASYNC_COMMANDS.has(command))
    return fail(`unknown command '${command}'`, 'see ferry --help');
  return undefined;
}

/**
 * Pure entry for what needs no I/O (usage errors, --help, --version,
 * ssh-config): parses argv and returns what to print, so tests need no process.
 */
export function runCli(argv: string[]): CliResult {
  const p = parseCli(argv);
  if ('result' in p) return p.result;
  const r = answerNow(p.parsed);
  if (!r) throw new Error('runCli answers only what needs no I/O: runCliAsync runs the TUI and the commands');
  return r;
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
      jump: { type: 'string', short: 'J' },
      hosts: { type: 'string' },
      plan: { type: 'boolean' },
      containers: { type: 'string' },
      group: { type: 'string' },
      'compose-project': { type: 'string' },
      host: { type: 'string' },
      to: { type: 'string' },
      map: { type: 'string' },
      strategy: { type: 'string' },
      compress: { type: 'string' },
      'restore-path': { type: 'string' },
      transfer: { type: 'string' },
      'keep-source': { type: 'boolean' },
      allow: { type: 'string', multiple: true },
      'consistent-cut': { type: 'boolean' },
      'tcp-established': { type: 'boolean' },
      'tcp-close': { type: 'boolean' },
      'new-address': { type: 'boolean' },
      events: { type: 'string' },
      journal: { type: 'string' },
      yes: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
}

const ASYNC_COMMANDS = new Set(['migrate', 'recover', 'hosts', 'ps']);

const hostList = (flag: string | undefined) => (flag === undefined ? undefined : commaList(flag));

/** The whole command line: argv parsed once; what runCli answers, else the TUI, --plan or a command doing I/O over time. */
export async function runCliAsync(
  argv: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  // whatever a host said, it reaches the terminal as text (src/text/sanitize.ts); the
  // TUI draws with escape sequences of its own on stdout, and cleans its host text itself
  guardTerminal(err);
  const print = (r: CliResult) => {
    guardTerminal(out);
    out.write(r.stdout);
    err.write(r.stderr);
    return r.code;
  };
  const p = parseCli(argv);
  if ('result' in p) return print(p.result);
  const now = answerNow(p.parsed);
  if (now) return print(now);
  const v = p.parsed.values;
  const command = p.parsed.positionals[0];
  if (command !== undefined || v.plan) guardTerminal(out);
  try {
    const common = { configFile: v.config, jump: v.jump };
    if (command === 'recover') return await recoverCommand({ ...common, journal: v.journal }, out);
    if (command === 'hosts' || command === 'ps') {
      const hosts = hostList(v.hosts);
      const a = {
        ...(v.config ? { configFile: v.config } : {}),
        ...(v.jump ? { jump: v.jump } : {}),
        ...(hosts ? { hosts } : {}),
        json: v.json ?? false,
      };
      return await (command === 'hosts' ? hostsCommand(a, out, err) : psCommand(a, out, err));
    }
    if (command === undefined && !v.plan) {
      const list = resolveHostList({ configFile: v.config, hosts: hostList(v.hosts) });
      if (!list.ok) throw new UsageError(list.errors.join('; '));
      // loaded only for the TUI: ink and its layout engine cost ~60 ms at start-up
      const { startTui } = await import('./tui.ts');
      return await startTui({
        configFile: v.config,
        jump: v.jump,
        hosts: list.hosts,
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: err,
      });
    }
    if (v.events !== undefined && v.events !== 'ndjson') throw new UsageError('--events takes ndjson');
    const args: MigrateArgs = {
      ...common,
      group: {
        containers: v.containers,
        group: v.group,
        composeProject: v['compose-project'],
        host: v.host,
        to: v.to,
        map: v.map,
      },
      strategy: v.strategy,
      compress: v.compress,
      events: v.events,
      keepSource: v['keep-source'] ?? false,
      allow: (v.allow ?? []).flatMap((x) => commaList(x)),
      consistentCut: v['consistent-cut'] ?? false,
      tcpEstablished: v['tcp-established'] ?? false,
      tcpClose: v['tcp-close'] ?? false,
      newAddress: v['new-address'] ?? false,
      restorePath: v['restore-path'],
      transfer: v.transfer,
    };
    if (command === undefined) return await planCommand({ ...args, json: v.json ?? false }, out, err);
    if (!v.yes)
      throw new UsageError(
        'migrate changes running systems: add --yes to do it (or see it first with --plan)',
      );
    return await migrateCommand(args, out, err);
  } catch (e) {
    if (v.debug && e instanceof Error) err.write(`${e.stack}\n`);
    err.write(`ferry: ${errorText(e)}\n`);
    const hint = e instanceof UsageError ? 'see ferry --help' : (e as { hint?: unknown }).hint;
    if (typeof hint === 'string') err.write(`hint: ${hint}\n`);
    return 1;
  }
}
