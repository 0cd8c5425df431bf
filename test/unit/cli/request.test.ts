// How the command line names a group and its destinations, and the plan as
// a person reads it: bad input is one clear error naming the flag or file.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planJson } from '../../../src/cli/plan-report.ts';
import { formatPlan } from '../../../src/cli/plan-text.ts';
import { type MigrateArgs, optionsFrom, planRequestFrom } from '../../../src/cli/request.ts';
import { UsageError } from '../../../src/cli/usage.ts';
import { type MigrationPlan, plannedCreate } from '../../../src/migrate/survey.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';
import { cliArgs } from '../support/cli.ts';
import { mk } from '../support/containers.ts';

const req = (f: Parameters<typeof planRequestFrom>[0], groupsFile?: string) =>
  planRequestFrom(f, DEFAULT_OPTIONS, groupsFile);

describe('planRequestFrom', () => {
  it('members, destinations and a per-member map', () => {
    const r = req({
      containers: 'alpha:wf-sink-1, alpha:docker/wfd-sink-1',
      to: 'beta',
      map: 'alpha:wf-sink-1=gamma',
    });
    expect(r.members).toEqual([
      { host: 'alpha', name: 'wf-sink-1' },
      { host: 'alpha', runtime: 'docker', name: 'wfd-sink-1' },
    ]);
    expect(r.to).toBe('beta');
    expect(r.destinations).toEqual({ 'alpha:wf-sink-1': 'gamma' });
  });

  it('a compose project needs its host', () => {
    expect(req({ composeProject: 'wf', host: 'alpha', to: 'beta' }).compose).toEqual({
      host: 'alpha',
      project: 'wf',
    });
    expect(() => req({ composeProject: 'wf', to: 'beta' })).toThrow(/--compose-project needs --host/);
  });

  it('refuses what cannot be a group or a destination, naming the flag', () => {
    expect(() => req({ to: 'beta' })).toThrow(UsageError);
    expect(() => req({ to: 'beta' })).toThrow(/name the group/);
    expect(() => req({ containers: 'a:x', group: 'g', to: 'beta' })).toThrow(/one of --containers, --group/);
    expect(() => req({ containers: 'alpha:x' })).toThrow(/name the destination/);
    expect(() => req({ containers: 'nocolon', to: 'beta' })).toThrow(
      /--containers: 'nocolon' is not host:name/,
    );
    expect(() => req({ containers: ' , ', to: 'beta' })).toThrow(/--containers needs/);
    expect(() => req({ containers: 'alpha:x', map: 'alpha:x' })).toThrow(
      /--map: 'alpha:x' is not host:name=destination/,
    );
    expect(() => req({ containers: 'alpha:x', map: 'alpha:x=' })).toThrow(/names no destination/);
  });

  it('a saved group: its members, to, destinations and after; the command line wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-req-'));
    const file = join(dir, 'groups.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'groups:',
        '  pair:',
        '    members: [alpha:wf-sink-1, alpha:podman/wf-parse-1]',
        '    to: beta',
        '    destinations: { alpha:wf-sink-1: gamma }',
        '    after: [{ member: alpha:wf-sink-1, after: alpha:podman/wf-parse-1 }]',
        '    allow: [host-network]',
        '',
      ].join('\n'),
    );
    const r = req({ group: 'pair' }, file);
    // the group's allow list adds to the command line's
    expect(r.options.allow).toEqual(['host-network']);
    expect(
      planRequestFrom({ group: 'pair' }, { ...DEFAULT_OPTIONS, allow: ['privileged'] }, file).options.allow,
    ).toEqual(['privileged', 'host-network']);
    expect(r.members.map((m) => m.name)).toEqual(['wf-sink-1', 'wf-parse-1']);
    expect(r.to).toBe('beta');
    expect(r.destinations).toEqual({ 'alpha:wf-sink-1': 'gamma' });
    expect(r.after).toEqual([
      {
        member: { host: 'alpha', name: 'wf-sink-1' },
        after: { host: 'alpha', runtime: 'podman', name: 'wf-parse-1' },
      },
    ]);
    const over = req({ group: 'pair', to: 'delta', map: 'alpha:wf-sink-1=epsilon' }, file);
    expect(over.to).toBe('delta');
    expect(over.destinations).toEqual({ 'alpha:wf-sink-1': 'epsilon' });
    expect(() => req({ group: 'nope' }, file)).toThrow(
      /no group named nope in .*groups\.yaml \(there are: pair\)/,
    );
    await writeFile(file, 'version: 1\ngroups:\n  pair:\n    members: [alpha:x]\n    tooo: beta\n');
    expect(() => req({ group: 'pair' }, file)).toThrow(/groups\.yaml:5:5: .*tooo/);
  });
});

const plan = (): MigrationPlan => {
  const ids = ['alpha/podman/a-very-long-container-name-that-goes-on-and-on', 'alpha/podman/wf-sink-1'];
  return {
    items: ids.map((id) => {
      const [host = '', runtime, name = ''] = id.split('/');
      return {
        id,
        container: { host, runtime: runtime as 'podman', name },
        destination: 'a-destination-host',
      };
    }),
    options: DEFAULT_OPTIONS,
    edges: [[ids[1] as string, ids[0] as string]],
    memoryBytes: { [ids[0] as string]: 68_000_000, [ids[1] as string]: 1_200_000_000 },
    estimates: Object.fromEntries(
      ids.map((id) => [id, { checkpointMs: 470.4, transferMs: 1270, restoreMs: 444 }]),
    ),
    links: { 'alpha->a-destination-host': { bytesPerSec: 52_000_000, zstd: false } },
    models: {},
    predicted: {
      makespanMs: 3000,
      sequentialMs: 4000,
      downtimeMs: { [ids[0] as string]: 2184, [ids[1] as string]: 2200 },
      stages: [{ id: ids[0] as string, stage: 'checkpoint', startMs: 0, endMs: 470 }],
    },
    findings: [{ id: ids[1] as string, severity: 'blocker', code: 'name-conflict', message: 'taken' }],
    creates: {
      [ids[0] as string]: plannedCreate(
        mk('a-very-long-container-name-that-goes-on-and-on', {
          copyArgv: { sameAddress: HOSTILE_ARGV, newAddress: HOSTILE_ARGV },
        }),
        DEFAULT_OPTIONS,
      ),
      [ids[1] as string]: plannedCreate(mk('wf-sink-1', { copyArgv: null }), DEFAULT_OPTIONS),
    },
    blocked: true,
    planMs: 1800,
  };
};

describe('optionsFrom: the option flags', () => {
  const args = cliArgs;

  it('defaults for the flags not given, the given values as they are', () => {
    expect(optionsFrom(args())).toMatchObject({
      strategy: 'auto',
      compress: 'auto',
      transfer: 'relay',
      restorePath: 'auto',
      tcpEstablished: false,
      tcpClose: false,
      newAddress: false,
    });
    expect(
      optionsFrom(
        args({
          strategy: 'pipelined',
          compress: 'zstd',
          transfer: 'direct',
          restorePath: 'import',
          tcpClose: true,
          newAddress: true,
          keepSource: true,
        }),
      ),
    ).toMatchObject({
      strategy: 'pipelined',
      compress: 'zstd',
      transfer: 'direct',
      restorePath: 'import',
      tcpEstablished: false,
      tcpClose: true,
      newAddress: true,
      keepSource: true,
    });
  });

  it('a wrong value is a usage error naming the flag and what it takes', () => {
    const refused = (over: Partial<MigrateArgs>) => {
      try {
        optionsFrom(args(over));
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ strategy: 'fast' })).toBe(
      '--strategy must be one of sequential, pipelined, parallel, auto',
    );
    expect(refused({ strategy: '' })).toBe('--strategy must be one of sequential, pipelined, parallel, auto');
    expect(refused({ compress: 'gzip' })).toBe('--compress must be auto, none or zstd');
    expect(refused({ transfer: 'scp' })).toBe('--transfer must be relay, direct or auto');
    expect(refused({ tcpEstablished: true, tcpClose: true })).toBe(
      '--tcp-established and --tcp-close exclude each other',
    );
    expect(refused({ restorePath: 'copy' })).toBe('--restore-path must be auto, precreate or import');
    // several wrong: the first in the order strategy, compress, transfer, tcp, restore path
    expect(refused({ strategy: 'x', compress: 'x', transfer: 'x' })).toMatch(/^--strategy/);
    expect(refused({ compress: 'x', transfer: 'x' })).toMatch(/^--compress/);
    expect(refused({ tcpEstablished: true, tcpClose: true, restorePath: 'x' })).toMatch(/^--tcp-established/);
  });
});

// as the podman adapter keeps it: env values elided; a label carrying a terminal escape (OSC 52)
const HOSTILE_ARGV = [
  'podman',
  'create',
  '--name',
  'a-very-long-container-name-that-goes-on-and-on',
  '-e',
  'SECRET_TOKEN=…',
  '--label',
  'evil=\u001b]52;c;aGk=\u0007',
  '-v',
  `/srv/${'d'.repeat(90)} ;$(touch x)|x:/data`,
  'localhost/img:latest',
];

describe('the plan, printed', () => {
  it('fits 80 columns and says what blocks', () => {
    const text = formatPlan(plan());
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toContain('alpha/podman/a-very-long-conta…');
    expect(text).toMatch(/predicted makespan 3\.0 s \(one by one: 4\.0 s, 25% less\)/);
    expect(text).toMatch(/BLOCKERS \(1\)[^\n]*\n {2}alpha\/podman\/wf-sink-1: taken \[name-conflict\]/);
  });

  it("says where a link's rate came from when this plan did not measure it", () => {
    const p = plan();
    expect(formatPlan(p)).toMatch(/link alpha -> a-destination-host: 52 MB\/s, uncompressed/);
    const remembered = (kind: 'transfer' | 'estimate') => ({
      ...p,
      links: {
        'alpha->a-destination-host': {
          bytesPerSec: 52_000_000,
          zstd: false,
          source: { kind, bytesPerSec: 52_000_000, at: 1, bytes: 1e8 },
        },
      },
    });
    const text = formatPlan(remembered('transfer'));
    expect(text).toMatch(
      /link alpha -> a-destination-host: 52 MB\/s, uncompressed, relayed\n {2}the rate a transfer reached in the last minutes\n/,
    );
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(formatPlan(remembered('estimate'))).toMatch(
      /relayed\n {2}the rate a plan measured in the last minutes\n/,
    );
    expect(formatPlan(p)).not.toMatch(/in the last minutes/);
  });

  it('shows what each destination creates: the whole create line, quoted, escaped, env values elided', () => {
    const text = formatPlan(plan());
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    const section = text.slice(text.indexOf('created on the destination'));
    // the lines of the first member: nothing of its command is cut
    const first = section.slice(section.indexOf('\n  1 ') + 1, section.indexOf('\n  2 '));
    const joined = first.replace(/\n {4}/g, ' ');
    expect(joined).toMatch(
      /^ {2}1 a-very-long-container-name-that-goes-on-and-on on a-destination-host: podman create --name a-very/,
    );
    expect(joined).toContain("-e 'SECRET_TOKEN=…' --label 'evil=\\u001b]52;c;aGk=\\u0007' -v '/srv/");
    expect(text).not.toContain('\u001b');
    expect(first.replace(/\n {4}/g, '')).toContain(`'/srv/${'d'.repeat(90)}`);
    expect(joined).toContain(";$(touch x)|x:/data' localhost/img:latest");
    expect(section).toMatch(
      /\n {2}2 wf-sink-1 on a-destination-host: none: podman recorded no create command/,
    );
  });

  it('JSON: rounded estimates, edges by name, the saving in percent', () => {
    const j = planJson(plan());
    expect(j.items[0]?.estimate.checkpointMs).toBe(470);
    expect(j.edges).toEqual([{ before: 'alpha/podman/wf-sink-1', after: j.items[0]?.id }]);
    expect(j.predicted.savedPercent).toBe(25);
    expect(j.items[0]?.create?.argv).toContain('evil=\\u001b]52;c;aGk=\\u0007');
    expect(j.items[0]?.create?.argv).toContain('SECRET_TOKEN=…');
    expect(j.items[1]?.create).toEqual({
      argv: null,
      line: 'none: podman recorded no create command for it, so it cannot be pre-created',
    });
    expect(j.links).toEqual([
      {
        from: 'alpha',
        to: 'a-destination-host',
        bytesPerSec: 52_000_000,
        compression: 'none',
        transfer: 'relay',
      },
    ]);
  });
});
