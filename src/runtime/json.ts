// Defensive readers for JSON printed by podman and docker. Their output
// shapes drift between versions, so fields are read one by one with a
// fallback rather than validated as a whole: a missing field gives a default,
// a wrong root type (not JSON, not an array) is an error.
import { errorText } from '../text/error.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): JsonObject {
  return isObject(v) ? v : {};
}

export function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

export function str(v: unknown, fallback = ''): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return fallback;
}

export function optStr(v: unknown): string | null {
  const s = str(v);
  return s === '' ? null : s;
}

export function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return null;
}

export function bool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return null;
}

export function strArray(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string');
}

/** A string, or undefined for anything else (absent, null, another type). */
export function maybeStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The array when every element is a string; undefined for anything else. */
export function onlyStrings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export function strRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** A JSON document whose root must be an array (`inspect`, `--format json`). */
export function parseJsonArray(text: string): JsonObject[] {
  const t = text.trim();
  if (t === '') return [];
  const v: unknown = JSON.parse(t);
  if (!Array.isArray(v)) throw new Error(`expected a JSON array, got ${v === null ? 'null' : typeof v}`);
  return v.map(obj);
}

export function parseJsonObject(text: string): JsonObject {
  const v: unknown = JSON.parse(text.trim());
  if (!isObject(v))
    throw new Error(`expected a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

/**
 * One JSON object per line (docker's `--format '{{json .}}'`), or a single
 * array. Blank lines are skipped; any other line that is not an object fails.
 */
export function parseJsonLines(text: string): JsonObject[] {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[')) return parseJsonArray(t);
  const out: JsonObject[] = [];
  const lines = t.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new Error(`line ${i + 1}: ${errorText(err)}`);
    }
    if (!isObject(v)) throw new Error(`line ${i + 1}: expected a JSON object`);
    out.push(v);
  }
  return out;
}

/** Strips the `sha256:` prefix docker puts on IDs, so both runtimes compare alike. */
export function bareId(id: string): string {
  return id.startsWith('sha256:') ? id.slice(7) : id;
}
