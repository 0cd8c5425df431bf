// What the command line asks for: the group and its destinations (--containers,
// --group (saved groups), or --compose-project with --host; --to and --map),
// the migration's options (checked by a zod schema), and the SSH pool (-F, -J)
// to plan it through.

import { z } from 'zod';
import { parseAllow, standingAllow } from '../config/allow.ts';
import { formatGroupError, loadGroups, type SavedGroup } from '../config/groups.ts';
import { formatMemberSpec, type MemberSpec, parseMemberSpec } from '../config/member-spec.ts';
import { factsCacheDir, linkRatesFile } from '../config/paths.ts';
import { loadRates, saveRates } from '../migrate/link-rate.ts';
import { type MigrationPlan, type PlanDeps, planMigration } from '../migrate/survey.ts';
import { measureLink } from '../migrate/transfer.ts';
import {
  COMPRESSIONS,
  DEFAULT_OPTIONS,
  type MigrateOptions,
  type PlanRequest,
  RESTORE_PATHS,
  TRANSFER_MODES,
} from '../plan/migration.ts';
import { STRATEGIES } from '../plan/schedule.ts';
import { diskFactsCache, sshIdentity } from '../runtime/facts-cache.ts';
import { createSshPool, type SshPool } from '../ssh/index.ts';
import { errorText } from '../text/error.ts';
import { UsageError } from './usage.ts';

export interface GroupFlags {
  containers?: string | undefined;
  group?: string | undefined;
  composeProject?: string | undefined;
  host?: string | undefined;
  to?: string | undefined;
  /** host:name=dest[,...] */
  map?: string | undefined;
}

/** host:name or host:runtime/name, or a usage error naming the flag */
function parseMember(spec: string, where = '--containers'): MemberSpec {
  const m = parseMemberSpec(spec.trim());
  if (!m) throw new UsageError(`${where}: '${spec}' is not host:name or host:runtime/name`);
  return m;
}

/** a,b, c -> [a, b, c]: the value of a comma-separated flag */
export const commaList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** A saved group by name, or a usage error naming the file (and every problem in it, with line and column). */
function savedGroup(name: string, groupsFile?: string): SavedGroup {
  const r = loadGroups(groupsFile);
  if (!r.ok) throw new UsageError(r.errors.map(formatGroupError).join('\n'));
  const g = r.groups.find((x) => x.name === name);
  if (!g) {
    const known = r.groups.map((x) => x.name).join(', ');
    throw new UsageError(`no group named ${name} in ${r.path}${known ? ` (there are: ${known})` : ''}`);
  }
  return g;
}

export function planRequestFrom(f: GroupFlags, options: MigrateOptions, groupsFile?: string): PlanRequest {
  const sources = [f.containers, f.group, f.composeProject].filter((x) => x !== undefined).length;
  if (sources === 0)
    throw new UsageError(
      'name the group: --containers H:NAME,..., --group NAME, or --compose-project P --host H',
    );
  if (sources > 1) throw new UsageError('use one of --containers, --group and --compose-project');
  if (f.composeProject !== undefined && !f.host) throw new UsageError('--compose-project needs --host HOST');
  const destinations: Record<string, string> = {};
  for (const pair of commaList(f.map ?? '')) {
    const eq = pair.lastIndexOf('=');
    if (eq < 0) throw new UsageError(`--map: '${pair}' is not host:name=destination`);
    const member = parseMember(pair.slice(0, eq), '--map');
    const dest = pair.slice(eq + 1).trim();
    if (!dest) throw new UsageError(`--map: '${pair}' names no destination`);
    destinations[formatMemberSpec(member)] = dest;
  }
  const saved = f.group !== undefined ? savedGroup(f.group, groupsFile) : undefined;
  const where = saved ? `group ${saved.name}` : '--containers';
  const members = saved
    ? saved.members.map((s) => parseMember(s, where))
    : commaList(f.containers ?? '').map((s) => parseMember(s));
  if (f.containers !== undefined && members.length === 0)
    throw new UsageError('--containers needs host:name[,host:name...]');
  // the command line wins over what the group file says
  const to = f.to ?? saved?.to;
  const allDestinations = { ...saved?.destinations, ...destinations };
  if (!to && Object.keys(allDestinations).length === 0)
    throw new UsageError(
      saved
        ? `group ${saved.name} names no destination: add --to HOST (or to: in the group)`
        : 'name the destination: --to HOST, or --map host:name=dest,...',
    );
  const after = (saved?.after ?? []).map((e) => ({
    member: parseMember(e.member, where),
    after: parseMember(e.after, where),
    ...(e.note ? { note: e.note } : {}),
  }));
  return {
    members,
    ...(f.composeProject !== undefined && f.host
      ? { compose: { host: f.host, project: f.composeProject } }
      : {}),
    ...(to ? { to } : {}),
    ...(Object.keys(allDestinations).length > 0 ? { destinations: allDestinations } : {}),
    ...(after.length > 0 ? { after } : {}),
    // a group's allow list adds to the command line's
    options: saved?.allow?.length
      ? { ...options, allow: [...new Set([...options.allow, ...parseAllow(saved.allow)])] }
      : options,
  };
}

export interface MigrateArgs {
  group: GroupFlags;
  configFile: string | undefined;
  jump: string | undefined;
  strategy: string | undefined;
  compress: string | undefined;
  events: string | undefined;
  keepSource: boolean;
  /** --allow names (src/plan/escapes.ts) */
  allow?: string[];
  consistentCut: boolean;
  tcpEstablished?: boolean;
  tcpClose?: boolean;
  newAddress?: boolean;
  restorePath: string | undefined;
  transfer?: string | undefined;
}

function allowFrom(names: string[]): string[] {
  try {
    // the operator's standing list (FERRY_ALLOW): read here once, for the plan and the run
    return [...new Set([...standingAllow(process.env), ...parseAllow(names)])];
  } catch (err) {
    throw new UsageError(errorText(err));
  }
}

/** A flag that takes one of `values`: `fallback` when not given, `message` when it is anything else. */
const oneOf = <T extends string>(values: readonly [T, ...T[]], fallback: NoInfer<T>, message: string) =>
  z.enum(values, { error: message }).default(fallback);

/** The option flags, checked in this order: the first wrong one is the usage error. */
const optionFlags = z.object({
  strategy: oneOf(STRATEGIES, 'auto', '--strategy must be one of sequential, pipelined, parallel, auto'),
  compress: oneOf(COMPRESSIONS, 'auto', '--compress must be auto, none or zstd'),
  transfer: oneOf(TRANSFER_MODES, 'relay', '--transfer must be relay, direct or auto'),
  tcp: z.object({ established: z.boolean(), close: z.boolean() }).refine((t) => !(t.established && t.close), {
    error: '--tcp-established and --tcp-close exclude each other',
  }),
  restorePath: oneOf(RESTORE_PATHS, 'auto', '--restore-path must be auto, precreate or import'),
});

export function optionsFrom(a: MigrateArgs): MigrateOptions {
  const flags = optionFlags.safeParse({
    strategy: a.strategy,
    compress: a.compress,
    transfer: a.transfer,
    tcp: { established: a.tcpEstablished ?? false, close: a.tcpClose ?? false },
    restorePath: a.restorePath,
  });
  if (!flags.success) throw new UsageError(flags.error.issues[0]?.message ?? flags.error.message);
  const { strategy, compress, transfer, tcp, restorePath } = flags.data;
  return {
    ...DEFAULT_OPTIONS,
    strategy,
    compress,
    restorePath,
    transfer,
    keepSource: a.keepSource,
    allow: allowFrom(a.allow ?? []),
    consistentCut: a.consistentCut,
    tcpEstablished: tcp.established,
    tcpClose: tcp.close,
    newAddress: a.newAddress ?? false,
  };
}

export const poolFor = (a: { configFile?: string | undefined; jump?: string | undefined }) =>
  createSshPool({
    ...(a.configFile ? { configFile: a.configFile } : {}),
    ...(a.jump ? { jump: a.jump } : {}),
  });

/** What the CLI plans with: the real link measurement, and hosts' facts cached on disk between runs. */
export function planDeps(pool: SshPool, env: NodeJS.ProcessEnv = process.env): PlanDeps {
  return {
    measureLink,
    factsCache: diskFactsCache(factsCacheDir(env), async (host) => sshIdentity(await pool.settingsOf(host))),
  };
}

/** Links' estimates of the last minutes, on disk between runs: read before a plan, kept after it. */
function diskLinkRates(pool: SshPool, env: NodeJS.ProcessEnv = process.env) {
  const file = linkRatesFile(env);
  const identityOf = async (host: string) => sshIdentity(await pool.settingsOf(host));
  return { load: () => loadRates(file, identityOf), save: () => saveRates(file, identityOf) };
}

/** Plans the group: connects to every host at once, preflight, estimates, order. */
export async function planFor(pool: SshPool, a: MigrateArgs): Promise<MigrationPlan> {
  const rates = diskLinkRates(pool);
  await rates.load();
  const plan = await planMigration(pool, planRequestFrom(a.group, optionsFrom(a)), planDeps(pool));
  await rates.save();
  return plan;
}
