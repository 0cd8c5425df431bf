// The group and its destinations, from the command line: --containers,
// --group (saved groups), or --compose-project with --host; --to and --map.
import { formatMemberSpec, type MemberSpec, parseMemberSpec } from '../config/member-spec.ts';
import type { PlanRequest } from '../migrate/planner.ts';
import type { MigrateOptions } from '../migrate/types.ts';
import { UsageError } from './migrate.ts';

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

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function planRequestFrom(f: GroupFlags, options: MigrateOptions): PlanRequest {
  const sources = [f.containers, f.group, f.composeProject].filter((x) => x !== undefined).length;
  if (sources === 0)
    throw new UsageError(
      'name the group: --containers H:NAME,..., --group NAME, or --compose-project P --host H',
    );
  if (sources > 1) throw new UsageError('use one of --containers, --group and --compose-project');
  if (f.composeProject !== undefined && !f.host) throw new UsageError('--compose-project needs --host HOST');
  const destinations: Record<string, string> = {};
  for (const pair of list(f.map ?? '')) {
    const eq = pair.lastIndexOf('=');
    if (eq < 0) throw new UsageError(`--map: '${pair}' is not host:name=destination`);
    const member = parseMember(pair.slice(0, eq), '--map');
    const dest = pair.slice(eq + 1).trim();
    if (!dest) throw new UsageError(`--map: '${pair}' names no destination`);
    destinations[formatMemberSpec(member)] = dest;
  }
  if (!f.to && Object.keys(destinations).length === 0 && f.group === undefined)
    throw new UsageError('name the destination: --to HOST, or --map host:name=dest,...');
  const members = f.containers !== undefined ? list(f.containers).map((s) => parseMember(s)) : [];
  if (f.containers !== undefined && members.length === 0)
    throw new UsageError('--containers needs host:name[,host:name...]');
  return {
    members,
    ...(f.composeProject !== undefined && f.host
      ? { compose: { host: f.host, project: f.composeProject } }
      : {}),
    ...(f.to ? { to: f.to } : {}),
    ...(Object.keys(destinations).length > 0 ? { destinations } : {}),
    options,
  };
}
