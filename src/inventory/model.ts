// What ferry knows of each host and container. Both runtimes fill the same
// shapes, so nothing downstream needs to know which one a container runs in
// (the `runtime` field is for display and for finding its adapter).
import type { SudoMode } from '../runtime/script.ts';

export type RuntimeKind = 'podman' | 'docker';

/** What went wrong reading a host: src/runtime/problems.ts classifies a section's failure. */
export type ProblemCode =
  | 'unreachable'
  | 'script-failed'
  | 'section-missing'
  | 'timeout'
  | 'missing-binary'
  | 'permission-denied'
  | 'sudo-denied'
  | 'command-failed'
  | 'malformed-output';

export interface HostProblem {
  /** error: that part of the inventory is unknown (stale); warning: it is known but partial */
  severity: 'error' | 'warning';
  code: ProblemCode;
  /** one sentence: host, command, what went wrong, stderr excerpt */
  message: string;
  host: string;
  runtime?: RuntimeKind;
  command?: string;
  stderr?: string;
}

export type ContainerState =
  | 'created'
  | 'running'
  | 'paused'
  | 'restarting'
  | 'removing'
  | 'exited'
  | 'dead'
  | 'unknown';

export interface ImageRef {
  /** as the container was created from, e.g. localhost/ferry-workload:latest */
  name: string;
  /** image ID without sha256: */
  id: string;
  /** repo digest (sha256:...) when the runtime knows one */
  digest: string | null;
}

export interface PortBinding {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** '' or 0.0.0.0 for all addresses */
  hostIp: string;
  hostPort: number;
}

export interface NetworkAttachment {
  name: string;
  ip: string | null;
  ipv6: string | null;
  mac: string | null;
  /** the IP was asked for (--ip, IPAM config); null when the runtime does not say */
  ipStatic: boolean | null;
  /** the MAC was asked for (--mac-address); null when the runtime does not say */
  macStatic: boolean | null;
  aliases: string[];
}

export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  /** host path (bind) or the volume's mountpoint */
  source: string;
  destination: string;
  /** volume name, for named volumes */
  name: string | null;
  driver: string | null;
  rw: boolean;
}

export interface DeviceMapping {
  hostPath: string;
  containerPath: string;
}

export interface DependsOn {
  service: string;
  /** service_started, service_healthy, service_completed_successfully */
  condition: string;
  /** compose's restart flag for the dependency */
  restart: boolean;
}

export interface ComposeInfo {
  project: string;
  service: string;
  workingDir: string | null;
  dependsOn: DependsOn[];
}

export interface PodRef {
  id: string;
  name: string;
  /** this container is the pod's infra (pause) container */
  infra: boolean;
}

/** The create command of a container's copy, both ways its address can go (env values elided). */
export interface CopyArgv {
  sameAddress: string[];
  newAddress: string[];
}

export interface Container {
  host: string;
  runtime: RuntimeKind;
  id: string;
  name: string;
  image: ImageRef;
  state: ContainerState;
  /** init process on the host, when running */
  pid: number | null;
  /** ISO 8601 */
  created: string;
  restartPolicy: { name: string; maxRetries: number };
  ports: PortBinding[];
  /** host, bridge, none, container:<id>, or a network name */
  networkMode: string;
  /** started with --rm: the runtime removes it when it stops (absent in older captures) */
  autoRemove?: boolean;
  networks: NetworkAttachment[];
  mounts: Mount[];
  devices: DeviceMapping[];
  /** asked for GPUs (docker --gpus, CDI) */
  gpus: boolean;
  privileged: boolean;
  /** capabilities added to the runtime's default set */
  capAdd?: string[];
  /** pid, ipc, uts, userns modes as inspect says them ('host', 'private', 'container:ID', 'ns:PATH', '') */
  namespaceModes?: Record<string, string>;
  securityOpt?: string[];
  /** podman: the command line the container was created with (the destination's copy is created from it) */
  createCommand?: string[] | null;
  /**
   * the create command of the destination's copy, as the migration driver builds it
   * from this inspect, with env values elided (`-e KEY=…`): keeping the address, and
   * with a new one (--new-address); null when none can be built
   */
  copyArgv?: CopyArgv | null;
  labels: Record<string, string>;
  pod: PodRef | null;
  compose: ComposeInfo | null;
  /** memory in use, from stats; null when not running or stats failed */
  memoryBytes: number | null;
  /** containers this one needs (podman: pod infra, --network container:) by id */
  dependencies: string[];
  /**
   * 'list': from the runtime's list command only (ferry ps, the TUI): restart
   * policy, mounts, devices, addresses and dependencies were not read
   */
  detail?: 'list';
}

export interface Image {
  id: string;
  names: string[];
  digests: string[];
  sizeBytes: number | null;
}

export interface NetworkSubnet {
  subnet: string;
  gateway: string | null;
  /** the range addresses are allocated from, as CIDR */
  range: string | null;
}

export interface Network {
  name: string;
  id: string;
  driver: string;
  subnets: string[];
  /** not one the runtime creates by itself (podman, bridge, host, none) */
  userDefined: boolean;
  /** what it takes to create the same network elsewhere (absent in older captures) */
  ipam?: NetworkSubnet[];
  labels?: Record<string, string>;
  options?: Record<string, string>;
  internal?: boolean;
  ipv6?: boolean;
  /** podman: names resolve on it (dnsname/aardvark); docker: always */
  dns?: boolean;
}

export interface Volume {
  name: string;
  driver: string;
  mountpoint: string | null;
}

export interface Pod {
  id: string;
  name: string;
  infraId: string | null;
  containerIds: string[];
}

export interface RuntimeFacts {
  kind: RuntimeKind;
  /** missing: not installed on the host; error: installed but not answering */
  status: 'ok' | 'missing' | 'error';
  /** engine version (docker: the daemon's) */
  version: string | null;
  clientVersion: string | null;
  apiVersion: string | null;
  rootless: boolean | null;
  ociRuntime: { name: string; version: string | null } | null;
  /** docker's experimental mode (needed for docker checkpoint) */
  experimental: boolean | null;
  /** where the runtime keeps images and containers */
  dataRoot: string | null;
  /** whether this runtime can checkpoint and restore containers here, CRIU aside */
  checkpoint: { supported: boolean; reason: string | null };
}

export type CriuStatus = 'ok' | 'missing' | 'broken' | 'unknown';

export interface CriuFacts {
  status: CriuStatus;
  version: string | null;
  /** `criu check` output (or the failure) */
  check: string;
  /** soft-dirty tracking works: iterative pre-copy is possible */
  preCopy: boolean | null;
  /** userfaultfd with non-cooperative events: lazy-pages (post-copy) is possible */
  lazyPages: boolean | null;
  /** status unknown because a check ran out of time (a busy host): a warning, not a blocker */
  timedOut?: boolean;
}

export interface CheckpointDirFacts {
  /** the configured directory */
  path: string;
  /** the directory actually measured: the path or its nearest existing parent */
  measuredPath: string | null;
  exists: boolean;
  fsType: string | null;
  tmpfs: boolean | null;
  freeBytes: number | null;
  totalBytes: number | null;
}

export interface SudoFacts {
  mode: SudoMode;
  /** not root (or mode always): privileged commands need sudo */
  needed: boolean;
  /** privileged commands went through `sudo -n` */
  used: boolean;
  /** sudo -n worked; null when not tried */
  ok: boolean | null;
  message: string | null;
}

export interface HostFacts {
  user: string | null;
  uid: number | null;
  sudo: SudoFacts;
  kernel: string | null;
  criu: CriuFacts;
  checkpointDir: CheckpointDirFacts;
  runtimes: RuntimeFacts[];
}

/** One runtime's share of a host's inventory. */
export interface RuntimeInventory {
  kind: RuntimeKind;
  facts: RuntimeFacts;
  containers: Container[];
  images: Image[];
  networks: Network[];
  volumes: Volume[];
  pods: Pod[];
  /** this runtime's data could not be refreshed: what is shown is the last good data */
  stale: boolean;
  /** when this runtime's data was last read successfully (ms since epoch) */
  refreshedAt: number | null;
}

export interface HostInventory {
  host: string;
  /** the last refresh failed as a whole; facts and runtimes are the last good data */
  stale: boolean;
  facts: HostFacts | null;
  runtimes: RuntimeInventory[];
  /** problems of the last refresh (errors and warnings) */
  problems: HostProblem[];
  /** last attempt and last full success (ms since epoch) */
  attemptedAt: number | null;
  refreshedAt: number | null;
  /** wall time of the last refresh */
  durationMs: number | null;
}

/** `host/runtime/name`: stable across refreshes (IDs change on restore) */
export type ContainerKey = string;

export function containerKey(c: Pick<Container, 'host' | 'runtime' | 'name'>): ContainerKey {
  return `${c.host}/${c.runtime}/${c.name}`;
}
