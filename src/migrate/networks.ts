// Networks travel with the group: a member's network that the destination
// lacks is created there as the source has it (driver, subnets, gateway,
// range, options, labels: compose finds its project's network by its labels).
// Every member that uses a network ferry created records it, so the last of
// them to roll back removes it; `network rm` refuses while anything uses it.
import type { Network, RuntimeKind } from '../inventory/model.ts';
import { arr, type Json, obj, parseJsonArray, str, strRecord } from '../runtime/json.ts';
import { podmanNetworkDetails } from '../runtime/podman.ts';
import { type MigrationContext, must, StageError } from './driver.ts';
import type { HostSession } from './types.ts';

type NetworkDef = Required<
  Pick<Network, 'name' | 'driver' | 'ipam' | 'labels' | 'options' | 'internal' | 'ipv6' | 'dns'>
>;

const CREATED = 'net:';

/** A network as `network inspect` prints it, in the terms `network create` takes. */
export function networkDef(kind: RuntimeKind, json: string): NetworkDef {
  const n = parseJsonArray(json)[0];
  if (!n) throw new StageError('network inspect printed nothing');
  if (kind === 'podman')
    return { name: String(n.name ?? ''), driver: String(n.driver ?? 'bridge'), ...podmanNetworkDetails(n) };
  const orNull = (v: Json | undefined) => (v === undefined || v === null ? null : str(v));
  return {
    name: str(n.Name),
    driver: str(n.Driver, 'bridge'),
    ipam: arr(obj(n.IPAM).Config)
      .map(obj)
      .filter((c) => str(c.Subnet))
      .map((c) => ({ subnet: str(c.Subnet), gateway: orNull(c.Gateway), range: orNull(c.IPRange) })),
    labels: strRecord(n.Labels),
    options: strRecord(n.Options),
    internal: n.Internal === true,
    ipv6: n.EnableIPv6 === true,
    dns: true,
  };
}

/** `podman|docker network create` of the same network. */
export function networkCreateArgv(kind: RuntimeKind, d: NetworkDef): string[] {
  const a = [kind, 'network', 'create', '--driver', d.driver || 'bridge'];
  for (const s of d.ipam) {
    a.push('--subnet', s.subnet);
    if (s.gateway) a.push('--gateway', s.gateway);
    if (s.range) a.push('--ip-range', s.range);
  }
  for (const [k, v] of Object.entries(d.labels)) a.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(d.options)) a.push('--opt', `${k}=${v}`);
  if (d.internal) a.push('--internal');
  if (d.ipv6) a.push('--ipv6');
  if (kind === 'podman' && !d.dns) a.push('--disable-dns');
  a.push(d.name);
  return a;
}

async function exists(host: HostSession, kind: RuntimeKind, name: string): Promise<boolean> {
  return (await host.exec([kind, 'network', 'inspect', name])).code === 0;
}

/**
 * Creates on the destination each of `names` it lacks, once per run and
 * destination, and records in the member's state the ones ferry created.
 */
export async function ensureNetworks(
  ctx: MigrationContext,
  kind: RuntimeKind,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    const created = await ctx.once(`network:${kind}:${ctx.dst.host}:${name}`, async () => {
      if (await exists(ctx.dst, kind, name)) return false;
      const def = networkDef(
        kind,
        await must(ctx.src, [kind, 'network', 'inspect', name], `inspecting network ${name}`),
      );
      await must(ctx.dst, networkCreateArgv(kind, def), `creating network ${name}`);
      ctx.warn(
        `created network ${name} (${def.ipam.map((s) => s.subnet).join(', ') || 'no subnet'}, ${def.driver}) on ${ctx.dst.host}`,
      );
      return true;
    });
    if (created) ctx.state[`${CREATED}${name}`] = true;
  }
}

/** Removes the networks ferry created for this member, unless something still uses them. */
export async function removeCreatedNetworks(ctx: MigrationContext, kind: RuntimeKind): Promise<void> {
  for (const key of Object.keys(ctx.state).filter((k) => k.startsWith(CREATED))) {
    const name = key.slice(CREATED.length);
    const users = await ctx.dst.exec([kind, 'ps', '-aq', '--filter', `network=${name}`]);
    if (users.code === 0 && users.stdout.trim() === '') await ctx.dst.exec([kind, 'network', 'rm', name]);
  }
}
