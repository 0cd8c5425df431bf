// Saved groups: $XDG_CONFIG_HOME/ferry/groups.yaml, written by hand or by
// the TUI, in one format (version 1):
//
//   version: 1
//   groups:
//     web-pipeline:
//       description: the sample workflow        # optional
//       members: [alpha:podman/wf-producer-1, alpha:wf-parse-1]
//       to: beta                                # optional default destination
//       destinations: { alpha:wf-parse-1: gamma }   # optional, per member
//       after:                                  # optional extra ordering edges
//         - { member: alpha:wf-sink-1, after: alpha:wf-enrich-1, note: why }
//       allow: [host-network]                   # optional: settings that reach beyond the container (--allow)
//
// Every problem is reported with file, line and column; nothing is ignored
// silently (an unknown key is an error, so a typo cannot drop a setting).
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { ALLOW_NAMES, parseAllow } from '../config/allow.ts';
import { type MemberSpec, parseMemberSpec, sameMember } from './member-spec.ts';
import { groupsFilePath } from './paths.ts';
import {
  expected,
  type FileError,
  formatFileError,
  formatPath,
  hostNameSchema,
  loadYamlFile,
  parseYamlText,
  writeFileAtomic,
} from './yaml-file.ts';

export { formatMemberSpec, type MemberSpec, parseMemberSpec } from './member-spec.ts';

export type GroupFileError = FileError;

/** `groups.yaml:12:7: what was expected`, one line. */
export const formatGroupError: (e: GroupFileError) => string = formatFileError;

/** `member` must be restored after `after` (a user-added dependency edge). */
export interface SavedGroupEdge {
  member: string;
  after: string;
  note?: string;
}

export interface SavedGroup {
  /** the key under `groups:` */
  name: string;
  description?: string;
  /** host:name or host:runtime/name */
  members: string[];
  /** default destination host */
  to?: string;
  /** per-member destination (member spec as in `members` -> host); overrides `to` */
  destinations?: Record<string, string>;
  after?: SavedGroupEdge[];
  /** escaping settings allowed for this group's copies, as --allow takes them */
  allow?: string[];
}

export type LoadGroupsResult =
  | { ok: true; groups: SavedGroup[]; path: string }
  | { ok: false; errors: GroupFileError[]; path: string };

export type SaveGroupResult =
  | { ok: true; path: string }
  | { ok: false; errors: GroupFileError[]; path: string };

const MEMBER = 'host:name or host:runtime/name';
const memberSchema = z
  .string({ error: expected(MEMBER) })
  .refine((s) => parseMemberSpec(s) !== null, { error: expected(MEMBER) });

const GROUP_NAME = 'a group name (letters, digits, ".", "_", "-")';
const groupNameSchema = z
  .string({ error: expected(GROUP_NAME) })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: expected(GROUP_NAME) });

const edgeSchema = z.strictObject(
  {
    member: memberSchema,
    after: memberSchema,
    note: z.string({ error: expected('a string') }).optional(),
  },
  { error: expected('a mapping { member: ..., after: ..., note: ... }') },
);

const groupBodySchema = z
  .strictObject(
    {
      description: z.string({ error: expected('a string') }).optional(),
      members: z
        .array(memberSchema, { error: expected(`a list of ${MEMBER}`) })
        .min(1, { error: expected(`at least one member (${MEMBER})`) }),
      to: hostNameSchema.optional(),
      destinations: z
        .record(memberSchema, hostNameSchema, { error: expected('a mapping of member: host') })
        .optional(),
      after: z.array(edgeSchema, { error: expected('a list of { member, after } edges') }).optional(),
      allow: z
        .array(
          z.string({ error: expected(`an --allow name (${ALLOW_NAMES})`) }).refine(
            (n) => {
              try {
                return parseAllow([n]).length === 1;
              } catch {
                return false;
              }
            },
            { error: expected(`an --allow name (${ALLOW_NAMES})`) },
          ),
          { error: expected(`a list of --allow names (${ALLOW_NAMES})`) },
        )
        .optional(),
    },
    {
      error: expected('a mapping with members (and optionally description, to, destinations, after, allow)'),
    },
  )
  .superRefine((g, ctx) => {
    const members = g.members.map((m) => parseMemberSpec(m) as MemberSpec);
    members.forEach((m, i) => {
      const first = members.findIndex((o) => sameMember(o, m));
      if (first < i) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i],
          message: `${g.members[i]} is listed twice (also members[${first}])`,
        });
      }
    });
    // a reference must name exactly one member
    const check = (ref: string, path: PropertyKey[], at: 'key' | 'value') => {
      const spec = parseMemberSpec(ref) as MemberSpec;
      const hits = g.members.filter((_, i) => sameMember(members[i] as MemberSpec, spec));
      // alpha:x with both alpha:podman/x and alpha:docker/x in the group
      const ambiguous = new Set(hits.map((h) => parseMemberSpec(h)?.runtime).filter(Boolean)).size > 1;
      const message =
        hits.length === 0
          ? `expected a member of this group, got ${ref}`
          : ambiguous
            ? `${ref} matches ${hits.join(' and ')}: name the runtime (host:runtime/name)`
            : undefined;
      if (message) ctx.addIssue({ code: 'custom', path, message, params: { at } });
    };
    for (const ref of Object.keys(g.destinations ?? {})) check(ref, ['destinations', ref], 'key');
    (g.after ?? []).forEach((e, i) => {
      check(e.member, ['after', i, 'member'], 'value');
      check(e.after, ['after', i, 'after'], 'value');
      const a = parseMemberSpec(e.member) as MemberSpec;
      if (sameMember(a, parseMemberSpec(e.after) as MemberSpec)) {
        ctx.addIssue({
          code: 'custom',
          path: ['after', i, 'after'],
          message: 'a member cannot come after itself',
        });
      }
    });
  });

type GroupBody = z.infer<typeof groupBodySchema>;

const groupsFileSchema = z.strictObject(
  {
    version: z.literal(1, { error: expected('1 (the only version of groups.yaml this ferry reads)') }),
    groups: z
      .record(groupNameSchema, groupBodySchema, { error: expected('a mapping of group name: group') })
      .optional(),
  },
  { error: expected('a mapping with "version: 1" and "groups"') },
);

type GroupsFile = z.infer<typeof groupsFileSchema>;

function validate(r: ReturnType<typeof loadYamlFile<GroupsFile>>): LoadGroupsResult {
  if (!r.ok) {
    // another version's file may differ everywhere: its version is the one thing worth saying
    const version = r.errors.filter((e) => e.message.startsWith('version:'));
    return { ok: false, errors: version.length > 0 ? version : r.errors, path: r.path };
  }
  const groups = Object.entries(r.value.groups ?? {}).map(([name, body]) => toSavedGroup(name, body));
  // file order, which a JS object does not keep for names such as "10"
  const order = groupNamesInOrder(r.doc);
  groups.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return { ok: true, groups, path: r.path };
}

/**
 * The saved groups. A missing file is no groups; anything wrong in the file
 * comes back as errors with file, line and column. Never throws.
 */
export function loadGroups(path: string = groupsFilePath()): LoadGroupsResult {
  return validate(loadYamlFile(path, groupsFileSchema, { missing: { version: 1 } }));
}

/** The same checks on text (for a file not yet written, or tests). */
export function parseGroups(text: string, file = 'groups.yaml'): LoadGroupsResult {
  return validate(parseYamlText(text, file, groupsFileSchema));
}

function toSavedGroup(name: string, b: GroupBody): SavedGroup {
  return {
    name,
    ...(b.description !== undefined ? { description: b.description } : {}),
    members: b.members,
    ...(b.to !== undefined ? { to: b.to } : {}),
    ...(b.destinations !== undefined ? { destinations: b.destinations } : {}),
    ...(b.after !== undefined ? { after: b.after } : {}),
    ...(b.allow !== undefined ? { allow: b.allow } : {}),
  };
}

/** A group as it is written under its name, keys in the documented order. */
function bodyOf(g: SavedGroup): GroupBody {
  return {
    ...(g.description !== undefined ? { description: g.description } : {}),
    members: g.members,
    ...(g.to !== undefined ? { to: g.to } : {}),
    ...(g.destinations !== undefined && Object.keys(g.destinations).length > 0
      ? { destinations: g.destinations }
      : {}),
    ...(g.after !== undefined && g.after.length > 0
      ? {
          after: g.after.map((e) => ({
            member: e.member,
            after: e.after,
            ...(e.note ? { note: e.note } : {}),
          })),
        }
      : {}),
    ...(g.allow !== undefined && g.allow.length > 0 ? { allow: g.allow } : {}),
  };
}

function groupNamesInOrder(doc: Document | undefined): string[] {
  const groups = doc?.get('groups', true);
  return isMap(groups) ? groups.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
}

/**
 * Adds the group to the file, or replaces the group of that name, keeping
 * the file's comments, its other groups and, where values did not change,
 * their comments too. Refuses (returns the errors) when the group is invalid
 * or the existing file is malformed: a file ferry cannot read is not
 * rewritten. Written atomically, 0600 in a 0700 directory.
 */
export function saveGroup(group: SavedGroup, path: string = groupsFilePath()): SaveGroupResult {
  const own = checkGroup(group, path);
  if (own.length > 0) return { ok: false, errors: own, path };

  // an empty file (say, just touched) is somewhere to start, not a broken file
  const existing = loadYamlFile(path, groupsFileSchema, { missing: { version: 1 }, empty: { version: 1 } });
  const valid = validate(existing);
  if (!valid.ok) return valid;
  if (!existing.ok) throw new Error('unreachable: validate() passed a failed load');
  // a missing or empty file starts afresh (keeping an empty file's comments)
  const doc: Document = existing.doc ?? parseDocument('');
  if (doc.contents === null) doc.contents = doc.createNode({ version: 1 });

  let groups = doc.get('groups', true);
  if (!isMap(groups)) {
    doc.set('groups', doc.createNode({}));
    groups = doc.get('groups', true);
  }
  if (!isMap(groups)) throw new Error('groups.yaml: groups is not a mapping after setting it');
  // `groups: {}` would keep a new group on one line
  groups.flow = false;
  const body = bodyOf(group);
  groups.set(group.name, update(doc, groups.get(group.name, true), body));

  const text = doc.toString();
  // what is written must read back the same: anything else is a bug here, not in the file
  const check = parseGroups(text, path);
  const saved = check.ok ? check.groups.find((g) => g.name === group.name) : undefined;
  if (!saved || !isDeepStrictEqual(bodyOf(saved), body)) {
    throw new Error(`saving group ${group.name} would write a file that does not read back as the group`);
  }
  writeFileAtomic(path, text);
  return { ok: true, path };
}

/** The group's own problems, before any file is touched (line 0: they are not in the file). */
function checkGroup(group: SavedGroup, path: string): GroupFileError[] {
  const errors: GroupFileError[] = [];
  const name = groupNameSchema.safeParse(group.name);
  if (!name.success)
    errors.push({ file: path, line: 0, column: 0, message: `groups: ${name.error.issues[0]?.message}` });
  const r = groupBodySchema.safeParse(bodyOf(group));
  if (!r.success) {
    for (const issue of r.error.issues) {
      const where = formatPath(['groups', group.name, ...issue.path]);
      errors.push({ file: path, line: 0, column: 0, message: `${where}: ${issue.message}` });
    }
  }
  return errors;
}

/**
 * The node for `value`, reusing `node` where it already holds the same
 * data so that its comments and style survive.
 */
function update(doc: Document, node: unknown, value: unknown): unknown {
  if (isMap(node) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    for (const pair of [...node.items]) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!entries.some(([key]) => key === k)) node.delete(pair.key);
    }
    for (const [k, v] of entries) node.set(k, update(doc, node.get(k, true), v));
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    const old = [...node.items];
    node.items = value.map((v) => {
      const i = old.findIndex((n) =>
        isDeepStrictEqual(isScalar(n) ? n.value : (n as { toJSON(): unknown }).toJSON(), v),
      );
      if (i >= 0) return old.splice(i, 1)[0];
      return fresh(doc, v, true);
    });
    return node;
  }
  if (
    isScalar(node) &&
    (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
  ) {
    // the comment after a changed value stays with it
    node.value = value;
    return node;
  }
  return fresh(doc, value, false);
}

function fresh(doc: Document, value: unknown, inList: boolean): unknown {
  const n = doc.createNode(value);
  // an edge in a list reads best on one line: { member: a, after: b }
  if (inList && isMap(n)) n.flow = true;
  visit(n, {
    Seq(_, seq) {
      for (const item of seq.items) if (isMap(item)) item.flow = true;
    },
  });
  return n;
}
