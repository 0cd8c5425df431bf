// ferry's own YAML files (config.yaml, groups.yaml): parsed with yaml's
// Document API so that every problem, from a tab in the indentation to a
// typo in a key, is reported as file:line:column with what was expected,
// and so that files ferry rewrites keep their comments.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import { z } from 'zod';

/** One problem in a file; line and column are 1-based (0 when it is not in the file). */
export interface FileError {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** `groups.yaml:12:7: message`, one line. */
export function formatFileError(e: FileError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  return `${where}: ${e.message.replace(/\s*\n\s*/g, ' ')}`;
}

/** How a value reads in a message: `42`, `"text"`, `a list`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v);
  return String(v);
}

/** A zod error function: `expected WHAT, got VALUE`, or `missing, expected WHAT` for an absent key. */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined
      ? `missing, expected ${what}`
      : `expected ${what}, got ${describeValue(issue.input)}`;
}

/** A host as ssh would be given it: an alias or [user@]host[:port]. */
export const hostNameSchema = z
  .string({ error: expected('a host name') })
  .regex(/^[^\s,]+$/, { error: expected('a host name (no spaces or commas)') });

/** `groups.web.members[1]`, `groups.web.destinations["alpha:x"]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) out += `${out === '' ? '' : '.'}${String(seg)}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

export type YamlLoad<T> =
  | { ok: true; value: T; doc: Document.Parsed | undefined; path: string }
  | { ok: false; errors: FileError[]; path: string };

export interface LoadOptions<T> {
  /** the value when the file does not exist */
  missing: T;
  /** the value of a file with no document in it; absent: the schema decides (it sees null) */
  empty?: T;
}

/** Reads and validates a YAML file. Never throws for the file's content or a missing file. */
export function loadYamlFile<T>(path: string, schema: z.ZodType<T>, opts: LoadOptions<T>): YamlLoad<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { ok: true, value: opts.missing, doc: undefined, path };
    return { ok: false, errors: [{ file: path, line: 0, column: 0, message: (err as Error).message }], path };
  }
  return parseYamlText(text, path, schema, opts.empty === undefined ? {} : { empty: opts.empty });
}

/** Parses and validates YAML text as the file `file`. */
export function parseYamlText<T>(
  text: string,
  file: string,
  schema: z.ZodType<T>,
  opts: { empty?: T } = {},
): YamlLoad<T> {
  const lc = new LineCounter();
  // prettyErrors off: positions come from the line counter, messages stay one line
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => syntaxError(e, doc, text, file, at)), path: file };
  }
  if (doc.contents === null && opts.empty !== undefined)
    return { ok: true, value: opts.empty, doc, path: file };
  const r = schema.safeParse(doc.toJS(), { error: genericMessage });
  if (r.success) return { ok: true, value: r.data, doc, path: file };
  const errors = r.error.issues.flatMap((issue) => issueErrors(issue, doc, schema, file, at));
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, errors, path: file };
}

type At = (offset: number) => { line: number; column: number };

function syntaxError(e: YAMLError, doc: Document, text: string, file: string, at: At): FileError {
  let offset = e.pos[0];
  let message = e.message;
  if (e.code === 'BAD_INDENT') {
    // yaml points at the start of the line; the first character is what is misplaced
    while (text[offset] === ' ') offset++;
  } else if (e.code === 'DUPLICATE_KEY') {
    const key = /^[^:\n]*/.exec(text.slice(offset))?.[0].trim();
    if (key) message = `duplicate key ${key} (${e.message.toLowerCase()})`;
  } else if (e.code === 'MISSING_CHAR' && /quote/.test(e.message)) {
    // yaml notices at the end of the file; the quote that was never closed is more useful
    visit(doc, {
      Scalar(_, node) {
        const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
        if (quoted && node.range && node.range[1] >= e.pos[0]) {
          offset = node.range[0];
          message = `${e.message}: the string opened here runs to the end of the file`;
          return visit.BREAK;
        }
        return undefined;
      },
    });
  }
  return { file, ...at(offset), message: `invalid YAML: ${message}` };
}

/** Messages for the issues no schema worded itself. */
function genericMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const names: Record<string, string> = { object: 'a mapping', record: 'a mapping', array: 'a list' };
      return expected(names[issue.expected] ?? `a ${issue.expected}`)(issue);
    }
    case 'invalid_value':
      return expected(issue.values.map((v) => JSON.stringify(v)).join(' or '))(issue);
    case 'too_small':
      return issue.origin === 'array'
        ? expected(`at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`)(issue)
        : expected(`at least ${issue.minimum} characters`)(issue);
    default:
      return issue.message ?? `invalid value ${describeValue(issue.input)}`;
  }
}

/** A node of the document by path, and the key it hangs under. */
function locate(
  doc: Document,
  path: readonly PropertyKey[],
): { key?: Node; value?: Node; complete: boolean } {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) return { ...(key ? { key } : {}), ...nodeOrNot(node), complete: false };
      key = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      key = undefined;
      node = node.items[seg];
    } else {
      return { ...(key ? { key } : {}), ...nodeOrNot(node), complete: false };
    }
  }
  return { ...(key ? { key } : {}), ...nodeOrNot(node), complete: true };
}

function nodeOrNot(n: unknown): { value?: Node } {
  return n && typeof n === 'object' && 'range' in n ? { value: n as Node } : {};
}

function issueErrors(
  issue: z.core.$ZodIssue,
  doc: Document,
  schema: z.ZodType,
  file: string,
  at: At,
): FileError[] {
  const position = (path: readonly PropertyKey[], want: 'key' | 'value') => {
    const found = locate(doc, path);
    const value = found.value?.range;
    // an empty value (`members:` and nothing) sits after the key, often on the next line
    const emptyValue = value !== undefined && value !== null && value[0] === value[1];
    let node = found.value;
    if (want === 'key' || !found.complete || emptyValue || !node?.range) node = found.key ?? found.value;
    return node?.range ? at(node.range[0]) : { line: 1, column: 1 };
  };
  const error = (path: readonly PropertyKey[], message: string, want: 'key' | 'value'): FileError => {
    const where = formatPath(path);
    return { file, ...position(path, want), message: where === '' ? message : `${where}: ${message}` };
  };
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, issue.path);
      return issue.keys.map((k) =>
        error([...issue.path, k], `unknown key "${k}"${suggest(k, known)}`, 'key'),
      );
    }
    case 'invalid_key':
      return [error(issue.path, issue.issues[0]?.message ?? issue.message, 'key')];
    case 'custom': {
      const want = (issue.params as { at?: string } | undefined)?.at === 'key' ? 'key' : 'value';
      return [error(issue.path, issue.message, want)];
    }
    default:
      return [error(issue.path, issue.message, 'value')];
  }
}

/** The keys an object schema allows at a path (for "did you mean"). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable)
      s = s.unwrap();
  };
  for (const seg of path) {
    unwrap();
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, unknown>)[String(seg)];
    else if (s instanceof z.ZodRecord) s = s.valueType;
    else if (s instanceof z.ZodArray) s = s.element;
    else return [];
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function suggest(key: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const near = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  if (near && near.d <= 2) return ` (did you mean "${near.k}"?)`;
  return ` (expected one of: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * Replaces the file in one step: a private temp file next to it, fsynced,
 * renamed over it. A crash leaves the old file or the new one, never half of
 * one. The directory is created 0700, the file is 0600.
 */
export function writeFileAtomic(path: string, text: string): void {
  // a symlinked file (dotfiles repos) is updated where it points
  const target = existsSync(path) ? realpathSync(path) : path;
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // the rename itself must survive a crash
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
