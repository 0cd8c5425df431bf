// The engine's concurrency caps and the scheduler's view of a group, shared
// by the planner (predictions) and the engine (re-ordering as it measures).

import type { MigrateOptions, MigrationItem } from '../plan/migration.ts';
import type { ScheduleInput, ScheduleItem, StageEstimate } from '../plan/schedule.ts';

/** A transfer's resource: the directed link between source and destination. */
export const linkKey = (item: MigrationItem) => `${item.container.host}->${item.destination}`;

/** How many of each stage the engine runs at once on one resource (source, link, destination), per strategy. */
export function stageConcurrency(options: MigrateOptions): {
  checkpoint: number;
  transfer: number;
  restore: number;
} {
  switch (options.strategy) {
    case 'sequential':
    case 'pipelined':
      return { checkpoint: 1, transfer: 1, restore: 1 };
    case 'parallel':
      return { checkpoint: options.maxParallel, transfer: options.maxParallel, restore: options.maxParallel };
    case 'auto':
      // dumps contend for the source's CPU and memory bandwidth; restores are short
      return { checkpoint: 1, transfer: 1, restore: 2 };
  }
}

/** The scheduler's view of a group, with the engine's own concurrency caps. */
export function scheduleInput(
  items: readonly MigrationItem[],
  estimates: Record<string, StageEstimate>,
  edges: [string, string][],
  options: MigrateOptions,
): ScheduleInput {
  const caps = stageConcurrency(options);
  return {
    items: items.map(
      (it): ScheduleItem => ({
        id: it.id,
        source: it.container.host,
        destination: it.destination,
        estimate: estimates[it.id] ?? { checkpointMs: 0, transferMs: 0, restoreMs: 0 },
        link: linkKey(it),
      }),
    ),
    edges: edges.filter(([a, b]) => items.some((i) => i.id === a) && items.some((i) => i.id === b)),
    caps: {
      checkpointPerSource: caps.checkpoint,
      transferPerLink: caps.transfer,
      restorePerDestination: caps.restore,
    },
  };
}
