// The engine's real effects: the fsynced journal in the XDG state dir, the
// system clock, the podman and docker drivers, the link measurement over SSH
// and the lock directories on the source hosts. The CLI, the TUI's backend
// and the lab tests wire these; the engine itself only sees effects.ts.
import { randomBytes } from 'node:crypto';
import type { RuntimeKind } from '../inventory/model.ts';
import { errorText } from '../text/error.ts';
import { DockerDriver } from './docker.ts';
import type { MigrationDriver } from './driver.ts';
import type { Clock, EngineEffects } from './effects.ts';
import { currentOwner, Journal, type JournalHooks } from './journal.ts';
import { sweepLeftovers } from './leftovers.ts';
import { acquireLock, LockHeld, releaseLock } from './locks.ts';
import { PodmanDriver } from './podman.ts';
import type { RecoverEffects } from './recover.ts';
import { measureLink } from './transfer.ts';

export const defaultDrivers = (): Record<RuntimeKind, MigrationDriver> => ({
  podman: new PodmanDriver(),
  docker: new DockerDriver(),
});

export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** e.g. 20261129T214400-3fa2c1: sortable, and unique on this machine */
export const newRunId = (wallMs: number): string =>
  `${new Date(wallMs).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

/** Where the journals go (also read to judge stale locks), and their test hooks: the CLI reads both from the environment. */
export interface LiveSettings {
  journalDir: string;
  journalHooks?: JournalHooks;
}

/** The real effects. */
export function liveEffects(o: LiveSettings): EngineEffects {
  return {
    drivers: defaultDrivers(),
    openJournal: (runId) => new Journal(runId, o.journalDir, o.journalHooks),
    clock: systemClock,
    measureLink: (from, to, compress) => measureLink(from, to, compress),
    locks: {
      acquire: async (host, item, runId, onStale) => {
        try {
          await acquireLock(host, item, runId, { journalDir: o.journalDir, onStale });
        } catch (err) {
          if (err instanceof LockHeld) throw err;
          throw new Error(`${item.id}: cannot take its lock: ${errorText(err)}`);
        }
      },
      release: (host, item, runId) => releaseLock(host, item, runId),
    },
    newRunId,
    owner: currentOwner,
    sweep: (host, runId) => sweepLeftovers(host, runId, { journalDir: o.journalDir }),
  };
}

/** recover's real effects: the drivers, the system clock, the run's own journal (with the test hooks). */
export function liveRecoverEffects(o: { journalHooks?: JournalHooks } = {}): RecoverEffects {
  return {
    drivers: defaultDrivers(),
    clock: systemClock,
    openJournal: (runId, dir) => new Journal(runId, dir, o.journalHooks),
  };
}
