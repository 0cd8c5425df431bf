// The compose stack of issue 11 as a bench workload: `lab stack up` on alpha
// (podman-compose project fs, docker-compose project fsd): a redis store
// keeping its data in a named volume, a client holding one TCP connection to
// it, a web front publishing a port, all on the project's own bridge network.
// A run keeps its state when the client's connection carried on (same process,
// no reconnect, no gap), the store kept a key set before the move, and the web
// front answers on beta's published port.

import { keyValues } from '../../test/support/lab.ts';
import {
  containerName,
  DEST,
  DEST_ADDR,
  lab,
  type MethodResult,
  projectOf,
  runManual,
  SOURCE,
  sh,
  shOk,
  sleep,
  type Workload,
} from './lab.ts';
import type { BenchRuntime } from './model.ts';

export const STACK_IMAGE = 'localhost/ferry-stack:latest';
const PORT: Record<BenchRuntime, number> = { podman: 8380, docker: 8381 };

export interface StackSnapshot {
  runId: string;
  connects: number;
  acked: number;
  gaps: number;
  state: string;
  /** a value set in the store before the move */
  kept: string;
}

const name = (rt: BenchRuntime, w: Workload, svc: string) => {
  const m = w.members.find((x) => x.svc === svc);
  if (!m) throw new Error(`${w.name} has no service ${svc}`);
  return containerName(rt, w, m);
};

async function clientStatus(host: string, rt: BenchRuntime, w: Workload) {
  const r = await sh(host, `${rt} exec ${name(rt, w, 'client')} stackkit status`);
  if (r.code !== 0) return undefined;
  const kv = keyValues(r.stdout);
  return {
    runId: kv.get('run_id') ?? '',
    state: kv.get('state') ?? '',
    connects: Number(kv.get('connects')),
    acked: Number(kv.get('acked')),
    gaps: Number(kv.get('gaps')),
  };
}

/** A fresh stack on alpha (lab stack up removes it from every host first), its client connected. */
export async function startStack(rt: BenchRuntime, w: Workload): Promise<string[]> {
  await lab('stack', 'up', '--runtime', rt, '--host', SOURCE);
  return w.members.map((m) => containerName(rt, w, m));
}

export async function clearStack(rt: BenchRuntime) {
  await lab('stack', 'down', '--runtime', rt);
  await Promise.all(
    [SOURCE, DEST].map((h) => sh(h, 'rm -rf /tmp/bench-manual-* /tmp/ctrd-checkpoint*; true')),
  );
}

export async function stackSnapshot(rt: BenchRuntime, w: Workload): Promise<StackSnapshot> {
  const c = await clientStatus(SOURCE, rt, w);
  if (c?.state !== 'connected') throw new Error(`${rt} stack: the client is not connected on ${SOURCE}`);
  const kept = Math.random().toString(16).slice(2, 14);
  await shOk(SOURCE, `${rt} exec ${name(rt, w, 'store')} redis-cli set bench-kept ${kept} >/dev/null`);
  return { ...c, kept };
}

/** What the move lost on beta; [] when the stack carried on. */
export async function stackContinuity(
  rt: BenchRuntime,
  w: Workload,
  before: StackSnapshot,
): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let now = await clientStatus(DEST, rt, w);
  while (Date.now() < deadline && !(now?.state === 'connected' && now.acked > before.acked + 10)) {
    await sleep(400);
    now = await clientStatus(DEST, rt, w);
  }
  const problems: string[] = [];
  if (!now) {
    // stackkit's client says why it stopped, then exits 3
    const why = await sh(
      DEST,
      `${rt} inspect -f '{{.State.Status}} exit {{.State.ExitCode}}' ${name(rt, w, 'client')}; ${rt} logs --tail 2 ${name(rt, w, 'client')} 2>&1`,
    );
    return [
      `the client is not running on ${DEST}: ${`${why.stdout} ${why.stderr}`.trim().replace(/\s+/g, ' ')}`,
    ];
  }
  if (now.runId !== before.runId) problems.push(`client: run id changed ${before.runId} -> ${now.runId}`);
  if (now.connects !== before.connects)
    problems.push(`client: reconnected to the store (connects ${before.connects} -> ${now.connects})`);
  if (now.state !== 'connected') problems.push(`client: ${now.state}`);
  if (now.gaps !== 0) problems.push(`client: ${now.gaps} gaps in the acked sequence`);
  if (!(now.acked > before.acked + 10)) problems.push(`client: acked ${before.acked} -> ${now.acked}`);
  const kept = await sh(DEST, `${rt} exec ${name(rt, w, 'store')} redis-cli get bench-kept`);
  if (kept.stdout.trim() !== before.kept)
    problems.push(`store: bench-kept is '${kept.stdout.trim()}', was '${before.kept}'`);
  const page = await sh(
    DEST,
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${PORT[rt]} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && timeout 5 cat <&3'`,
  );
  if (!/ferry-stack counter=\d+/.test(page.stdout)) problems.push(`web: no answer on ${DEST}:${PORT[rt]}`);
  const left = await sh(
    SOURCE,
    `${rt} ps -q --filter label=com.docker.compose.project=${projectOf(rt, w)} | wc -l`,
  );
  if (left.stdout.trim() !== '0') problems.push(`still running on ${SOURCE}: ${left.stdout.trim()}`);
  return problems;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

/** The project's network on alpha: subnet and each service's address. */
async function stackNetwork(rt: BenchRuntime, w: Workload) {
  const net = `${projectOf(rt, w)}_default`;
  const subnet = (
    await shOk(
      SOURCE,
      rt === 'podman'
        ? `podman network inspect ${net} --format '{{range .Subnets}}{{.Subnet}}{{end}}'`
        : `docker network inspect ${net} --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'`,
    )
  ).trim();
  if (!CIDR.test(subnet)) throw new Error(`${net} on ${SOURCE}: subnet '${subnet}'`);
  const ips: Record<string, string> = {};
  for (const m of w.members) {
    const ip = (
      await shOk(
        SOURCE,
        `${rt} inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ${containerName(rt, w, m)}`,
      )
    ).trim();
    if (!IPV4.test(ip)) throw new Error(`${containerName(rt, w, m)}: address '${ip}'`);
    ips[m.svc] = ip;
  }
  return { net, subnet, ips };
}

/** docker create arguments for a stack service as docker-compose made it (scripts/labkit/stack/compose.yaml). */
export function dockerCreate(rt: BenchRuntime, w: Workload, svc: string, net: string, ip: string): string {
  const project = projectOf(rt, w);
  const a = [
    `--name ${name(rt, w, svc)}`,
    `--network ${net} --ip ${ip} --network-alias ${svc}`,
    `--label com.docker.compose.project=${project} --label com.docker.compose.service=${svc}`,
  ];
  if (svc === 'store')
    a.push(
      `-v ${project}_data:/data ${STACK_IMAGE} redis-server --appendonly yes --appendfsync always --dir /data --save '' --protected-mode no --bind 0.0.0.0`,
    );
  else if (svc === 'client') a.push(`-e RATE=20 ${STACK_IMAGE} stackkit client`);
  else a.push(`-p ${PORT[rt]}:8080 ${STACK_IMAGE} stackkit web`);
  return a.join(' ');
}

/**
 * By hand, one container after another in compose's order, from alpha. First,
 * before any freeze (ferry prestages the same): the image to beta, and the
 * project's network with alpha's subnet. podman: checkpoint --export
 * --tcp-established (the volume rides in the export), scp, restore --import
 * --tcp-established. docker: as for the other workloads, with the container
 * created on the network at its old address, and the store's volume copied
 * while the store is stopped by its checkpoint (the lab's runc.conf gives CRIU
 * tcp-established).
 */
export async function runManualStack(rt: BenchRuntime, w: Workload): Promise<MethodResult> {
  const { net, subnet, ips } = await stackNetwork(rt, w);
  const project = projectOf(rt, w);
  const lines = ['set -e', 'ms() { date +%s%3N; }'];
  lines.push(
    `${rt} save ${STACK_IMAGE} | ssh -o BatchMode=yes ${DEST_ADDR} '${rt} load >/dev/null'`,
    `ssh -n -o BatchMode=yes ${DEST_ADDR} '${rt} network create --subnet ${subnet} --label com.docker.compose.project=${project} ${net} >/dev/null'`,
  );
  if (rt === 'docker')
    lines.push(
      `ssh -n -o BatchMode=yes ${DEST_ADDR} 'docker volume create --label com.docker.compose.project=${project} ${project}_data >/dev/null'`,
      `vol=$(docker volume inspect -f '{{.Mountpoint}}' ${project}_data)`,
    );
  for (const m of w.members) {
    const n = containerName(rt, w, m);
    const f = `/tmp/bench-manual-${n}`;
    if (rt === 'podman') {
      lines.push(
        `t0=$(ms); podman container checkpoint --tcp-established --export ${f}.tar.gz ${n} >/dev/null; t1=$(ms)`,
        `scp -q -o BatchMode=yes ${f}.tar.gz ${DEST_ADDR}:${f}.tar.gz; t2=$(ms)`,
        `ssh -n -o BatchMode=yes ${DEST_ADDR} "podman container restore --tcp-established --import ${f}.tar.gz >/dev/null && rm -f ${f}.tar.gz"; t3=$(ms)`,
        `bytes=$(stat -c %s ${f}.tar.gz); podman rm -f -t 0 ${n} >/dev/null; rm -f ${f}.tar.gz`,
      );
    } else {
      const volume = m.svc === 'store';
      const files = `${f}.ckpt.tar ${f}.upper.tar${volume ? ` ${f}.vol.tar` : ''}`;
      lines.push(
        `upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' ${n})`,
        `t0=$(ms); mkdir -p ${f}; docker checkpoint create --checkpoint-dir ${f} ${n} cp >/dev/null`,
        `tar -C ${f}/cp -cf ${f}.ckpt.tar . && tar -C "$upper" -cf ${f}.upper.tar .${volume ? ` && tar -C "$vol" -cf ${f}.vol.tar .` : ''}; t1=$(ms)`,
        `scp -q -o BatchMode=yes ${files} ${DEST_ADDR}:/tmp/; t2=$(ms)`,
        `ssh -n -o BatchMode=yes ${DEST_ADDR} 'set -e; docker create ${dockerCreate(rt, w, m.svc, net, ips[m.svc] as string)} >/dev/null; root=$(docker info -f "{{.DockerRootDir}}"); id=$(docker inspect -f "{{.Id}}" ${n}); up=$(docker inspect -f "{{.GraphDriver.Data.UpperDir}}" ${n}); mkdir -p $root/containers/$id/checkpoints/cp; tar -C $root/containers/$id/checkpoints/cp -xf ${f}.ckpt.tar; tar -C $up -xf ${f}.upper.tar;${volume ? ` tar -C $(docker volume inspect -f "{{.Mountpoint}}" ${project}_data) -xf ${f}.vol.tar;` : ''} docker start --checkpoint cp ${n}; rm -f ${files}'; t3=$(ms)`,
        `bytes=0; for x in ${files}; do bytes=$((bytes + $(stat -c %s $x))); done; docker rm -f ${n} >/dev/null; rm -rf ${f} ${files}`,
      );
    }
    lines.push(`echo "T ${n} $t0 $t1 $t2 $t3 $bytes"`);
  }
  return runManual(rt, w, `${lines.join('\n')}\n`);
}
