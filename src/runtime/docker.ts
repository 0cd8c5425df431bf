// Docker adapter: facts from `docker info`, containers from `docker container
// inspect` of every id, memory from `docker stats`, plus images (for
// digests), networks and volumes, as sections of the host's one probe script.
import { composeFromLabels } from '../inventory/compose.ts';
import type {
  Container,
  HostProblem,
  Image,
  Network,
  NetworkAttachment,
  RuntimeFacts,
} from '../inventory/model.ts';
import { copyArgvOf, createArgvFromInspect } from './create-argv.ts';
import { readDockerInspect } from './docker-inspect.ts';
import { shQuote } from './exec.ts';
import {
  escapeSettings,
  lookupById,
  parseDevices,
  parseMounts,
  parsePorts,
  parseState,
  pidOf,
  toVolume,
} from './inspect-common.ts';
import {
  arr,
  bareId,
  bool,
  type JsonObject,
  num,
  obj,
  optStr,
  parseJsonArray,
  parseJsonLines,
  parseJsonObject,
  str,
  strArray,
  strRecord,
} from './json.ts';
import { isMissingBinary, listSection, parseListProbe } from './listing.ts';
import { optionalSections, parseSection, sectionProblem } from './problems.ts';
import {
  emptyFacts,
  type Runtime,
  type RuntimeData,
  type RuntimeOptions,
  type RuntimeProbe,
} from './runtime.ts';
import type { Section, SectionResult } from './script.ts';
import { parseUsage } from './units.ts';

const KIND = 'docker';

export function dockerRuntime(opts: RuntimeOptions = {}): Runtime {
  const bin = opts.binary ?? 'docker';
  const d = `$SUDO ${shQuote(bin)}`;
  // inspect of many ids in one call; '[]' when there are none
  const inspectAll = (list: string, inspect: string) =>
    `ids=$(${d} ${list}) || exit $?; ids=$(printf '%s\\n' $ids | sort -u); if [ -z "$ids" ]; then echo '[]'; else ${d} ${inspect} $ids; fi`;
  const sections: Section[] = [
    {
      name: 'docker.info',
      cacheable: true,
      display: `${bin} info --format '{{json .}}'`,
      script: `${d} info --format '{{json .}}'`,
    },
    {
      name: 'docker.containers',
      display: `${bin} ps -aq --no-trunc; ${bin} container inspect <ids>`,
      script: inspectAll('ps -aq --no-trunc', 'container inspect'),
    },
    {
      name: 'docker.stats',
      display: `${bin} stats --no-stream (memory read from each container's cgroup)`,
      script: dockerMemoryScript(d),
    },
    {
      name: 'docker.images',
      display: `${bin} image ls -aq --no-trunc; ${bin} image inspect <ids>`,
      script: inspectAll('image ls -aq --no-trunc', 'image inspect'),
    },
    {
      name: 'docker.networks',
      display: `${bin} network ls -q --no-trunc; ${bin} network inspect <ids>`,
      script: inspectAll('network ls -q --no-trunc', 'network inspect'),
    },
    {
      name: 'docker.volumes',
      display: `${bin} volume ls --format '{{json .}}'`,
      script: `${d} volume ls --format '{{json .}}'`,
    },
  ];
  return {
    kind: KIND,
    binary: bin,
    probeSections: () => sections,
    // memory: the cgroups found by id, else through each running container's pid (docker's
    // cgroup parent may sit anywhere in the memory hierarchy)
    listSections: () => [listSection(KIND, bin), sections.find((s) => s.name === 'docker.stats') as Section],
    parseList: (results, host, cgroups) => {
      const memory = new Map(cgroups);
      const pids = results.get('docker.stats');
      if (pids?.code === 0)
        for (const [id, bytes] of parseDockerStats(pids.stdout)) if (!memory.has(id)) memory.set(id, bytes);
      return parseListProbe(KIND, results, host, memory, opts.required ?? false);
    },
    pidScript: (id) => `${d} container inspect --format '{{.State.Pid}}' ${shQuote(id)}`,
    parseProbe: (results, host) => parseDockerProbe(results, host, opts.required ?? false),
  };
}

/**
 * Memory of running containers as `docker stats` computes it (cgroup usage
 * minus inactive file pages), read straight from each container's memory
 * cgroup: `docker stats --no-stream` samples for about 2 s, which would make
 * it the slowest part of a refresh. Falls back to docker stats when a cgroup
 * cannot be read.
 */
export function dockerMemoryScript(d: string): string {
  return [
    'ferry_cgmem() {',
    `  _l=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$1/cgroup" 2>/dev/null | head -n 1 | cut -d: -f3-)`,
    `  _p=$(sed -n 's/^0::\\(.*\\)$/\\1/p' "/proc/$1/cgroup" 2>/dev/null)`,
    '  if [ -n "$_l" ] && [ -r "/sys/fs/cgroup/memory$_l/memory.usage_in_bytes" ]; then',
    `    _u=$(cat "/sys/fs/cgroup/memory$_l/memory.usage_in_bytes"); _i=$(awk '$1=="total_inactive_file"{print $2}' "/sys/fs/cgroup/memory$_l/memory.stat")`,
    '  elif [ -n "$_p" ] && [ -r "/sys/fs/cgroup$_p/memory.current" ]; then',
    `    _u=$(cat "/sys/fs/cgroup$_p/memory.current"); _i=$(awk '$1=="inactive_file"{print $2}' "/sys/fs/cgroup$_p/memory.stat")`,
    '  else return 1; fi',
    '  case $_u in *[!0-9]*|"") return 1 ;; esac',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    '  echo $((_u - ${_i:-0}))',
    '}',
    `r=$(${d} ps -q --no-trunc) || exit $?`,
    '[ -z "$r" ] && exit 0',
    `${d} container inspect --format '{{.Id}} {{.State.Pid}}' $r >"$T/docker.pids" || exit $?`,
    'ok=1',
    'while read -r id pid; do',
    `  if m=$(ferry_cgmem "$pid"); then printf '{"ID":"%s","MemBytes":%s,"Source":"cgroup"}\\n' "$id" "$m"; else ok=0; fi`,
    'done <"$T/docker.pids"',
    `[ "$ok" = 1 ] || ${d} stats --no-stream --no-trunc --format '{{json .}}'`,
  ].join('\n');
}

export function parseDockerProbe(
  results: ReadonlyMap<string, SectionResult>,
  host: string,
  required = false,
): RuntimeProbe {
  const problems: HostProblem[] = [];
  const info = results.get('docker.info');
  if (info && info.code !== 0 && !info.timedOut && isMissingBinary(info)) {
    if (required) problems.push(sectionProblem(host, info, { runtime: KIND, code: 'missing-binary' }));
    return { facts: emptyFacts(KIND, 'missing', 'docker is not installed'), data: null, problems };
  }
  const infoP = parseSection(host, info, 'docker info', parseDockerInfo, KIND);
  let facts: RuntimeFacts;
  if (infoP.ok && info) {
    const serverErrors = strArray(infoP.value.ServerErrors);
    if (serverErrors.length > 0 || !str(infoP.value.ServerVersion)) {
      // the client answered, the daemon did not
      const detail = serverErrors.join('; ') || info.stderr;
      const p = sectionProblem(host, info, {
        runtime: KIND,
        // a docker client without a daemon (a jump host, say) is worth a warning, not an alarm
        severity: /cannot connect to the docker daemon/i.test(detail) ? 'warning' : 'error',
        code: /permission denied/i.test(serverErrors.join(' ') + info.stderr)
          ? 'permission-denied'
          : 'command-failed',
        detail: serverErrors.join('; ') || info.stderr.trim() || 'no daemon answered',
      });
      problems.push(p);
      facts = {
        ...emptyFacts(KIND, 'error', p.message),
        clientVersion: optStr(obj(infoP.value.ClientInfo).Version),
      };
    } else {
      facts = dockerFacts(infoP.value);
      problems.push(...infoP.problems);
    }
  } else {
    const p = infoP.ok ? null : infoP.problem;
    facts = emptyFacts(KIND, 'error', p?.message ?? 'docker info failed');
    if (p) problems.push(p);
  }

  const ctrs = parseSection(
    host,
    results.get('docker.containers'),
    'docker container inspect',
    parseJsonArray,
    KIND,
  );
  if (!ctrs.ok) {
    if (facts.status === 'ok' || ctrs.problem.code !== problems[problems.length - 1]?.code)
      problems.push(ctrs.problem);
    return { facts, data: null, problems };
  }
  problems.push(...ctrs.problems);
  const optional = optionalSections(host, results, problems, KIND);
  const memory = optional('docker.stats', 'docker stats', parseDockerStats, new Map<string, number>());
  const images = optional('docker.images', 'docker image inspect', (s) => parseJsonArray(s).map(toImage), []);
  const networks = optional(
    'docker.networks',
    'docker network inspect',
    (s) => parseJsonArray(s).map(toNetwork),
    [],
  );
  const volumes = optional('docker.volumes', 'docker volume ls', (s) => parseJsonLines(s).map(toVolume), []);
  const imagesById = new Map(images.map((i) => [i.id, i]));
  const containers = ctrs.value
    .map((c) => toContainer(c, host, imagesById, memory))
    .filter((c): c is Container => c !== null);
  const data: RuntimeData = { containers, images, networks, volumes, pods: [] };
  return { facts, data, problems };
}

/** `docker info --format '{{json .}}'` prints one object (and may print it with a failing daemon). */
export function parseDockerInfo(text: string): JsonObject {
  const first = text.trim().split('\n')[0] ?? '';
  return parseJsonObject(first);
}

export function dockerFacts(info: JsonObject): RuntimeFacts {
  const experimental = bool(info.ExperimentalBuild);
  const security = strArray(info.SecurityOptions);
  const rootless = security.some((s) => s.includes('name=rootless'));
  const defaultRuntime = str(info.DefaultRuntime);
  const runtimes = obj(info.Runtimes);
  const runtimePath = str(obj(runtimes[defaultRuntime]).path) || defaultRuntime;
  const isRunc = /(^|\/)runc$/.test(runtimePath) || defaultRuntime === 'runc';
  let checkpoint: RuntimeFacts['checkpoint'];
  if (experimental !== true)
    checkpoint = {
      supported: false,
      reason: 'dockerd runs without experimental features (docker checkpoint needs them)',
    };
  else if (rootless)
    checkpoint = { supported: false, reason: 'rootless docker cannot checkpoint containers' };
  else if (!isRunc)
    checkpoint = {
      supported: false,
      reason: `default runtime '${defaultRuntime}' is not known to checkpoint`,
    };
  else checkpoint = { supported: true, reason: null };
  return {
    kind: KIND,
    status: 'ok',
    version: optStr(info.ServerVersion),
    clientVersion: optStr(obj(info.ClientInfo).Version),
    apiVersion: null,
    rootless,
    ociRuntime: defaultRuntime ? { name: defaultRuntime, version: optStr(obj(info.RuncCommit).ID) } : null,
    experimental,
    dataRoot: optStr(info.DockerRootDir),
    checkpoint,
  };
}

/** `docker stats --format '{{json .}}'` lines ("64.37MiB / 23.54GiB") or cgroup lines (MemBytes): id -> bytes. */
export function parseDockerStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parseJsonLines(text)) {
    const id = str(s.ID) || str(s.Container);
    const mem = num(s.MemBytes) ?? (typeof s.MemUsage === 'string' ? parseUsage(s.MemUsage) : null);
    if (id && mem !== null) out.set(id, mem);
  }
  return out;
}

export function toContainer(
  c: JsonObject,
  host: string,
  images: ReadonlyMap<string, Image> = new Map(),
  memory: ReadonlyMap<string, number> = new Map(),
): Container | null {
  const id = str(c.Id);
  if (!id) return null;
  const config = obj(c.Config);
  const hostConfig = obj(c.HostConfig);
  const state = obj(c.State);
  const labels = strRecord(config.Labels);
  const imageId = bareId(str(c.Image));
  const imageName = str(config.Image);
  const configMac = optStr(config.MacAddress);
  const networks: NetworkAttachment[] = Object.entries(obj(obj(c.NetworkSettings).Networks)).map(
    ([name, n]) => {
      const o = obj(n);
      const ipam = obj(o.IPAMConfig);
      return {
        name,
        ip: optStr(o.IPAddress),
        ipv6: optStr(o.GlobalIPv6Address),
        mac: optStr(o.MacAddress),
        ipStatic: Boolean(optStr(ipam.IPv4Address) || optStr(ipam.IPv6Address)),
        macStatic: configMac !== null && configMac === optStr(o.MacAddress),
        aliases: strArray(o.Aliases),
      };
    },
  );
  const restart = obj(hostConfig.RestartPolicy);
  const st = parseState(state.Status);
  const gpus = arr(hostConfig.DeviceRequests).some((r) => {
    const o = obj(r);
    return str(o.Driver) === 'nvidia' || arr(o.Capabilities).some((caps) => strArray(caps).includes('gpu'));
  });
  return {
    host,
    runtime: KIND,
    id,
    name: str(c.Name).replace(/^\//, ''),
    image: { name: imageName, id: imageId, digest: digestFor(images.get(imageId)) },
    state: st,
    pid: st === 'running' || st === 'paused' ? pidOf(state) : null,
    created: str(c.Created),
    restartPolicy: { name: str(restart.Name) || 'no', maxRetries: num(restart.MaximumRetryCount) ?? 0 },
    ports: parsePorts(c),
    networkMode: str(hostConfig.NetworkMode),
    autoRemove: bool(hostConfig.AutoRemove) ?? false,
    networks,
    mounts: parseMounts(c.Mounts),
    devices: parseDevices(hostConfig.Devices),
    gpus,
    ...escapeSettings(hostConfig),
    // the inspect read as the driver reads it: one it would refuse gives no line
    copyArgv: copyArgvOf((newAddress) => createArgvFromInspect(readDockerInspect(c, host), { newAddress })),
    labels,
    pod: null,
    compose: composeFromLabels(labels),
    memoryBytes: st === 'running' || st === 'paused' ? (lookupById(memory, id) ?? null) : null,
    dependencies: containerNetworkDependency(str(hostConfig.NetworkMode)),
  };
}

function containerNetworkDependency(mode: string): string[] {
  return mode.startsWith('container:') ? [mode.slice('container:'.length)] : [];
}

/** docker's container inspect has no digest: take the image's (first) repo digest. */
function digestFor(image: Image | undefined): string | null {
  return image?.digests[0] ?? null;
}

function toImage(i: JsonObject): Image {
  const repoDigests = strArray(i.RepoDigests);
  return {
    id: bareId(str(i.Id)),
    names: strArray(i.RepoTags),
    digests: repoDigests.map((d) => d.slice(d.indexOf('@') + 1)).filter((d) => d.startsWith('sha256:')),
    sizeBytes: num(i.Size),
  };
}

const DOCKER_DEFAULT_NETWORKS = new Set(['bridge', 'host', 'none']);

function toNetwork(n: JsonObject): Network {
  const name = str(n.Name);
  return {
    name,
    id: str(n.Id),
    driver: str(n.Driver),
    subnets: arr(obj(n.IPAM).Config)
      .map((c) => str(obj(c).Subnet))
      .filter((s) => s !== ''),
    userDefined: !DOCKER_DEFAULT_NETWORKS.has(name),
    ipam: arr(obj(n.IPAM).Config)
      .map((c) => ({
        subnet: str(obj(c).Subnet),
        gateway: optStr(obj(c).Gateway),
        range: optStr(obj(c).IPRange),
      }))
      .filter((x) => x.subnet !== ''),
    labels: strRecord(n.Labels),
    options: strRecord(n.Options),
    internal: bool(n.Internal) ?? false,
    ipv6: bool(n.EnableIPv6) ?? false,
    dns: true,
  };
}
