// What the engine and its drivers share besides a migration's vocabulary
// (src/plan/migration.ts): a host session, and what a driver keeps between stages.
import type { ExecOptions, ExecResult, RemoteProcess } from '../ssh/index.ts';

/** A host as the drivers use it: exec and spawn, with privilege handled below. */
export interface HostSession {
  readonly host: string;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(argv: string[], opts?: { signal?: AbortSignal }): Promise<RemoteProcess>;
}

/** What a driver keeps between stages; written to the journal after each one. */
export type DriverState = Record<string, string | number | boolean | undefined>;
