// The fast inventory: each runtime's own list command (`podman ps -a`,
// `docker ps -a`) and memory read from the cgroup files, with no inspect,
// info or stats. A refresh of the TUI and `ferry ps` need no more; the
// planner and preflight still inspect what they move.
import { composeFromLabels } from '../inventory/compose.ts';
import type { Container, HostProblem, PortBinding, RuntimeKind } from '../inventory/model.ts';
import { shQuote } from './exec.ts';
import { lookupById, parseState } from './inspect-common.ts';
import {
  arr,
  bareId,
  type JsonObject,
  num,
  obj,
  optStr,
  parseJsonArray,
  parseJsonLines,
  str,
  strArray,
  strRecord,
} from './json.ts';
import { parseSection, sectionProblem } from './problems.ts';
import { emptyFacts, type RuntimeProbe } from './runtime.ts';
import type { Section, SectionResult } from './script.ts';

export const MEMORY_SECTION = 'host.cgmem';

/**
 * Memory in use of every container cgroup on the host, as `docker stats` and
 * `podman stats` count it (usage minus inactive file pages): `u ID BYTES` and
 * `i PATH BYTES` lines. Only directories named after a 64-hex container id are
 * read; no runtime command runs. cgroup v1 (memory controller) and v2.
 */
export function memorySection(): Section {
  const hex8 = '[0-9a-f]'.repeat(8);
  return {
    name: MEMORY_SECTION,
    display: 'memory.usage_in_bytes / memory.current of container cgroups',
    script: [
      'c=/sys/fs/cgroup; u=memory.current; [ -d $c/memory ] && { c=$c/memory; u=memory.usage_in_bytes; }',
      'set --',
      `for d in $c/*/*${hex8}* $c/*/*/*${hex8}*; do`,
      '  [ -r "$d/$u" ] || continue',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      '  b=${d##*/}; b=${b%.scope}; b=${b##*-}',
      '  case $b in *[!0-9a-f]*) continue ;; esac',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      '  [ ${#b} = 64 ] || continue',
      '  read -r v <"$d/$u" || continue',
      '  echo "u $b $v"; set -- "$@" "$d/memory.stat"',
      'done',
      '[ $# = 0 ] && exit 0',
      `awk '$1=="total_inactive_file"||$1=="inactive_file"{print "i", FILENAME, $2}' "$@"`,
    ].join('\n'),
  };
}

/** id -> bytes in use, from memorySection's output. Lines that do not fit are skipped. */
export function parseCgroupMemory(text: string): Map<string, number> {
  const usage = new Map<string, number>();
  const inactive = new Map<string, number>();
  for (const line of text.split('\n')) {
    const u = /^u ([0-9a-f]{64}) (\d+)$/.exec(line);
    if (u) {
      usage.set(u[1] as string, Number(u[2]));
      continue;
    }
    const i = /^i \S*?([0-9a-f]{64})(?:\.scope)?\/memory\.stat (\d+)$/.exec(line);
    if (i) inactive.set(i[1] as string, Number(i[2]));
  }
  const out = new Map<string, number>();
  for (const [id, u] of usage) out.set(id, Math.max(0, u - (inactive.get(id) ?? 0)));
  return out;
}

const epochIso = (v: unknown): string => {
  const n = num(v);
  return n === null ? str(v) : new Date(n * 1000).toISOString();
};

/** A container as its runtime's list command describes it: `detail: 'list'`. */
function listed(
  host: string,
  runtime: RuntimeKind,
  fields: Omit<Container, 'host' | 'runtime' | 'detail' | 'compose' | 'memoryBytes'>,
  memory: ReadonlyMap<string, number>,
): Container {
  const up = fields.state === 'running' || fields.state === 'paused';
  return {
    host,
    runtime,
    ...fields,
    compose: composeFromLabels(fields.labels),
    memoryBytes: up ? (lookupById(memory, fields.id) ?? null) : null,
    detail: 'list',
  };
}

const NOT_READ = {
  restartPolicy: { name: 'no', maxRetries: 0 },
  networkMode: '',
  mounts: [],
  devices: [],
  gpus: false,
  privileged: false,
  dependencies: [],
};

/** One element of `podman ps -a --format json`. */
export function podmanListed(
  c: JsonObject,
  host: string,
  memory: ReadonlyMap<string, number>,
): Container | null {
  const id = str(c.Id);
  if (!/^[0-9a-f]{12,64}$/.test(id)) return null;
  const state = parseState(c.State);
  const pid = num(c.Pid);
  const podId = str(c.Pod);
  return listed(
    host,
    'podman',
    {
      ...NOT_READ,
      id,
      name: strArray(c.Names)[0] ?? '',
      image: { name: str(c.Image), id: bareId(str(c.ImageID)), digest: null },
      state,
      pid: (state === 'running' || state === 'paused') && pid !== null && pid > 0 ? pid : null,
      created: epochIso(c.Created),
      ports: arr(c.Ports).flatMap((p) => {
        const o = obj(p);
        const range = Math.max(1, num(o.range) ?? 1);
        const cp = num(o.container_port);
        const hp = num(o.host_port);
        if (cp === null || hp === null) return [];
        return Array.from({ length: range }, (_, k) => ({
          containerPort: cp + k,
          hostPort: hp + k,
          hostIp: str(o.host_ip),
          protocol: protocolOf(str(o.protocol)),
        }));
      }),
      networks: strArray(c.Networks).map(nameOnly),
      labels: strRecord(c.Labels),
      pod: podId ? { id: podId, name: str(c.PodName), infra: c.IsInfra === true } : null,
    },
    memory,
  );
}

/** One line of `docker ps -a --no-trunc --format '{{json .}}'`. */
export function dockerListed(
  c: JsonObject,
  host: string,
  memory: ReadonlyMap<string, number>,
): Container | null {
  const id = str(c.ID);
  if (!/^[0-9a-f]{12,64}$/.test(id)) return null;
  const state = parseState(c.State);
  return listed(
    host,
    'docker',
    {
      ...NOT_READ,
      id,
      name: str(c.Names).split(',')[0] ?? '',
      image: { name: str(c.Image), id: '', digest: null },
      state,
      pid: null,
      created: optStr(c.CreatedAt) ?? '',
      ports: parseDockerPorts(str(c.Ports)),
      networks: str(c.Networks)
        .split(',')
        .filter((n) => n !== '')
        .map(nameOnly),
      labels: parseDockerLabels(str(c.Labels)),
      pod: null,
    },
    memory,
  );
}

function nameOnly(name: string) {
  return { name, ip: null, ipv6: null, mac: null, ipStatic: null, macStatic: null, aliases: [] };
}

function protocolOf(p: string): PortBinding['protocol'] {
  return p === 'udp' || p === 'sctp' ? p : 'tcp';
}

/**
 * docker ps's `k=v,k=v`. A value may itself hold commas (compose's
 * depends_on, config_files): a piece without '=' belongs to the value before.
 */
export function parseDockerLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | null = null;
  for (const piece of text.split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) {
      last = piece.slice(0, eq);
      out[last] = piece.slice(eq + 1);
    } else if (last !== null) out[last] += `,${piece}`;
  }
  return out;
}

/** docker ps's `0.0.0.0:8080->80/tcp, :::8080->80/tcp, 9000/udp`: the published ones. */
export function parseDockerPorts(text: string): PortBinding[] {
  const out: PortBinding[] = [];
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const m = /^\s*(.*):(\d+)(?:-(\d+))?->(\d+)(?:-\d+)?\/(\w+)\s*$/.exec(part);
    if (!m) continue;
    const hostIp = m[1] === '::' || m[1] === '[::]' ? '::' : (m[1] ?? '');
    const first = Number(m[2]);
    const last = m[3] ? Number(m[3]) : first;
    for (let k = 0; first + k <= last; k++) {
      const b = {
        hostIp,
        hostPort: first + k,
        containerPort: Number(m[4]) + k,
        protocol: protocolOf(m[5] ?? ''),
      };
      const key = `${b.hostIp}|${b.hostPort}|${b.protocol}`;
      if (!seen.has(key)) out.push(b);
      seen.add(key);
    }
  }
  return out;
}

/** sh says 127; sudo says "sudo: podman: command not found" and exits 1 */
export function isMissingBinary(r: SectionResult): boolean {
  return r.code === 127 || /^sudo: .*: command not found/m.test(r.stderr);
}

/** The list section of a runtime. */
export function listSection(kind: RuntimeKind, bin: string): Section {
  const cmd = `$SUDO ${shQuote(bin)}`;
  return kind === 'podman'
    ? { name: 'podman.list', display: `${bin} ps -a --format json`, script: `${cmd} ps -a --format json` }
    : {
        name: 'docker.list',
        display: `${bin} ps -a --no-trunc --format '{{json .}}'`,
        script: `${cmd} ps -a --no-trunc --format '{{json .}}'`,
      };
}

/** A runtime's facts and containers from its list section alone. */
export function parseListProbe(
  kind: RuntimeKind,
  results: ReadonlyMap<string, SectionResult>,
  host: string,
  memory: ReadonlyMap<string, number>,
  required: boolean,
): RuntimeProbe {
  const r = results.get(`${kind}.list`);
  if (r && r.code !== 0 && !r.timedOut && isMissingBinary(r)) {
    const problems = required ? [sectionProblem(host, r, { runtime: kind, code: 'missing-binary' })] : [];
    return { facts: emptyFacts(kind, 'missing', `${kind} is not installed`), data: null, problems };
  }
  const rows = parseSection(
    host,
    r,
    `${kind} ps -a`,
    kind === 'podman' ? parseJsonArray : parseJsonLines,
    kind,
  );
  if (!rows.ok) {
    // a docker client without a daemon (a jump host, say) is worth a warning, not an alarm
    const quiet = kind === 'docker' && /cannot connect to the docker daemon/i.test(r?.stderr ?? '');
    const problem: HostProblem = quiet ? { ...rows.problem, severity: 'warning' } : rows.problem;
    return { facts: emptyFacts(kind, 'error', problem.message), data: null, problems: [problem] };
  }
  const toContainer = kind === 'podman' ? podmanListed : dockerListed;
  const containers = rows.value
    .map((c) => toContainer(c, host, memory))
    .filter((c): c is Container => c !== null);
  return {
    // the list says the runtime answers; versions and checkpoint support come with the facts
    facts: { ...emptyFacts(kind, 'ok', 'not probed yet'), checkpoint: { supported: false, reason: null } },
    data: { containers, images: [], networks: [], volumes: [], pods: [] },
    problems: rows.problems,
  };
}
