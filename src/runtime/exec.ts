// How ferry runs a command on a host, whatever carries it: ferry's own SSH
// pool, OpenSSH, or a local shell. Adapters and probes only see this type.

export interface ExecOptions {
  /** written to the remote command's stdin, then closed */
  stdin?: string;
  /** kill the command and fail after this long */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** read-only or otherwise safe to run twice: a transport may retry it once on a new connection */
  idempotent?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** exit status; null when the command died of a signal or the transport lost it */
  code: number | null;
}

/**
 * Runs argv on one host. The transport joins argv into a command line for the
 * remote login shell (each word quoted), as `ssh host -- argv...` would.
 * It may reject (connection refused, host key mismatch, timeout): callers
 * turn a rejection into a per-host problem, never a crash.
 */
export type HostExec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/** Anything with ferry's SSH pool's shape: `exec(host, argv, opts)`. */
export interface ExecPool {
  exec(host: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
}

/** The HostExec of one host of a pool (ferry's SshPool fits). */
export function poolExec(pool: ExecPool, host: string): HostExec {
  return (argv, opts) => pool.exec(host, argv, opts);
}

// one quoting for every remote command line: the SSH layer's
export { shellQuote as shQuote, shellQuoteArgv as shJoin } from '../ssh/quote.ts';

/** The tail of a command's stderr (or stdout), trimmed to fit in a message. */
export function excerpt(text: string, max = 300): string {
  const t = text.replace(/\s+$/u, '').replace(/^\s+/u, '');
  if (t.length <= max) return t;
  // keep the end: tools print the actual error last
  return `…${t.slice(t.length - max + 1)}`;
}

/** Wraps an exec and counts its calls: how many round trips an operation cost. */
export function countingExec(exec: HostExec): { exec: HostExec; calls: () => number; reset: () => void } {
  let n = 0;
  return {
    exec: (argv, opts) => {
      n++;
      return exec(argv, opts);
    },
    calls: () => n,
    reset: () => {
      n = 0;
    },
  };
}
