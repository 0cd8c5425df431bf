// The podman driver reads `podman container inspect` and `podman info` field
// by field (runtime/json.ts): on what real podman printed (captured on the
// lab) it reads exactly what is there; what a hostile host prints in other
// types is absent, and a command line or environment that is not a list of
// strings is refused.
import { describe, expect, it } from 'vitest';
import { StageError } from '../../../src/migrate/driver.ts';
import { readPodmanInfo, readPodmanInspect } from '../../../src/migrate/podman.ts';
import { type JsonObject, parseJsonArray, parseJsonObject } from '../../../src/runtime/json.ts';
import { parsedFixture } from '../support/fixtures.ts';

const sections = parsedFixture('probe-beta').sections;
const section = (name: string) => sections.get(name)?.stdout ?? '';
const at = (o: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

const FIELDS = [
  ['Id'],
  ['Name'],
  ['ImageName'],
  ['Image'],
  ['StaticDir'],
  ['State', 'Status'],
  ['GraphDriver', 'Data', 'UpperDir'],
  ['HostConfig', 'NetworkMode'],
] as const;

describe('podman inspect, read field by field', () => {
  const containers = parseJsonArray(section('podman.containers'));

  it('reads what real podman printed as it is', () => {
    expect(containers.length).toBeGreaterThan(3);
    for (const raw of containers) {
      const c = readPodmanInspect(raw, 'beta');
      for (const path of FIELDS) expect(at(c, path), path.join('.')).toEqual(at(raw, path));
      expect(c.Config?.CreateCommand).toEqual(at(raw, ['Config', 'CreateCommand']) ?? null);
      expect(c.Config?.Env).toEqual(at(raw, ['Config', 'Env']) ?? null);
      expect(c.HostConfig?.AutoRemove).toBe(at(raw, ['HostConfig', 'AutoRemove']) === true);
      expect(c.Mounts).toEqual(
        ((raw.Mounts ?? []) as JsonObject[]).map((m) => ({
          Type: m.Type,
          Name: m.Name,
          Source: m.Source,
          Destination: m.Destination,
        })),
      );
      const nets = (at(raw, ['NetworkSettings', 'Networks']) ?? {}) as Record<string, JsonObject>;
      expect(c.NetworkSettings?.Networks).toEqual(
        Object.fromEntries(Object.entries(nets).map(([k, n]) => [k, { IPAddress: n.IPAddress }])),
      );
    }
  });

  it('a field of another type is absent; a command line that is not strings is refused, naming it', () => {
    const c = readPodmanInspect(
      {
        Id: ['x'],
        Name: { a: 1 },
        StaticDir: 7,
        Mounts: 'none',
        NetworkSettings: { Networks: [{ IPAddress: '10.0.0.9' }] },
        HostConfig: { AutoRemove: 'yes' },
      },
      'beta: web',
    );
    expect(c).toMatchObject({ Id: '', Name: '', StaticDir: undefined, Mounts: [] });
    expect(c.NetworkSettings?.Networks).toEqual({});
    expect(c.HostConfig?.AutoRemove).toBe(false);
    const bad = () => readPodmanInspect({ Config: { CreateCommand: ['podman', 'run', 5] } }, 'beta: web');
    expect(bad).toThrow(StageError);
    expect(bad).toThrow('beta: web: podman inspect gives Config.CreateCommand that is not a list of strings');
    expect(() => readPodmanInspect({ Config: { Env: 'A=1' } }, 'beta: web')).toThrow(/Config\.Env/);
  });
});

describe('podman info, read field by field', () => {
  it('reads what real podman printed as it is, and nothing from other types', () => {
    const raw = parseJsonObject(section('podman.info'));
    const info = readPodmanInfo(raw);
    expect(info.store?.runRoot).toBe(at(raw, ['store', 'runRoot']));
    expect(info.store?.graphRoot).toBe(at(raw, ['store', 'graphRoot']));
    expect(info.version?.Version).toBe(at(raw, ['version', 'Version']));
    expect(info.host?.security?.capabilities).toBe(at(raw, ['host', 'security', 'capabilities']));
    expect(info.host?.security?.seccompEnabled).toBe(at(raw, ['host', 'security', 'seccompEnabled']));
    expect(info.store?.runRoot).toMatch(/^\//);
    expect(readPodmanInfo({ store: { runRoot: 3 }, version: [] })).toMatchObject({
      store: { runRoot: undefined },
      version: { Version: undefined },
    });
  });
});
