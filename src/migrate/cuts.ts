// The cut groups: members that share kept TCP connections move all or
// nothing. A socket checkpointed for keeping cannot come back on its source
// once its peer runs on the destination, so either every member of the cut
// runs on the destination, or every one runs on its source again, restored
// from the same cut. Shared by the engine and by `ferry recover`.

import type { Clock } from './effects.ts';

/** neighbour resolution gives up after 3 probes 1 s apart (Linux defaults), and its queue with it */
export const PROBE_GIVEN_UP_MS = 3500;

/**
 * The connected members of the [first, then] pairs (the listening end of a
 * kept connection first), each group ordered so that every listening end
 * comes before the members that connect to it; ties keep the plan's order.
 * Members with no kept connection to another member are in no group.
 */
export function cutGroups(ids: readonly string[], restoreAfter: readonly [string, string][]): string[][] {
  const pairs = restoreAfter.filter(([a, b]) => a !== b && ids.includes(a) && ids.includes(b));
  const parent = new Map(ids.map((id) => [id, id]));
  const root = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  for (const [a, b] of pairs) parent.set(root(a), root(b));
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    if (!pairs.some(([a, b]) => a === id || b === id)) continue;
    const r = root(id);
    groups.set(r, [...(groups.get(r) ?? []), id]);
  }
  return [...groups.values()].map((members) => {
    const ordered: string[] = [];
    const left = [...members];
    while (left.length > 0) {
      // the first in plan order whose listening ends are all placed (a cycle: the first left)
      const k = Math.max(
        0,
        left.findIndex((id) =>
          pairs.every(([first, then]) => then !== id || ordered.includes(first) || !left.includes(first)),
        ),
      );
      ordered.push(...left.splice(k, 1));
    }
    return ordered;
  });
}

/** The members of the cut that must run before `id` is restored (the listening ends it connects to). */
export function firstsOf(id: string, restoreAfter: readonly [string, string][]): string[] {
  return restoreAfter.filter(([, then]) => then === id).map(([first]) => first);
}

/** The clock the waits read: the engine's and recover's own (effects.ts). */
type WaitClock = Pick<Clock, 'now' | 'sleep'>;

/**
 * Waits until the window probes of `id`'s listening ends, restored at the
 * times in `restoredAt` (clock.now()), have been given up.
 */
export async function probesGivenUp(
  id: string,
  restoreAfter: readonly [string, string][],
  restoredAt: ReadonlyMap<string, number>,
  probeMs: number | undefined,
  clock: WaitClock,
): Promise<void> {
  const last = Math.max(0, ...firstsOf(id, restoreAfter).map((f) => restoredAt.get(f) ?? 0));
  const wait = last > 0 ? last + (probeMs ?? PROBE_GIVEN_UP_MS) - clock.now() : 0;
  if (wait > 0) await clock.sleep(wait);
}
