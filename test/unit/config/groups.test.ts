// groups.yaml: every malformed file is reported at the exact line:column
// with what was expected; saving keeps comments and other groups, writes
// atomically with private permissions, and refuses to touch a broken file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatGroupError,
  loadGroups,
  parseGroups,
  parseMemberSpec,
  type SavedGroup,
  saveGroup,
} from '../../../src/config/groups.ts';
import { ferryDir, groupsFilePath } from '../../../src/config/paths.ts';

/** [name, file text, expected `line:column: message substring` of each error] */
const MALFORMED: [string, string, string[]][] = [
  [
    'bad indentation',
    'version: 1\ngroups:\n  web:\n    members:\n      - alpha:a\n     to: beta\n',
    ['6:6: invalid YAML: All mapping items must start at the same column'],
  ],
  [
    'tab as indentation',
    'version: 1\ngroups:\n  web:\n\tmembers: [alpha:a]\n',
    ['4:1: invalid YAML: Tabs are not allowed as indentation'],
  ],
  [
    'unclosed quote (reported where it opens)',
    'version: 1\ngroups:\n  web:\n    description: "oops\n    members: [alpha:a]\n',
    ['4:18: invalid YAML: Missing closing "quote: the string opened here runs to the end of the file'],
  ],
  [
    'members is a string, not a list',
    'version: 1\ngroups:\n  web:\n    members: alpha:a\n',
    ['4:14: groups.web.members: expected a list of host:name or host:runtime/name, got "alpha:a"'],
  ],
  [
    'unknown key (a typo is not ignored)',
    'version: 1\ngroups:\n  web:\n    members: [alpha:a]\n    destination: beta\n',
    ['5:5: groups.web.destination: unknown key "destination" (did you mean "destinations"?)'],
  ],
  [
    'member: instead of members:',
    'version: 1\ngroups:\n  web:\n    member: [alpha:a]\n',
    [
      '3:3: groups.web.members: missing, expected a list of host:name or host:runtime/name',
      '4:5: groups.web.member: unknown key "member" (did you mean "members"?)',
    ],
  ],
  [
    'unknown top-level key',
    'version: 1\ngrups: {}\n',
    ['2:1: grups: unknown key "grups" (did you mean "groups"?)'],
  ],
  [
    'missing members',
    'version: 1\ngroups:\n  web:\n    to: beta\n',
    ['3:3: groups.web.members: missing, expected a list of host:name or host:runtime/name'],
  ],
  [
    'members with nothing after it',
    'version: 1\ngroups:\n  web:\n    members:\n    to: beta\n',
    ['4:5: groups.web.members: expected a list of host:name or host:runtime/name, got nothing'],
  ],
  [
    'empty member list',
    'version: 1\ngroups:\n  web:\n    members: []\n',
    [
      '4:14: groups.web.members: expected at least one member (host:name or host:runtime/name), got an empty list',
    ],
  ],
  [
    'bad member specs',
    'version: 1\ngroups:\n  web:\n    members:\n      - alpha:a\n      - 42\n      - nohost\n',
    [
      '6:9: groups.web.members[1]: expected host:name or host:runtime/name, got 42',
      '7:9: groups.web.members[2]: expected host:name or host:runtime/name, got "nohost"',
    ],
  ],
  [
    'a member listed twice (with and without its runtime)',
    'version: 1\ngroups:\n  web:\n    members:\n      - alpha:a\n      - alpha:podman/a\n',
    ['6:9: groups.web.members[1]: alpha:podman/a is listed twice (also members[0])'],
  ],
  [
    'duplicate group key',
    'version: 1\ngroups:\n  web:\n    members: [alpha:a]\n  web:\n    members: [alpha:b]\n',
    ['5:3: invalid YAML: duplicate key web'],
  ],
  [
    'after names a non-member',
    'version: 1\ngroups:\n  web:\n    members: [alpha:a, alpha:b]\n    after:\n      - { member: alpha:a, after: alpha:c }\n',
    ['6:35: groups.web.after[0].after: expected a member of this group, got alpha:c'],
  ],
  [
    'a member after itself',
    'version: 1\ngroups:\n  web:\n    members: [alpha:a]\n    after:\n      - { member: alpha:a, after: alpha:a }\n',
    ['6:35: groups.web.after[0].after: a member cannot come after itself'],
  ],
  [
    'destination for a non-member, and a bad host',
    "version: 1\ngroups:\n  web:\n    members: [alpha:a]\n    destinations:\n      alpha:b: gamma\n      alpha:a: 'two words'\n",
    [
      '6:7: groups.web.destinations["alpha:b"]: expected a member of this group, got alpha:b',
      '7:16: groups.web.destinations["alpha:a"]: expected a host name (no spaces or commas), got "two words"',
    ],
  ],
  [
    'version 2 (only the version is reported)',
    'version: 2\ngroups:\n  web:\n    memberz: [alpha:a]\n',
    ['1:10: version: expected 1 (the only version of groups.yaml this ferry reads), got 2'],
  ],
  ['no version', 'groups:\n  web:\n    members: [alpha:a]\n', ['1:1: version: missing, expected 1']],
  [
    'a list instead of a mapping',
    '- alpha:a\n- alpha:b\n',
    ['1:1: expected a mapping with "version: 1" and "groups", got a list'],
  ],
  ['an empty file', '', ['1:1: expected a mapping with "version: 1" and "groups", got nothing']],
  [
    'a group name with a space',
    "version: 1\ngroups:\n  'web pipe':\n    members: [alpha:a]\n",
    ['3:3: groups["web pipe"]: expected a group name (letters, digits, ".", "_", "-"), got "web pipe"'],
  ],
  [
    'a group with nothing in it',
    'version: 1\ngroups:\n  web:\n',
    ['3:3: groups.web: expected a mapping with members'],
  ],
  [
    'an allow name ferry does not know',
    'version: 1\ngroups:\n  web:\n    members: [alpha:a]\n    allow: [host-network, everything]\n',
    ['5:27: groups.web.allow[1]: expected an --allow name (privileged, '],
  ],
];

/** The documented example, as saveGroup writes it. */
const WEB_LINES = [
  'version: 1',
  'groups:',
  '  web-pipeline:',
  '    description: the sample workflow',
  '    members:',
  '      - alpha:podman/wf-producer-1',
  '      - alpha:wf-parse-1',
  '      - alpha:wf-enrich-1',
  '      - alpha:wf-sink-1',
  '    to: beta',
  '    destinations:',
  '      alpha:wf-parse-1: gamma',
  '    after:',
  '      - { member: alpha:wf-sink-1, after: alpha:wf-enrich-1, note: why }',
];
const WEB: SavedGroup = {
  name: 'web-pipeline',
  description: 'the sample workflow',
  members: ['alpha:podman/wf-producer-1', 'alpha:wf-parse-1', 'alpha:wf-enrich-1', 'alpha:wf-sink-1'],
  to: 'beta',
  destinations: { 'alpha:wf-parse-1': 'gamma' },
  after: [{ member: 'alpha:wf-sink-1', after: 'alpha:wf-enrich-1', note: 'why' }],
};

describe('groups.yaml: malformed files', () => {
  it.each(MALFORMED)('%s', (_name, text, want) => {
    const r = parseGroups(text, 'groups.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(want.length);
    r.errors.forEach((e, i) => {
      const line = formatGroupError(e);
      const [pos = '', ...rest] = (want[i] ?? '').split(': ');
      expect(line.startsWith(`groups.yaml:${pos}: `), line).toBe(true);
      expect(line).toContain(rest.join(': '));
      expect(line).not.toContain('\n');
      expect(e.file).toBe('groups.yaml');
    });
  });

  it('allow: the --allow names of a group', () => {
    const r = parseGroups(
      'version: 1\ngroups:\n  web:\n    members: [alpha:a]\n    allow: [host-network, bind:/srv/x]\n',
    );
    expect(r.ok && r.groups[0]?.allow).toEqual(['host-network', 'bind:/srv/x']);
  });

  it('the corpus is large enough to mean something', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(14);
  });
});

describe('groups.yaml: reading', () => {
  it('reads the documented format, groups in file order', () => {
    const r = parseGroups([...WEB_LINES, '  "10":', '    members: [beta:x]', ''].join('\n'));
    expect(r).toEqual({ ok: true, path: 'groups.yaml', groups: [WEB, { name: '10', members: ['beta:x'] }] });
  });

  it('a missing file is zero groups; an unreadable path is an error, not a throw', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-groups-'));
    try {
      expect(loadGroups(join(dir, 'nope.yaml'))).toEqual({
        ok: true,
        groups: [],
        path: join(dir, 'nope.yaml'),
      });
      const r = loadGroups(dir);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(formatGroupError(r.errors[0] as never)).toMatch(/EISDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('member specs: host:name and host:runtime/name', () => {
    expect(parseMemberSpec('alpha:wf-sink-1')).toEqual({ host: 'alpha', name: 'wf-sink-1' });
    expect(parseMemberSpec('alpha:docker/wfd-sink-1')).toEqual({
      host: 'alpha',
      runtime: 'docker',
      name: 'wfd-sink-1',
    });
    // an unknown runtime prefix is part of the name, as on the command line
    expect(parseMemberSpec('alpha:lxc/x')).toEqual({ host: 'alpha', name: 'lxc/x' });
    expect(parseMemberSpec('alpha')).toBeNull();
    expect(parseMemberSpec(':x')).toBeNull();
  });

  it('paths follow XDG_CONFIG_HOME, and ignore a relative one as the spec says', () => {
    expect(groupsFilePath({ XDG_CONFIG_HOME: '/cfg', HOME: '/home/u' })).toBe('/cfg/ferry/groups.yaml');
    expect(groupsFilePath({ HOME: '/home/u' })).toBe('/home/u/.config/ferry/groups.yaml');
    expect(groupsFilePath({ XDG_CONFIG_HOME: 'rel', HOME: '/home/u' })).toBe(
      '/home/u/.config/ferry/groups.yaml',
    );
    expect(ferryDir('state', { HOME: '/home/u' })).toBe('/home/u/.local/state/ferry');
  });
});

describe('groups.yaml: saving', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-groups-'));
    file = join(dir, 'ferry', 'groups.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round trip: what is saved loads back the same, in the documented layout', () => {
    expect(saveGroup(WEB, file)).toEqual({ ok: true, path: file });
    expect(loadGroups(file)).toEqual({ ok: true, groups: [WEB], path: file });
    expect(readFileSync(file, 'utf8')).toBe(`${WEB_LINES.join('\n')}\n`);
  });

  it('file 0600 in a 0700 directory, written through a temp file that does not stay behind', () => {
    saveGroup(WEB, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ferry')).mode & 0o777).toBe(0o700);
    // an existing, more open file is replaced by a private one
    writeFileSync(file, 'version: 1\n', { mode: 0o644 });
    saveGroup(WEB, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'ferry'))).toEqual(['groups.yaml']);
  });

  it('keeps comments and other groups; replacing a group keeps the comments of what stayed', () => {
    mkdirSync(join(dir, 'ferry'));
    writeFileSync(
      file,
      [
        '# my groups',
        'version: 1',
        'groups:',
        '  # the pipeline',
        '  web-pipeline:',
        '    members:',
        '      - alpha:wf-sink-1   # the end',
        '      - alpha:old-1',
        '    to: beta  # for now',
        '  db:  # keep me',
        '    members: [beta:pg-1]',
        '',
      ].join('\n'),
    );
    expect(
      saveGroup({ name: 'web-pipeline', members: ['alpha:wf-sink-1', 'alpha:new-1'], to: 'gamma' }, file),
    ).toEqual({
      ok: true,
      path: file,
    });
    const text = readFileSync(file, 'utf8');
    for (const kept of [
      '# my groups',
      '# the pipeline',
      '- alpha:wf-sink-1 # the end',
      'to: gamma # for now',
      '# keep me',
    ]) {
      expect(text).toContain(kept);
    }
    expect(text).not.toContain('old-1');
    expect(saveGroup({ name: 'batch', members: ['gamma:job-1'] }, file).ok).toBe(true);
    const r = loadGroups(file);
    expect(r.ok && r.groups.map((g) => [g.name, g.members])).toEqual([
      ['web-pipeline', ['alpha:wf-sink-1', 'alpha:new-1']],
      ['db', ['beta:pg-1']],
      ['batch', ['gamma:job-1']],
    ]);
  });

  it('an empty file (just touched) is filled, keeping its comments', () => {
    mkdirSync(join(dir, 'ferry'));
    writeFileSync(file, '# saved by hand and by ferry\n');
    expect(saveGroup(WEB, file).ok).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(/^# saved by hand and by ferry\n/);
    expect(loadGroups(file)).toEqual({ ok: true, groups: [WEB], path: file });
  });

  it('refuses to overwrite a malformed file and returns its errors', () => {
    mkdirSync(join(dir, 'ferry'));
    const broken = 'version: 1\ngroups:\n  web:\n    memberz: [alpha:a]\n';
    writeFileSync(file, broken);
    const r = saveGroup(WEB, file);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors.map(formatGroupError)).toContain(
        `${file}:4:5: groups.web.memberz: unknown key "memberz" (did you mean "members"?)`,
      );
    expect(readFileSync(file, 'utf8')).toBe(broken);
  });

  it('refuses an invalid group without touching the file', () => {
    const r = saveGroup(
      { name: 'bad name', members: ['alpha:a', 'alpha:a'], after: [{ member: 'alpha:a', after: 'alpha:z' }] },
      file,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map(formatGroupError)).toEqual([
        `${file}: groups: expected a group name (letters, digits, ".", "_", "-"), got "bad name"`,
        `${file}: groups["bad name"].members[1]: alpha:a is listed twice (also members[0])`,
        `${file}: groups["bad name"].after[0].after: expected a member of this group, got alpha:z`,
      ]);
    }
    expect(() => statSync(file)).toThrow();
  });
});

describe('groups.yaml: references', () => {
  it('a reference without a runtime that matches both runtimes is ambiguous', () => {
    const r = parseGroups(
      'version: 1\ngroups:\n  g:\n    members: [alpha:podman/x, alpha:docker/x, alpha:y]\n    after: [{ member: alpha:x, after: alpha:y }]\n',
    );
    expect(r.ok ? [] : r.errors.map(formatGroupError)).toEqual([
      'groups.yaml:5:23: groups.g.after[0].member: alpha:x matches alpha:podman/x and alpha:docker/x: name the runtime (host:runtime/name)',
    ]);
  });
});
