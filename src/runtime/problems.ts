// Turning a section's exit status, stderr and output into either data or a
// per-host problem that names the command and quotes its stderr.
import type { HostProblem, ProblemCode, RuntimeKind } from '../inventory/model.ts';
import { errorText } from '../text/error.ts';
import { excerpt } from './exec.ts';
import type { SectionResult } from './script.ts';

const NOT_FOUND = /(command not found|: not found|no such file or directory.*(podman|docker|criu))/i;
const PASSWORD = /a password is required|a terminal is required|sudo: .*not allowed|is not in the sudoers/i;
const PERMISSION = /permission denied|operation not permitted|must be run as root|access denied/i;

export function classifyFailure(r: SectionResult): ProblemCode {
  if (r.timedOut) return 'timeout';
  if (r.code === null) return 'section-missing';
  if (PASSWORD.test(r.stderr)) return 'sudo-denied';
  if (r.code === 127 || NOT_FOUND.test(r.stderr)) return 'missing-binary';
  if (PERMISSION.test(r.stderr)) return 'permission-denied';
  return 'command-failed';
}

const WHAT: Record<ProblemCode, string> = {
  unreachable: 'could not run',
  'script-failed': 'failed',
  'section-missing': 'gave no result',
  timeout: 'timed out',
  'missing-binary': 'failed: command not found',
  'permission-denied': 'failed: permission denied',
  'sudo-denied': 'failed: sudo needs a password (no sudo -n right)',
  'command-failed': 'failed',
  'malformed-output': 'printed output that could not be parsed',
};

export function sectionProblem(
  host: string,
  r: SectionResult,
  opts: { runtime?: RuntimeKind; severity?: 'error' | 'warning'; code?: ProblemCode; detail?: string } = {},
): HostProblem {
  const code = opts.code ?? classifyFailure(r);
  const status = r.timedOut ? '' : r.code === null ? '' : ` (exit ${r.code})`;
  const err = excerpt(r.stderr);
  const detail = opts.detail ? `: ${opts.detail}` : err ? `: ${err}` : '';
  return {
    severity: opts.severity ?? 'error',
    code,
    message: `${host}: \`${r.display}\` ${WHAT[code]}${status}${detail}`,
    host,
    command: r.display,
    stderr: err,
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
  };
}

/** A section that the script did not report at all (cut short, killed). */
export function missingSection(host: string, display: string, runtime?: RuntimeKind): HostProblem {
  return {
    severity: 'error',
    code: 'section-missing',
    message: `${host}: \`${display}\` gave no result (the host script was cut short)`,
    host,
    command: display,
    ...(runtime ? { runtime } : {}),
  };
}

export type Parsed<T> = { ok: true; value: T; problems: HostProblem[] } | { ok: false; problem: HostProblem };

/**
 * Parses a section's stdout with `parse`. A non-zero exit with output that
 * still parses (e.g. inspect of a container removed meanwhile) gives the data
 * plus a warning; without usable output it is an error.
 */
export function parseSection<T>(
  host: string,
  r: SectionResult | undefined,
  display: string,
  parse: (stdout: string) => T,
  runtime?: RuntimeKind,
): Parsed<T> {
  if (!r) return { ok: false, problem: missingSection(host, display, runtime) };
  const extra = runtime ? { runtime } : {};
  if (r.code !== 0) {
    if (r.timedOut || r.stdout.trim() === '') return { ok: false, problem: sectionProblem(host, r, extra) };
    try {
      const value = parse(r.stdout);
      return { ok: true, value, problems: [sectionProblem(host, r, { ...extra, severity: 'warning' })] };
    } catch {
      return { ok: false, problem: sectionProblem(host, r, extra) };
    }
  }
  try {
    return { ok: true, value: parse(r.stdout), problems: [] };
  } catch (err) {
    const why = errorText(err);
    return {
      ok: false,
      problem: sectionProblem(host, r, {
        ...extra,
        code: 'malformed-output',
        detail: `${why}; output starts ${JSON.stringify(r.stdout.slice(0, 120))}${r.stderr.trim() ? `; stderr: ${excerpt(r.stderr)}` : ''}`,
      }),
    };
  }
}

/**
 * The parser of a runtime's optional sections (images, networks, stats...):
 * one that fails is a warning added to `problems`, and gives `empty`.
 */
export function optionalSections(
  host: string,
  results: ReadonlyMap<string, SectionResult>,
  problems: HostProblem[],
  runtime: RuntimeKind,
): <T>(name: string, display: string, parse: (s: string) => T, empty: T) => T {
  return (name, display, parse, empty) => {
    const r = parseSection(host, results.get(name), display, parse, runtime);
    if (!r.ok) {
      problems.push({ ...r.problem, severity: 'warning' });
      return empty;
    }
    problems.push(...r.problems);
    return r.value;
  };
}
