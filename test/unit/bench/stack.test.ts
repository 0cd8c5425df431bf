import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { containerName, projectOf, WORKLOADS } from '../../../scripts/bench/lab.ts';
import { dockerCreate, STACK_IMAGE } from '../../../scripts/bench/stack.ts';

// the manual method recreates the stack's containers by hand on docker: it must
// create what docker-compose created from the lab's compose file
const compose = parse(
  readFileSync(new URL('../../../scripts/labkit/stack/compose.yaml', import.meta.url), 'utf8'),
) as {
  services: Record<
    string,
    {
      image: string;
      command: string[];
      environment?: Record<string, string>;
      volumes?: string[];
      ports?: string[];
    }
  >;
};
const stack = WORKLOADS.stack;

describe('the compose stack as a bench workload', () => {
  it('names projects and containers as the lab stack and compose do', () => {
    if (!stack) throw new Error('no stack workload');
    expect(projectOf('podman', stack)).toBe('fs');
    expect(projectOf('docker', stack)).toBe('fsd');
    expect(stack.members.map((m) => containerName('docker', stack, m))).toEqual([
      'fsd_store_1',
      'fsd_client_1',
      'fsd_web_1',
    ]);
    expect(stack.members.map((m) => m.svc).sort()).toEqual(Object.keys(compose.services).sort());
    const wf4 = WORKLOADS.wf4;
    if (!wf4) throw new Error('no wf4 workload');
    expect(containerName('podman', wf4, wf4.members[0] as (typeof wf4.members)[number])).toBe(
      'bp-wf4-producer',
    );
  });

  it('creates each docker service by hand with compose file command, environment, volume and port', () => {
    if (!stack) throw new Error('no stack workload');
    for (const [svc, s] of Object.entries(compose.services)) {
      const line = dockerCreate('docker', stack, svc, 'fsd_default', '10.1.2.3');
      expect(s.image).toBe(STACK_IMAGE);
      const argv = s.command.map((a) => (a === '' ? "''" : a)).join(' ');
      expect(line.endsWith(`${STACK_IMAGE} ${argv}`), `${svc}: ${line}`).toBe(true);
      expect(line).toContain(`--name fsd_${svc}_1`);
      expect(line).toContain(`--network fsd_default --ip 10.1.2.3 --network-alias ${svc}`);
      for (const [k, val] of Object.entries(s.environment ?? {})) expect(line).toContain(`-e ${k}=${val}`);
      for (const v of s.volumes ?? []) expect(line).toContain(`-v fsd_${v}`);
      for (const p of s.ports ?? []) expect(line).toContain(`-p 8381:${p.split(':').at(-1)}`);
    }
  });
});
