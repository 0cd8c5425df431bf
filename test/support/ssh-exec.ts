// A HostExec over plain OpenSSH with the lab's config, for tests against the
// real lab: argv is quoted for the remote sh, as ferry's own pool will do.
import { execa } from 'execa';
import { countingExec, type HostExec, shJoin } from '../../src/runtime/exec.ts';
import type { HostTarget } from '../../src/runtime/probe.ts';
import { SSH_CONFIG } from './lab.ts';

export function opensshExec(host: string, extraArgs: string[] = []): HostExec {
  return async (argv, opts = {}) => {
    const r = await execa(
      'ssh',
      ['-F', SSH_CONFIG, '-o', 'BatchMode=yes', ...extraArgs, host, shJoin(argv)],
      {
        reject: false,
        stripFinalNewline: false,
        ...(opts.stdin !== undefined ? { input: opts.stdin } : { stdin: 'ignore' }),
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
        ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      },
    );
    if (r.timedOut) throw new Error(`ssh ${host}: timed out after ${opts.timeoutMs} ms`);
    if (r.isCanceled) throw new Error(`ssh ${host}: cancelled`);
    return { stdout: String(r.stdout), stderr: String(r.stderr), code: r.exitCode ?? null };
  };
}

/** A lab host target whose exec calls are counted. */
export function labTarget(host: string, extra: Partial<HostTarget> = {}) {
  const counted = countingExec(opensshExec(host));
  const target: HostTarget = { name: host, exec: counted.exec, ...extra };
  return { target, calls: counted.calls, reset: counted.reset };
}
