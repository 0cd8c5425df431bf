// Issue 11 on the lab: a compose stack as users run it (lab stack up:
// podman-compose project fs, docker-compose project fsd) moves whole through
// the built CLI, alpha -> beta, then beta -> gamma through the bastion, to
// hosts that have never seen its network. Its client's one TCP connection to
// the store survives, the store's data is there, the published port answers
// on the destination only, the web front still finds the store by name, and
// compose on the destination lists the project. The refusals come first:
// each exits 2 and touches nothing.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyValues, LAB_DIR, lab, ownLeases, SKIP_LAB, SSH_CONFIG, ssh, sshOk } from '../support/lab.ts';
import { migrate } from '../support/migrate.ts';

const FERRY = new URL('../../dist/ferry.mjs', import.meta.url).pathname;
const CUT_FAILURE = new URL('../support/cut-failure.ts', import.meta.url).pathname;
// `lab stack up` copies the compose file here, where every lab host sees it
const COMPOSE = `${LAB_DIR}/stack/compose.yaml`;
const WORKLOAD_IMAGE = 'localhost/ferry-workload:latest';

const ferry = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [FERRY, '-F', SSH_CONFIG, ...args], {
    reject: false,
    env: { XDG_CONFIG_HOME: '/nonexistent', ...env },
  });

const STACKS = [
  { runtime: 'podman', project: 'fs', port: 8380, compose: 'podman-compose' },
  { runtime: 'docker', project: 'fsd', port: 8381, compose: 'docker-compose' },
] as const;
type Stack = (typeof STACKS)[number];
const SERVICES = ['store', 'client', 'web'] as const;
const cname = (s: Stack, svc: string) => `${s.project}_${svc}_1`;

async function client(host: string, s: Stack) {
  const kv = keyValues(await sshOk(host, `${s.runtime} exec ${cname(s, 'client')} stackkit status`));
  const n = (k: string) => Number(kv.get(k));
  return {
    runId: kv.get('run_id'),
    state: kv.get('state'),
    reason: kv.get('reason'),
    connects: n('connects'),
    local: kv.get('local'),
    peer: kv.get('peer'),
    acked: n('acked'),
    lastValue: n('last_value'),
    gaps: n('gaps'),
  };
}

const redis = (host: string, s: Stack, cmd: string) =>
  sshOk(host, `${s.runtime} exec ${cname(s, 'store')} redis-cli ${cmd}`).then((x) => x.trim());

async function ipOf(host: string, s: Stack, svc: string): Promise<string> {
  const out = await sshOk(
    host,
    `${s.runtime} inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ${cname(s, svc)}`,
  );
  return out.trim();
}

async function network(host: string, s: Stack) {
  const r = await ssh(host, `${s.runtime} network inspect ${s.project}_default`);
  if (r.exitCode !== 0) return null;
  const n = JSON.parse(r.stdout)[0];
  return s.runtime === 'podman'
    ? { subnet: n.subnets?.[0]?.subnet as string, labels: (n.labels ?? {}) as Record<string, string> }
    : { subnet: n.IPAM?.Config?.[0]?.Subnet as string, labels: (n.Labels ?? {}) as Record<string, string> };
}

/** GET / on the host's published port, from the host itself. */
const http = (host: string, port: number) =>
  ssh(
    host,
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && timeout 5 cat <&3'`,
  );

const running = async (host: string, s: Stack) =>
  (
    await ssh(
      host,
      `${s.runtime} ps --filter label=com.docker.compose.project=${s.project} --format '{{.Names}}'`,
    )
  ).stdout
    .split('\n')
    .filter(Boolean)
    .sort();

describe.skipIf(SKIP_LAB).each(STACKS)('the $runtime compose stack', (s) => {
  const all = SERVICES.map((x) => cname(s, x)).sort();
  beforeAll(async () => {
    const r = await lab(['stack', 'up', '--runtime', s.runtime]);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await lab(['stack', 'down', '--runtime', s.runtime]);
  });

  it('refuses with exit 2 and touches nothing: a peer outside the group, a subnet clash, an address taken', async () => {
    const store = await ipOf('alpha', s, 'store');
    // the client alone: its connection goes to the store, which stays
    const alone = await ferry([
      '--plan',
      '--containers',
      `alpha:${s.runtime}/${cname(s, 'client')}`,
      '--to',
      'beta',
      '--json',
    ]);
    expect(alone.exitCode, alone.stderr).toBe(2);
    const tcp = JSON.parse(alone.stdout).findings.find((f: { code: string }) => f.code === 'tcp-established');
    expect(tcp?.severity).toBe('blocker');
    expect(tcp?.message).toContain(`-> ${store}:6379`);
    expect(tcp?.message).toMatch(/--tcp-established.*--tcp-close/);

    // a network on beta with the project's subnet
    const subnet = (await network('alpha', s))?.subnet as string;
    expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    await sshOk('beta', `${s.runtime} network create --subnet ${subnet} ferry-clash >/dev/null`);
    try {
      const r = await ferry([
        'migrate',
        '--compose-project',
        s.project,
        '--host',
        'alpha',
        '--to',
        'beta',
        '--yes',
      ]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(`${r.stdout}${r.stderr}`.replace(/\s+/g, ' ')).toContain(
        `network ${s.project}_default (${subnet}) of ${cname(s, 'store')} clashes on beta with ${s.runtime} network ferry-clash (${subnet})`,
      );
    } finally {
      await ssh('beta', `${s.runtime} network rm ferry-clash`);
    }
    expect(await running('alpha', s)).toEqual(all);
    expect(await network('beta', s)).toBeNull();

    // the project's network on beta, and the store's address taken on it (podman: with leases
    // of beta's own, since the lab's hosts share CNI's host-local state in /var/lib/cni)
    const leases = '/var/tmp/ferry-stack-ipam';
    try {
      await sshOk('beta', `${s.runtime} network create --subnet ${subnet} ${s.project}_default >/dev/null`);
      if (s.runtime === 'podman') await ownLeases('beta', `${s.project}_default`, leases);
      await sshOk(
        'beta',
        `${s.runtime} run -d --name ferry-squatter --network ${s.project}_default --ip ${store} --entrypoint /bin/sleep ${WORKLOAD_IMAGE} 600 >/dev/null`,
      );
      const r = await ferry(['--plan', '--compose-project', s.project, '--host', 'alpha', '--to', 'beta']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stdout.replace(/\s+/g, ' ')).toContain(
        `${cname(s, 'store')}'s address ${store} on ${s.project}_default is taken on beta by ferry-squatter`,
      );
    } finally {
      await ssh(
        'beta',
        `${s.runtime} rm -f ferry-squatter; ${s.runtime} network rm ${s.project}_default; rm -rf ${leases}`,
      );
    }
    expect(await running('alpha', s)).toEqual(all);
  });

  // the client's restore on beta really fails (its checkpoint's memory pages are gone there);
  // the store, already running verified on beta, shares the client's connection: it comes back too
  it('a member of the cut fails its restore: the whole cut goes back, in the run and by ferry recover after a crash', async () => {
    const store = cname(s, 'store');
    const victim = cname(s, 'client');
    const state = await mkdtemp(join(tmpdir(), 'ferry-cut-'));
    const cutFailure = (env: Record<string, string> = {}) =>
      execa(process.execPath, [CUT_FAILURE, s.runtime, 'alpha', 'beta', victim, store, victim], {
        reject: false,
        env: { ...process.env, XDG_STATE_HOME: state, ...env },
      });
    const before = await client('alpha', s);
    expect(before.state).toBe('connected');
    let last = before;
    /** each member runs on alpha only, nothing of the move is left on beta, the client's session goes on */
    const backOnAlpha = async () => {
      expect(await running('alpha', s)).toEqual(all);
      expect(await running('beta', s)).toEqual([]);
      const left = await ssh(
        'beta',
        `${s.runtime} ps -a --filter label=com.docker.compose.project=${s.project} --format '{{.Names}}'`,
      );
      expect(left.stdout.trim(), 'copies left on beta').toBe('');
      expect(await network('beta', s), 'the network ferry created on beta').toBeNull();
      let now = await client('alpha', s);
      for (let i = 0; i < 50 && now.acked < last.acked + 10 && now.state === 'connected'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        now = await client('alpha', s);
      }
      expect({ ...now, acked: 0, lastValue: 0 }).toEqual({ ...before, acked: 0, lastValue: 0, gaps: 0 });
      expect(now.acked).toBeGreaterThan(last.acked + 10);
      expect(Number(await redis('alpha', s, 'get counter'))).toBeGreaterThanOrEqual(now.lastValue);
      last = now;
    };

    const r = await cutFailure();
    expect(r.exitCode, r.stderr).toBe(0);
    const { summary, restoreAfter } = JSON.parse(r.stdout) as {
      summary: { results: { id: string; outcome: string; message?: string }[] };
      restoreAfter: [string, string][];
    };
    expect(restoreAfter).toEqual([[`alpha/${s.runtime}/${store}`, `alpha/${s.runtime}/${victim}`]]);
    const outcome = (name: string) => summary.results.find((x) => x.id.endsWith(`/${name}`));
    expect(outcome(victim)?.outcome, outcome(victim)?.message).toBe('rolled-back');
    expect(outcome(store)?.outcome, outcome(store)?.message).toBe('rolled-back');
    expect(outcome(store)?.message).toMatch(/all or nothing/);
    await backOnAlpha();

    // ferry killed right after the failure was journaled: recover sends the whole cut back
    const killed = await cutFailure({ FERRY_TEST_KILL_AT: 'restore:failed' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const rec = await ferry(['recover'], { XDG_STATE_HOME: state });
    expect(rec.exitCode, `${rec.stdout}\n${rec.stderr}`).toBe(0);
    expect(`${rec.stdout}${rec.stderr}`).toMatch(/all or nothing/);
    await backOnAlpha();
  });

  // docker 20.10 passes no --tcp-established to CRIU: the lab's hosts have it in /etc/criu/runc.conf
  it('moves alpha -> beta -> gamma whole: network, addresses, the TCP session, data, port, names', async () => {
    const before = await client('alpha', s);
    expect(before.state).toBe('connected');
    const ips = Object.fromEntries(
      await Promise.all(SERVICES.map(async (x) => [x, await ipOf('alpha', s, x)])),
    );
    const net = await network('alpha', s);
    await redis('alpha', s, 'set before-move kept');
    let last = before;
    for (const [from, to] of [
      ['alpha', 'beta'],
      ['beta', 'gamma'],
    ] as const) {
      expect(await network(to, s), `${to} has never seen the network`).toBeNull();
      const r = await ferry(['migrate', '--compose-project', s.project, '--host', from, '--to', to, '--yes']);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      // the downtimes, for the record
      console.log(
        `${s.runtime} ${from} -> ${to}: ${r.stderr
          .split('\n')
          .filter((l) => /migrated \(downtime/.test(l))
          .map((l) => l.trim())
          .join('; ')}`,
      );

      // the network, as the source had it (compose labels included), and the addresses on it
      expect(await network(to, s)).toEqual(net);
      for (const x of SERVICES) expect(await ipOf(to, s, x), `${x} on ${to}`).toBe(ips[x]);
      expect(await running(to, s)).toEqual(all);
      expect(await running(from, s)).toEqual([]);

      // the same TCP session: same run, one connection ever, counting on without a gap
      let now = await client(to, s);
      for (let i = 0; i < 50 && now.acked < last.acked + 10 && now.state === 'connected'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        now = await client(to, s);
      }
      expect({ ...now, acked: 0, lastValue: 0 }).toEqual({
        ...before,
        acked: 0,
        lastValue: 0,
        gaps: 0,
      });
      expect(now.acked).toBeGreaterThan(last.acked + 10);
      // no acknowledged write lost: the store holds at least what it acknowledged
      expect(Number(await redis(to, s, 'get counter'))).toBeGreaterThanOrEqual(now.lastValue);
      expect(await redis(to, s, 'get before-move')).toBe('kept');
      last = now;

      // the published port answers on the destination (the front finds the store by name) and not on the source
      const page = await http(to, s.port);
      expect(page.stdout, page.stderr).toMatch(/ferry-stack counter=\d+/);
      expect((await http(from, s.port)).exitCode).not.toBe(0);

      // compose on the destination sees its project
      const ps = await sshOk(
        to,
        `FERRY_STACK_PORT=${s.port} ${s.compose} -p ${s.project} -f ${COMPOSE} ps 2>/dev/null`,
      );
      for (const x of all) expect(ps).toContain(x);
    }
  });
});

describe.skipIf(SKIP_LAB)('--rm containers (quadlet, generate systemd --new)', () => {
  const NAME = 'ferry-rm';
  afterAll(async () => {
    for (const h of ['alpha', 'beta']) await ssh(h, `podman rm -f -t 0 ${NAME}; docker rm -f ${NAME}`);
  });

  it('podman: the transfer killed midway, it runs again on its source; docker: refused in the plan', async () => {
    await sshOk(
      'alpha',
      `podman run -d --rm --name ${NAME} -e BALLAST_MB=48 -e OUT_PORT=7999 ${WORKLOAD_IMAGE} producer >/dev/null`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const runId = async (host: string) =>
      keyValues(await sshOk(host, `podman exec ${NAME} /workload status`)).get('run_id');
    const before = await runId('alpha');
    expect(before).toMatch(/^[0-9a-f]{16}$/);
    let killer: Promise<{ exitCode: number }> | undefined;
    const { summary } = await migrate(
      [
        {
          id: `alpha/podman/${NAME}`,
          container: { host: 'alpha', runtime: 'podman', name: NAME },
          destination: 'beta',
        },
      ],
      { restorePath: 'import' },
      (run) =>
        run.on((e) => {
          if (e.type === 'stage-started' && e.stage === 'transfer' && !killer)
            killer = ssh(
              'alpha',
              "for i in $(seq 300); do pkill -KILL -f '^cat /tmp/ferry[.][^ ]*/checkpoint[.]tar' && exit 0; sleep 0.01; done; exit 1",
            );
        }),
    );
    expect((await killer)?.exitCode).toBe(0);
    expect(summary.results.map((r) => r.outcome)).toEqual(['rolled-back']);
    expect((await sshOk('alpha', `podman inspect --format '{{.State.Status}}' ${NAME}`)).trim()).toBe(
      'running',
    );
    expect(await runId('alpha')).toBe(before);
    expect((await ssh('beta', `podman container exists ${NAME}`)).exitCode).toBe(1);

    await sshOk(
      'alpha',
      `docker run -d --rm --name ${NAME} -e BALLAST_MB=8 -e OUT_PORT=7999 ${WORKLOAD_IMAGE} producer >/dev/null`,
    );
    const plan = await ferry(['--plan', '--containers', `alpha:docker/${NAME}`, '--to', 'beta']);
    expect(plan.exitCode, plan.stderr).toBe(2);
    expect(plan.stdout.replace(/\s+/g, ' ')).toContain(`${NAME} was started with --rm: docker removes it`);
  });
});
