// How long one remote command of each step of a migration may take.

/** The longest one remote command of a step may take before it is killed and the container rolled back. */
export interface StepDeadlines {
  prestage: number;
  checkpoint: number;
  restore: number;
  verify: number;
  finalize: number;
  rollback: number;
}

/**
 * Generous on a busy machine, yet finite: a hung podman, CRIU or storage lock
 * must not keep a container frozen forever. Checkpoint, restore and rollback
 * grow with the memory to dump (8 MB/s is far below CRIU's slowest here).
 */
export function deadlinesFor(memoryBytes = 0): StepDeadlines {
  const byMemory = 60_000 + Math.round(memoryBytes / 8_000);
  return {
    prestage: 120_000,
    checkpoint: byMemory,
    restore: byMemory,
    verify: 60_000,
    finalize: 60_000,
    rollback: byMemory,
  };
}

/**
 * Every step's deadline set to `ms` (FERRY_STEP_DEADLINE_MS, read by the CLI:
 * tests of a hung host); nothing when it is not a positive number.
 */
export function forcedDeadlines(ms: string | undefined): Partial<StepDeadlines> {
  const forced = Number(ms);
  if (!ms || !Number.isFinite(forced) || forced <= 0) return {};
  return {
    prestage: forced,
    checkpoint: forced,
    restore: forced,
    verify: forced,
    finalize: forced,
    rollback: forced,
  };
}
