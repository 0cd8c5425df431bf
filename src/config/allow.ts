// The names `--allow` (and a group's `allow:`) take: settings that let a
// container reach beyond itself on its host, allowed one by one (src/plan/escapes.ts).

export const ALLOW_NAMES =
  'privileged, cap:NAME (or caps), bind:/PATH (or binds), devices, hooks, host-network, host-pid, host-ipc, host-uts, host-userns, unconfined, option:NAME';

const FIXED = new Set([
  'privileged',
  'caps',
  'binds',
  'devices',
  'hooks',
  'host-network',
  'host-pid',
  'host-ipc',
  'host-uts',
  'host-userns',
  'unconfined',
]);

/** The names of an --allow list, checked; throws naming the first it does not know. */
export function parseAllow(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const n = raw.trim();
    if (!n) continue;
    const ok =
      FIXED.has(n) ||
      /^cap:[A-Za-z_]+$/.test(n) ||
      /^option:[a-z][a-z0-9-]*$/.test(n) ||
      (n.startsWith('bind:/') && !/[\0\n\r]/.test(n));
    if (!ok) throw new Error(`--allow: unknown name '${n}' (names: ${ALLOW_NAMES})`);
    out.push(n.startsWith('cap:') ? `cap:${capName(n.slice(4))}` : n);
  }
  return out;
}

/** CAP_SYS_ADMIN, sys_admin -> SYS_ADMIN */
export const capName = (c: string) => c.trim().toUpperCase().replace(/^CAP_/, '');

/**
 * The operator's standing allow list: FERRY_ALLOW=host-network,... in the
 * environment of ferry (the operator's own machine: trusted), added to
 * every plan and run like --allow (the CLI reads it). Throws on an unknown name.
 */
export function standingAllow(env: NodeJS.ProcessEnv): string[] {
  const v = env.FERRY_ALLOW?.trim();
  if (!v) return [];
  try {
    return parseAllow(v.split(','));
  } catch (err) {
    throw new Error(`FERRY_ALLOW: ${(err as Error).message.replace(/^--allow: /, '')}`);
  }
}

/** `allow` and the standing list together, each name once. */
export function withStandingAllow(allow: readonly string[], standing: readonly string[]): string[] {
  return [...new Set([...allow, ...standing])];
}
