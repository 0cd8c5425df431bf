export type SshErrorCode =
  | 'CONFIG'
  | 'JUMP_CYCLE'
  | 'UNREACHABLE'
  | 'REFUSED'
  | 'TIMEOUT'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'HOST_KEY_REVOKED'
  | 'AUTH_FAILED'
  | 'PASSPHRASE_REQUIRED'
  | 'CONNECTION_LOST'
  | 'CHANNEL'
  | 'ABORTED'
  | 'OUTPUT_LIMIT';

/**
 * Every SSH failure ferry reports: one line naming the host and what went
 * wrong, a machine code, and a hint where one helps.
 */
export class SshError extends Error {
  readonly code: SshErrorCode;
  readonly host: string;
  readonly hint: string | undefined;

  constructor(
    code: SshErrorCode,
    host: string,
    message: string,
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(`${host}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SshError';
    this.code = code;
    this.host = host;
    this.hint = opts.hint;
  }
}

/** Failures after which a fresh connection may succeed. */
export function isConnectionLoss(err: unknown): boolean {
  return (
    err instanceof SshError &&
    (err.code === 'CONNECTION_LOST' || err.code === 'REFUSED' || err.code === 'TIMEOUT')
  );
}
