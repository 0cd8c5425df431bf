// Hosts and items for tests of the engine alone (its drivers scripted).
import type { HostSession } from '../../../src/migrate/types.ts';
import type { MigrationItem } from '../../../src/plan/migration.ts';

/** A host whose every command succeeds silently and which streams nothing. */
export const quietHost = (name: string): HostSession => ({
  host: name,
  exec: async () => ({ stdout: '', stderr: '', code: 0, signal: null }),
  spawn: async () => {
    throw new Error('no streams in this test');
  },
});

/** Podman containers on alpha bound for beta, by name. */
export const podmanItems = (...names: string[]): MigrationItem[] =>
  names.map((name) => ({
    id: `alpha/podman/${name}`,
    container: { host: 'alpha', runtime: 'podman', name },
    destination: 'beta',
  }));
