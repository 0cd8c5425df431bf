// Podman adapter: facts from `podman info`, containers from `podman container
// inspect` of every id, memory from `podman stats`, plus pods, images,
// networks and volumes, all as sections of the host's one probe script.
import { composeFromLabels } from '../inventory/compose.ts';
import type {
  Container,
  HostProblem,
  Image,
  Network,
  NetworkAttachment,
  Pod,
  RuntimeFacts,
} from '../inventory/model.ts';
import { ipv4ToInt } from './cidr.ts';
import { copyArgvOf, podmanCopyArgv } from './create-argv.ts';
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

const KIND = 'podman';

export function podmanRuntime(opts: RuntimeOptions = {}): Runtime {
  const bin = opts.binary ?? 'podman';
  const p = `$SUDO ${shQuote(bin)}`;
  const sections: Section[] = [
    {
      name: 'podman.info',
      cacheable: true,
      display: `${bin} info --format json`,
      script: `${p} info --format json`,
    },
    {
      name: 'podman.containers',
      display: `${bin} ps -aq --no-trunc; ${bin} container inspect <ids>`,
      script: `ids=$(${p} ps -aq --no-trunc) || exit $?; if [ -z "$ids" ]; then echo '[]'; else ${p} container inspect $ids; fi`,
    },
    {
      name: 'podman.stats',
      display: `${bin} stats --no-stream --format json`,
      // raw byte counts where this podman has them, else its human format
      script: `${p} stats --no-stream --format '{{json .ContainerStats}}' 2>"$T/podman.stats.raw.err" || ${p} stats --no-stream --format json`,
    },
    { name: 'podman.pods', display: `${bin} pod ps --format json`, script: `${p} pod ps --format json` },
    { name: 'podman.images', display: `${bin} images --format json`, script: `${p} images --format json` },
    {
      name: 'podman.networks',
      display: `${bin} network ls --format json`,
      script: `${p} network ls --format json`,
    },
    {
      name: 'podman.volumes',
      display: `${bin} volume ls --format json`,
      script: `${p} volume ls --format json`,
    },
  ];
  return {
    kind: KIND,
    binary: bin,
    probeSections: () => sections,
    listSections: () => [listSection(KIND, bin)],
    parseList: (results, host, memory) => parseListProbe(KIND, results, host, memory, opts.required ?? false),
    pidScript: (id) => `${p} container inspect --format '{{.State.Pid}}' ${shQuote(id)}`,
    parseProbe: (results, host) => parsePodmanProbe(results, host, opts.required ?? false),
  };
}

export function parsePodmanProbe(
  results: ReadonlyMap<string, SectionResult>,
  host: string,
  required = false,
): RuntimeProbe {
  const problems: HostProblem[] = [];
  const info = results.get('podman.info');
  if (info && info.code !== 0 && !info.timedOut && isMissingBinary(info)) {
    if (required) problems.push(sectionProblem(host, info, { runtime: KIND, code: 'missing-binary' }));
    return { facts: emptyFacts(KIND, 'missing', 'podman is not installed'), data: null, problems };
  }
  const infoP = parseSection(host, info, 'podman info', parseJsonObject, KIND);
  let facts: RuntimeFacts;
  if (infoP.ok) {
    facts = podmanFacts(infoP.value);
    problems.push(...infoP.problems);
  } else {
    facts = emptyFacts(KIND, 'error', infoP.problem.message);
    problems.push(infoP.problem);
  }

  const ctrs = parseSection(
    host,
    results.get('podman.containers'),
    'podman container inspect',
    parseJsonArray,
    KIND,
  );
  if (!ctrs.ok) {
    // the same failure as info (sudo, permission): say it once
    if (infoP.ok || ctrs.problem.code !== problems[problems.length - 1]?.code) problems.push(ctrs.problem);
    return { facts, data: null, problems };
  }
  problems.push(...ctrs.problems);

  const optional = optionalSections(host, results, problems, KIND);
  const pods = optional('podman.pods', 'podman pod ps', (s) => parseJsonArray(s).map(toPod), []);
  const memory = optional('podman.stats', 'podman stats', parsePodmanStats, new Map<string, number>());
  const images = optional('podman.images', 'podman images', (s) => parseJsonArray(s).map(toImage), []);
  const networks = optional(
    'podman.networks',
    'podman network ls',
    (s) => parseJsonArray(s).map(toNetwork),
    [],
  );
  const volumes = optional('podman.volumes', 'podman volume ls', (s) => parseJsonArray(s).map(toVolume), []);

  const podById = new Map(pods.map((p) => [p.id, p]));
  const containers = ctrs.value
    .map((c) => toContainer(c, host, podById, memory))
    .filter((c): c is Container => c !== null);
  const data: RuntimeData = { containers, images, networks, volumes, pods };
  return { facts, data, problems };
}

export function podmanFacts(info: JsonObject): RuntimeFacts {
  const host = obj(info.host);
  const version = obj(info.version);
  const oci = obj(host.ociRuntime);
  const rootless = bool(obj(host.security).rootless);
  const ociName = str(oci.name);
  const ociVersion = optStr(oci.version);
  let checkpoint: RuntimeFacts['checkpoint'];
  if (rootless) checkpoint = { supported: false, reason: 'rootless podman cannot checkpoint containers' };
  else if (ociName === 'runc') checkpoint = { supported: true, reason: null };
  else if (ociName === 'crun')
    checkpoint = ociVersion?.includes('+CRIU')
      ? { supported: true, reason: null }
      : { supported: false, reason: 'crun was built without CRIU support (no +CRIU in crun --version)' };
  else
    checkpoint = {
      supported: false,
      reason: `OCI runtime '${ociName || 'unknown'}' is not known to checkpoint`,
    };
  return {
    kind: KIND,
    status: 'ok',
    version: optStr(version.Version),
    clientVersion: optStr(version.Version),
    apiVersion: optStr(version.APIVersion),
    rootless,
    ociRuntime: ociName ? { name: ociName, version: ociVersion?.split('\n')[0] ?? null } : null,
    experimental: null,
    dataRoot: optStr(obj(info.store).graphRoot),
    checkpoint,
  };
}

/** `{{json .ContainerStats}}` lines (raw bytes) or `--format json` (human sizes): id -> bytes. */
export function parsePodmanStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parseJsonLines(text)) {
    const id = str(s.ContainerID) || str(s.id);
    if (!id) continue;
    const raw = num(s.MemUsage);
    const mem = raw ?? (typeof s.mem_usage === 'string' ? parseUsage(s.mem_usage) : null);
    if (mem !== null) out.set(id, mem);
  }
  return out;
}

export function toContainer(
  c: JsonObject,
  host: string,
  pods: ReadonlyMap<string, Pod> = new Map(),
  memory: ReadonlyMap<string, number> = new Map(),
): Container | null {
  const id = str(c.Id);
  if (!id) return null;
  const config = obj(c.Config);
  const hostConfig = obj(c.HostConfig);
  const state = obj(c.State);
  const labels = strRecord(config.Labels);
  const podId = str(c.Pod);
  const pod = podId ? pods.get(podId) : undefined;
  const createCommand = strArray(config.CreateCommand);
  const imageName = str(c.ImageName) || str(config.Image);
  const statics = staticAddressing(createCommand, imageName);
  const networks: NetworkAttachment[] = Object.entries(obj(obj(c.NetworkSettings).Networks)).map(
    ([name, n]) => {
      const o = obj(n);
      const s = statics?.get(name) ?? statics?.get('') ?? null;
      return {
        name,
        ip: optStr(o.IPAddress),
        ipv6: optStr(o.GlobalIPv6Address),
        mac: optStr(o.MacAddress),
        ipStatic: statics === null ? null : (s?.ip ?? false),
        macStatic: statics === null ? null : (s?.mac ?? false),
        aliases: strArray(o.Aliases),
      };
    },
  );
  const restart = obj(hostConfig.RestartPolicy);
  const st = parseState(state.Status);
  return {
    host,
    runtime: KIND,
    id,
    name: str(c.Name),
    image: { name: imageName, id: bareId(str(c.Image)), digest: optStr(c.ImageDigest) },
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
    gpus: false,
    ...escapeSettings(hostConfig),
    createCommand: createCommand.length > 0 ? createCommand : null,
    copyArgv: copyArgvOf((newAddress) =>
      podmanCopyArgv(
        {
          Config: { CreateCommand: createCommand, Env: strArray(config.Env) },
          HostConfig: { NetworkMode: str(hostConfig.NetworkMode) },
          NetworkSettings: {
            Networks: Object.fromEntries(networks.map((n) => [n.name, { IPAddress: n.ip ?? '' }])),
          },
        },
        newAddress,
      ),
    ),
    labels,
    pod: podId ? { id: podId, name: pod?.name ?? '', infra: c.IsInfra === true } : null,
    compose: composeFromLabels(labels),
    memoryBytes: st === 'running' || st === 'paused' ? (lookupById(memory, id) ?? null) : null,
    dependencies: strArray(c.Dependencies),
  };
}

type Static = { ip: boolean; mac: boolean };

/**
 * Podman's inspect does not say whether an address was asked for; the
 * command that created the container does. Returns static flags per network
 * name ('' for the flags that apply to the only network), or null when there
 * is no create command (created through the API).
 */
export function staticAddressing(argv: readonly string[], image: string): Map<string, Static> | null {
  if (argv.length === 0) return null;
  const out = new Map<string, Static>();
  const set = (net: string, k: keyof Static) => {
    const s = out.get(net) ?? { ip: false, mac: false };
    s[k] = true;
    out.set(net, s);
  };
  // options stop at the image; what follows belongs to the container's command
  let end = argv.length;
  for (let i = 2; i < argv.length; i++) {
    if (image && sameImage(argv[i] ?? '', image)) {
      end = i;
      break;
    }
  }
  for (let i = 0; i < end; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = () => inline ?? argv[i + 1] ?? '';
    if (flag === '--ip' || flag === '--ip6') set('', 'ip');
    else if (flag === '--mac-address') set('', 'mac');
    else if (flag === '--network' || flag === '--net') {
      // --network name:ip=10.0.0.5,mac=02:..  (podman 4.0+)
      const v = value();
      const colon = v.indexOf(':');
      if (colon > 0) {
        const name = v.slice(0, colon);
        for (const opt of v.slice(colon + 1).split(',')) {
          if (opt.startsWith('ip=') || opt.startsWith('ip6=')) set(name, 'ip');
          if (opt.startsWith('mac=')) set(name, 'mac');
        }
      }
    }
    if (
      inline === undefined &&
      (flag === '--ip' ||
        flag === '--ip6' ||
        flag === '--mac-address' ||
        flag === '--network' ||
        flag === '--net')
    )
      i++;
  }
  return out;
}

/** `alpine` names docker.io/library/alpine:latest; `ferry-workload:latest` names localhost/ferry-workload:latest */
function sameImage(token: string, image: string): boolean {
  if (token === '' || token.startsWith('-')) return false;
  const full = [image, image.replace(/:latest$/, '')];
  return full.some((f) => f === token || f.endsWith(`/${token}`));
}

function toPod(p: JsonObject): Pod {
  return {
    id: str(p.Id),
    name: str(p.Name),
    infraId: optStr(p.InfraId),
    containerIds: arr(p.Containers)
      .map((c) => str(obj(c).Id))
      .filter((x) => x !== ''),
  };
}

function toImage(i: JsonObject): Image {
  const digests = strArray(i.RepoDigests)
    .map((d) => d.slice(d.indexOf('@') + 1))
    .filter((d) => d.startsWith('sha256:'));
  const digest = optStr(i.Digest);
  if (digest && !digests.includes(digest)) digests.unshift(digest);
  return {
    id: bareId(str(i.Id)),
    names: [...new Set([...strArray(i.Names), ...strArray(i.RepoTags)])],
    digests,
    sizeBytes: num(i.Size),
  };
}

const PODMAN_DEFAULT_NETWORKS = new Set(['podman', 'host', 'none', 'bridge']);

function toNetwork(n: JsonObject): Network {
  const name = str(n.name) || str(n.Name);
  return {
    name,
    id: str(n.id) || str(n.Id),
    driver: str(n.driver) || str(n.Driver),
    subnets: arr(n.subnets)
      .map((s) => str(obj(s).subnet))
      .filter((s) => s !== ''),
    userDefined: !PODMAN_DEFAULT_NETWORKS.has(name),
    ...podmanNetworkDetails(n),
  };
}

/** Subnets with gateway and range, labels, options, flags: what `podman network create` takes. */
export function podmanNetworkDetails(
  n: JsonObject,
): Required<Pick<Network, 'ipam' | 'labels' | 'options' | 'internal' | 'ipv6' | 'dns'>> {
  return {
    ipam: arr(n.subnets)
      .map((x) => {
        const o = obj(x);
        const lease = obj(o.lease_range);
        return {
          subnet: str(o.subnet),
          gateway: optStr(o.gateway),
          range: rangeCidr(str(lease.start_ip), str(lease.end_ip)),
        };
      })
      .filter((x) => x.subnet !== ''),
    labels: strRecord(n.labels),
    options: strRecord(n.options),
    internal: bool(n.internal) ?? false,
    ipv6: bool(n.ipv6_enabled) ?? false,
    dns: bool(n.dns_enabled) ?? false,
  };
}

/** podman's lease range start..end as the CIDR `--ip-range` takes, or null when it is none. */
export function rangeCidr(start: string, end: string): string | null {
  const a = ipv4ToInt(start);
  const b = ipv4ToInt(end);
  if (a === null || b === null || b < a) return null;
  const size = b - a + 1;
  const bits = Math.log2(size);
  if (!Number.isInteger(bits) || a % size !== 0) return null;
  return `${start}/${32 - bits}`;
}
