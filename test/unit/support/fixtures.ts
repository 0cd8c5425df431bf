// Loads the probe outputs captured from the lab (test/fixtures/runtime).
import { readFileSync } from 'node:fs';
import type { ExecResult, HostExec } from '../../../src/runtime/exec.ts';
import { parseScriptOutput, type ScriptOutput } from '../../../src/runtime/script.ts';

export const FIXTURES = new URL('../../fixtures/runtime/', import.meta.url).pathname;

export interface ScriptFixture {
  host: string;
  nonce: string;
  sections: { name: string; display: string }[];
  code: number | null;
  stdout: string;
  stderr: string;
}

export function loadScript(name: string): ScriptFixture {
  return JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as ScriptFixture;
}

export function loadJson<T>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as T;
}

export function parsedFixture(name: string): ScriptOutput {
  const f = loadScript(name);
  return parseScriptOutput(f.stdout, f.nonce, f.sections);
}

/** The fixture's output, with its markers rewritten to the nonce of the script being run. */
export function replay(f: ScriptFixture, argv: string[], edit?: (stdout: string) => string): ExecResult {
  const script = argv[2] ?? '';
  const nonce = /^N=([A-Za-z0-9]+)$/m.exec(script)?.[1];
  if (!nonce) throw new Error('no nonce in the script');
  const stdout = f.stdout.replaceAll(`@@${f.nonce}:`, `@@${nonce}:`);
  return { stdout: edit ? edit(stdout) : stdout, stderr: f.stderr, code: f.code };
}

/** A HostExec that answers with a captured fixture (unit tests only: no lab). */
export function fixtureExec(name: string, edit?: (stdout: string) => string): HostExec {
  const f = loadScript(name);
  return async (argv) => replay(f, argv, edit);
}

/** Replaces one section's stdout in a fixture output. */
export function withSection(stdout: string, section: string, body: string, rc?: number): string {
  const re = new RegExp(
    `(\\n@@[0-9a-f]+:begin:${section.replaceAll('.', '\\.')}@@\\n)[\\s\\S]*?(\\n@@[0-9a-f]+:stderr:)`,
  );
  let out = stdout.replace(re, (_m, a: string, b: string) => `${a}${body}${b}`);
  if (rc !== undefined)
    out = out.replace(new RegExp(`(@@[0-9a-f]+:end:${section.replaceAll('.', '\\.')}:)\\d+`), `$1${rc}`);
  return out;
}
