// `ferry hosts` and `ferry ps` against the lab, over ferry's own SSH pool:
// the sample workflow with its compose projects, gamma through the bastion,
// and a host that cannot be reached (named on stderr, exit 1, the others
// still listed). --json is checked against the documented interfaces.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type HostsJson,
  hostsCommand,
  type InventoryArgs,
  type PsJson,
  psCommand,
} from '../../src/cli/inventory.ts';
import { SKIP_LAB, SSH_CONFIG } from '../support/lab.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

async function run(cmd: typeof hostsCommand, args: InventoryArgs) {
  const out = new Capture();
  const err = new Capture();
  const code = await cmd(args, out, err);
  return { code, out: out.text, err: err.text };
}

// The documented shapes, strict: a field added to or dropped from the interfaces fails here.
const runtimeSchema = z
  .strictObject({
    status: z.enum(['ok', 'missing', 'error']),
    version: z.string().nullable(),
    containers: z.number().int().nonnegative().nullable(),
  })
  .nullable();
const hostsSchema = z.strictObject({
  hosts: z.array(
    z.strictObject({
      name: z.string(),
      address: z.string().nullable(),
      user: z.string().nullable(),
      jumpChain: z.array(z.string()),
      via: z.array(z.string()),
      reachable: z.boolean(),
      error: z.string().nullable(),
      podman: runtimeSchema,
      docker: runtimeSchema,
      criu: z
        .strictObject({
          status: z.enum(['ok', 'missing', 'broken', 'unknown']),
          version: z.string().nullable(),
        })
        .nullable(),
      containers: z.number().int().nonnegative().nullable(),
      problems: z.array(z.string()),
    }),
  ),
});
const psSchema = z.strictObject({
  containers: z.array(
    z.strictObject({
      host: z.string(),
      runtime: z.enum(['podman', 'docker']),
      name: z.string(),
      id: z.string(),
      spec: z.string(),
      image: z.string(),
      state: z.enum(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead', 'unknown']),
      memoryBytes: z.number().nullable(),
      project: z.string().nullable(),
      service: z.string().nullable(),
      pod: z.string().nullable(),
    }),
  ),
  errors: z.array(
    z.strictObject({ host: z.string(), runtime: z.enum(['podman', 'docker']).nullable(), error: z.string() }),
  ),
});
// and the schemas are the interfaces, both ways
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const hostsShape: Same<z.infer<typeof hostsSchema>, HostsJson> = true;
const psShape: Same<z.infer<typeof psSchema>, PsJson> = true;

const STAGES = ['producer', 'parse', 'enrich', 'sink'];
const LAB_HOSTS = ['alpha', 'beta', 'gamma', 'bastion'];

describe.skipIf(SKIP_LAB)('ferry hosts / ferry ps on the lab', () => {
  let dir: string;
  let config: string;
  const savedXdg = process.env.XDG_CONFIG_HOME;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-cli-inventory-'));
    config = join(dir, 'ssh_config');
    // the lab plus a host with an address nothing answers on
    writeFileSync(
      config,
      `Include ${SSH_CONFIG}\nHost nowhere\n  HostName 10.99.0.99\n  ConnectTimeout 2\n  User root\n  BatchMode yes\n`,
    );
    // no config.yaml of the machine's user may pick the hosts
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
  });
  afterAll(() => {
    if (savedXdg === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = savedXdg;
    rmSync(dir, { recursive: true, force: true });
  });

  it('ps: the sample workflow with its compose projects; an unreachable host is one line on stderr and exit 1', async () => {
    expect(hostsShape && psShape).toBe(true);
    // other runs may be moving the workflow right now: list until all eight are up somewhere
    const deadline = Date.now() + 120_000;
    let r: Awaited<ReturnType<typeof run>>;
    let ps: PsJson;
    const workflow = (p: PsJson) =>
      p.containers.filter(
        (c) => /^wfd?-(producer|parse|enrich|sink)-1$/.test(c.name) && c.state === 'running',
      );
    for (;;) {
      r = await run(psCommand, { configFile: config, hosts: [...LAB_HOSTS, 'nowhere'], json: true });
      ps = psSchema.parse(JSON.parse(r.out));
      if (workflow(ps).length === 2 * STAGES.length || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(r.code).toBe(1);
    const nowhere = r.err.split('\n').filter((l) => l.includes('nowhere'));
    expect(nowhere).toHaveLength(1);
    expect(nowhere[0]).toMatch(/^ferry: nowhere: \S/);
    expect(ps.errors.filter((e) => e.runtime === null)).toEqual([
      { host: 'nowhere', runtime: null, error: expect.any(String) },
    ]);

    const found = workflow(ps);
    for (const [runtime, project] of [
      ['podman', 'wf'],
      ['docker', 'wfd'],
    ] as const) {
      const mine = found.filter((c) => c.runtime === runtime);
      expect(mine.map((c) => c.service).sort()).toEqual([...STAGES].sort());
      for (const c of mine) {
        expect(c.project).toBe(project);
        expect(c.spec).toBe(`${c.host}:${runtime}/${c.name}`);
        expect(LAB_HOSTS).toContain(c.host);
      }
    }
    console.log(
      `[ps] workflow on: ${[...new Set(found.map((c) => `${c.host}/${c.runtime}`))].join(', ')}; stderr: ${r.err.trim().split('\n').length} line(s)`,
    );

    // the table: every line in 80 columns, the workflow there with its project
    const text = await run(psCommand, { configFile: config, hosts: [...LAB_HOSTS, 'nowhere'], json: false });
    expect(text.code).toBe(1);
    const lines = text.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+RUNTIME\s+NAME\s+IMAGE\s+STATE\s+MEM\s+GROUP$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    const sink = rows.find((cells) => cells[2] === 'wf-sink-1');
    expect(sink?.[1]).toBe('podman');
    expect(sink?.at(-1)).toBe('wf');
    expect(text.err).toMatch(/^ferry: nowhere: /m);
  });

  it('hosts: one line per host from the ssh config (through its Include), gamma via the bastion, nowhere not reachable', async () => {
    const t0 = performance.now();
    const r = await run(hostsCommand, { configFile: config, json: true });
    const ms = performance.now() - t0;
    const { hosts } = hostsSchema.parse(JSON.parse(r.out));
    expect(r.code).toBe(1);
    expect(hosts.map((h) => h.name)).toEqual([
      'bastion',
      'alpha',
      'beta',
      'gamma',
      'beta-op',
      'beta-guest',
      'nowhere',
    ]);

    const gamma = hosts.find((h) => h.name === 'gamma');
    expect(gamma).toMatchObject({
      address: '10.99.1.13:22',
      user: 'root',
      via: ['bastion'],
      jumpChain: ['root@10.99.0.2:22'],
      reachable: true,
      error: null,
    });
    const alpha = hosts.find((h) => h.name === 'alpha');
    expect(alpha).toMatchObject({ address: '10.99.0.11:22', reachable: true, via: [] });
    expect(alpha?.podman?.status).toBe('ok');
    expect(alpha?.podman?.version).toMatch(/^\d+\.\d+/);
    expect(alpha?.criu?.status).toMatch(/^(ok|broken)$/);
    const nowhere = hosts.find((h) => h.name === 'nowhere');
    expect(nowhere).toMatchObject({
      address: '10.99.0.99:22',
      reachable: false,
      podman: null,
      containers: null,
    });
    expect(nowhere?.error).toMatch(/\S/);
    // one probe per host, all at once: the dead host does not add its wait to the others
    console.log(`[hosts] ${hosts.length} hosts in ${ms.toFixed(0)} ms`);

    const text = await run(hostsCommand, {
      configFile: config,
      hosts: ['alpha', 'gamma', 'nowhere'],
      json: false,
    });
    expect(text.code).toBe(1);
    const lines = text.out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^HOST\s+ADDRESS\s+VIA\s+UP\s+PODMAN\s+DOCKER\s+CRIU\s+CTRS$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(/^gamma\s+10\.99\.1\.13:22\s+bastion\s+yes\s/);
    expect(lines[3]).toMatch(/^nowhere\s+10\.99\.0\.99:22\s+-\s+no\s+\S/);
  });

  it('all hosts reached: exit 0', async () => {
    const r = await run(hostsCommand, { configFile: config, hosts: ['gamma'], json: false });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});
