// The docker driver reads `docker container inspect` field by field
// (runtime/json.ts): on what real docker printed (captured on the lab) the
// copy's create line is the same as from the raw output; what a hostile host
// prints in other types is absent or, where it would reach the command line,
// refused.
import { describe, expect, it } from 'vitest';
import { readDockerInspect } from '../../../src/migrate/docker.ts';
import { StageError } from '../../../src/migrate/driver.ts';
import { createArgvFromInspect } from '../../../src/runtime/create-argv.ts';
import { type JsonObject, obj, parseJsonArray } from '../../../src/runtime/json.ts';
import { parsedFixture } from '../support/fixtures.ts';

const captured = parseJsonArray(parsedFixture('probe-beta').sections.get('docker.containers')?.stdout ?? '');
// and one of them as a compose service on its project's network, with aliases
const first = captured[0] ?? {};
const containers: JsonObject[] = [
  ...captured,
  {
    ...first,
    HostConfig: { ...obj(first.HostConfig), NetworkMode: 'wfd_default' },
    NetworkSettings: {
      Networks: {
        wfd_default: { IPAddress: '172.20.0.5', GlobalIPv6Address: '', Aliases: ['enrich', 'wfd-enrich-1'] },
      },
    },
  },
];

describe('docker inspect, read field by field', () => {
  it("real docker's output gives the same create line as before (the raw object, cast)", () => {
    expect(captured.length).toBeGreaterThanOrEqual(3);
    for (const raw of containers) {
      const c = readDockerInspect(raw, 'beta');
      // the raw object is what the driver used before, unchecked
      const before = createArgvFromInspect(raw as unknown as Parameters<typeof createArgvFromInspect>[0]);
      expect(createArgvFromInspect(c)).toEqual(before);
      expect(createArgvFromInspect(c, { newAddress: true })).toEqual(
        createArgvFromInspect(raw as unknown as Parameters<typeof createArgvFromInspect>[0], {
          newAddress: true,
        }),
      );
      expect([c.Id, c.Name, c.Config.Image]).toEqual([
        raw.Id,
        raw.Name,
        (raw.Config as { Image: string }).Image,
      ]);
    }
  });

  it('a field of another type is absent; a list or map for the command line that is not strings is refused', () => {
    const c = readDockerInspect(
      { Id: ['x'], Name: '/web', Config: { Image: 'web:1', Tty: 'yes' }, HostConfig: { ShmSize: 'big' } },
      'beta: web',
    );
    expect(c).toMatchObject({ Id: '', Name: '/web', Config: { Image: 'web:1', Tty: false } });
    expect(c.HostConfig.ShmSize).toBeUndefined();
    const cmd = () => readDockerInspect({ Config: { Image: 'web:1', Cmd: ['sh', { x: 1 }] } }, 'beta: web');
    expect(cmd).toThrow(StageError);
    expect(cmd).toThrow('beta: web: docker inspect gives Config.Cmd that is not a list of strings');
    expect(() => readDockerInspect({ Config: { Labels: { a: 1 } } }, 'beta: web')).toThrow(
      /Config\.Labels that is not a map of strings/,
    );
    expect(() => readDockerInspect({ HostConfig: { CapAdd: 'ALL' } }, 'beta: web')).toThrow(
      /HostConfig\.CapAdd/,
    );
  });
});
