// From the inventory's model to the rows and host lines the TUI shows. Pure.
import type { HostInventory } from '../inventory/model.ts';
import { containerKey } from '../inventory/model.ts';
import type { ContainerRow, HostRefresh, HostState } from './types.ts';

/** The SSH layer's last failure for a host, if the transport failed (not the probe). */
export interface TransportFailure {
  code: string;
  message: string;
  hint?: string | undefined;
}

// the SSH layer refuses these outright: retrying will not help
const REFUSALS = new Set(['HOST_KEY_CHANGED', 'HOST_KEY_REVOKED', 'HOST_KEY_UNKNOWN', 'AUTH_FAILED']);

export function hostRefresh(inv: HostInventory, failure?: TransportFailure): HostRefresh {
  const containers: ContainerRow[] = [];
  for (const r of inv.runtimes)
    for (const c of r.containers)
      containers.push({
        key: containerKey(c),
        host: c.host,
        runtime: c.runtime,
        name: c.name,
        image: c.image.name,
        state: c.state,
        memoryBytes: c.memoryBytes,
        group: c.compose?.project ?? null,
        stale: inv.stale || r.stale,
      });
  const errors = inv.problems.filter((p) => p.severity === 'error');
  let state: HostState = 'ok';
  let reason: string | null = null;
  let hint: string | null = null;
  if (inv.stale) {
    state = inv.refreshedAt === null ? 'unreachable' : 'stale';
    if (failure && REFUSALS.has(failure.code)) state = 'refused';
    // the SSH layer's own words beat the probe's excerpt of them
    reason = failure?.message ?? errors[0]?.message ?? 'no answer';
    hint = failure?.hint ?? null;
  }
  const warnings = inv.problems
    .filter((p) => !inv.stale || p.severity === 'warning')
    .map((p) => p.message)
    .filter((m) => m !== reason);
  return {
    status: {
      host: inv.host,
      state,
      reason,
      hint,
      warnings,
      containers: containers.length,
      refreshedAt: inv.refreshedAt,
      durationMs: inv.durationMs,
    },
    containers,
  };
}
