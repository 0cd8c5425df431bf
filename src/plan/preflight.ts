// Preflight: can this container go to that host, and if not, why not, said
// before anything is frozen. Two round trips: one to the source (fresh facts
// and inventory, `criu cpuinfo dump`, the container's sockets and open files,
// volume sizes), one to the destination (fresh facts and inventory,
// `criu cpuinfo check` of the source's CPU image, listening ports, bind
// paths). The verdict itself is a pure function of what they found.

import { mergeProbe } from '../inventory/inventory.ts';
import type {
  Container,
  ContainerKey,
  HostFacts,
  HostInventory,
  NetworkAttachment,
  RuntimeFacts,
  RuntimeInventory,
} from '../inventory/model.ts';
import { containerKey } from '../inventory/model.ts';
import { cidrHolds, cidrsOverlap, macAddress, parseCidr } from '../runtime/cidr.ts';
import { excerpt, shQuote } from '../runtime/exec.ts';
import { type HostProbe, type HostTarget, probeHost, runtimesOf } from '../runtime/probe.ts';
import {
  blocks,
  deviceOf,
  type InetSocket,
  isLoopback,
  isWildcard,
  type Listener,
  parseFdLinks,
  parseProcNet,
  parseSsListeners,
  parseSsUnix,
  socketInode,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  UDP_UNCONNECTED,
} from '../runtime/procfs.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Section, SectionResult } from '../runtime/script.ts';
import { formatBytes } from '../text/numbers.ts';
import { containerEscapes, isAllowed } from './escapes.ts';

export type Severity = 'blocker' | 'warning';

export type FindingCode =
  | 'source-unreachable'
  | 'destination-unreachable'
  | 'same-host'
  | 'sudo-denied'
  | 'container-gone'
  | 'not-running'
  | 'criu-missing'
  | 'criu-broken'
  | 'criu-unknown'
  | 'runtime-missing'
  | 'checkpoint-unsupported'
  | 'criu-version-mismatch'
  | 'runtime-version-mismatch'
  | 'oci-runtime-mismatch'
  | 'cpu-incompatible'
  | 'cpuinfo-unavailable'
  | 'image-missing'
  | 'image-differs'
  | 'name-conflict'
  | 'network-missing'
  | 'network-create'
  | 'subnet-conflict'
  | 'address-taken'
  | 'address-unavailable'
  | 'static-ip-conflict'
  | 'static-mac-conflict'
  | 'mac-kept'
  | 'port-in-use'
  | 'bind-source-missing'
  | 'invalid-path'
  | 'volume-carried'
  | 'volume-exists'
  | 'memory-unknown'
  | 'disk-space'
  | 'tcp-established'
  | 'tcp-kept'
  | 'device'
  | 'gpu'
  | 'external-unix-socket'
  | 'privileged'
  | 'escape'
  | 'pod-member'
  | 'auto-remove'
  | 'probe-failed';

export interface FindingOption {
  /** machine code of a way out, e.g. drop-static-ip, tcp-close */
  code: string;
  message: string;
}

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** one human sentence */
  message: string;
  /** the host the finding is about */
  host?: string;
  /** ways to proceed anyway */
  options?: FindingOption[];
}

/** What the source probe learnt about the container's process tree. */
export interface SourceEvidence {
  pid: number | null;
  pids: number[];
  /** TCP connections in ESTABLISHED state owned by the container */
  established: InetSocket[];
  /** TCP/UDP ports the container's processes listen on (in their network namespace) */
  listening: Listener[];
  /** open character devices that CRIU cannot carry */
  devices: { path: string; gpu: boolean }[];
  /** connected UNIX sockets whose peer is outside the container */
  externalUnix: { path: string; inode: number; peerInode: number }[];
  /** base64 of criu's cpuinfo.img, or why there is none */
  cpuinfo: { image: string } | { error: string };
  /** size of each named volume, by volume name */
  volumeBytes: Map<string, number>;
  /** sections that failed, as sentences */
  failures: string[];
  /** /etc/criu/runc.conf asks for tcp-established (runc reads it on every checkpoint: docker's only way) */
  runcTcp?: boolean;
}

export interface DestinationEvidence {
  /** `criu cpuinfo check` result; null when it could not run */
  cpuCheck: { ok: boolean; output: string } | null;
  listeners: Listener[] | null;
  /** the destination's routes (ip route), null when unknown */
  routes?: Route[] | null;
  /** /etc/criu/runc.conf asks for tcp-established (runc reads it on every restore) */
  runcTcp?: boolean;
  /** host path -> exists */
  paths: Map<string, boolean>;
  failures: string[];
}

export interface Route {
  subnet: string;
  dev: string;
}

/** Another member of the group: its addresses and where it goes. */
export interface GroupPeer {
  name: string;
  ips: string[];
  destination: string;
}

/** What the user chose for what ferry cannot decide alone. */
export interface PreflightChoices {
  /** connections to peers outside the group: keep (--tcp-established) or close (--tcp-close) */
  tcp?: 'established' | 'close';
  /** an address taken on the destination: take a new one (--new-address) */
  newAddress?: boolean;
}

export interface PreflightInput {
  container: Container;
  source: HostInventory;
  destination: HostInventory;
  sourceEvidence: SourceEvidence;
  destinationEvidence: DestinationEvidence;
  /** escaping settings the operator allows by name (--allow) */
  allow?: readonly string[];
  /** the other members of the group, for connections between members */
  group?: GroupPeer[];
  choices?: PreflightChoices;
}

export interface PreflightReport {
  container: ContainerKey;
  source: string;
  destination: string;
  /** no blockers */
  ok: boolean;
  findings: Finding[];
  roundTrips: number;
  durationMs: number;
  /** what the verdict was made from, for display and debugging */
  input: PreflightInput | null;
}

export interface PreflightRequest {
  container: Container;
  source: HostTarget;
  destination: HostTarget;
  signal?: AbortSignal;
  /** escaping settings the operator allows by name (--allow) */
  allow?: readonly string[];
  /**
   * the source's full probe (facts and inventory) that the caller just made:
   * preflight then runs only its own sections there, instead of probing the
   * source's inventory a second time
   */
  sourceProbe?: HostProbe;
  /**
   * the same for the destination: its facts and inventory, asked by the caller
   * at the same time as the source's. With the source's CPU image in
   * `sourceProbe` too (CPUINFO_SECTION), both hosts' sections run at once.
   */
  destinationProbe?: HostProbe;
  group?: GroupPeer[];
  choices?: PreflightChoices;
}

// ------------------------------------------------------------------ probes

/**
 * A host path as the source's inspect reports it, fit to reach a command on
 * a host as one argument: absolute (so `find` and `du` never read it as an
 * option or an expression such as `-exec`), on one line (the probes' output
 * is read line by line). Anything else is a blocker, and never sent.
 */
export function isHostPath(p: string): boolean {
  return p.startsWith('/') && !/[\0\n\r]/.test(p);
}
const RUNC_CONF: Section = {
  name: 'pf.runcconf',
  display: 'cat /etc/criu/runc.conf',
  script: 'cat /etc/criu/runc.conf 2>/dev/null; exit 0',
};
const asksTcp = (r: SectionResult | undefined) =>
  r?.code === 0 && r.stdout.split('\n').some((l) => /^\s*(--)?tcp-established\s*$/.test(l));

/**
 * The source's CPU image, for `criu cpuinfo check` on the destination. It
 * depends on no container: a caller that probes the source first can ask it
 * there (and pass that probe as `sourceProbe`).
 */
export const CPUINFO_SECTION: Section = {
  name: 'pf.cpuinfo',
  // the CPU and CRIU's image format change only with a reboot or a new criu binary (the facts key)
  cacheable: true,
  display: 'criu cpuinfo dump',
  script: [
    'mkdir "$T/cpu" || exit 1',
    '$SUDO criu cpuinfo dump -D "$T/cpu" || exit $?',
    '$SUDO cat "$T/cpu/cpuinfo.img" | base64',
  ].join('\n'),
};

export function sourceSections(c: Container, runtime: Runtime): Section[] {
  const volumes = c.mounts.filter((m) => m.type === 'volume' && isHostPath(m.source));
  const sections: Section[] = [
    RUNC_CONF,
    CPUINFO_SECTION,
    {
      name: 'pf.proc',
      display: `read sockets and open files of ${c.name} (/proc, ss -xH)`,
      script: [
        `P=$(${runtime.pidScript(c.id)}) || exit $?`,
        'case $P in ""|0|*[!0-9]*) echo "container is not running (pid \'$P\')" >&2; exit 3 ;; esac',
        'echo "== pid"; echo "$P"',
        // every process of the container: its cgroup's procs (v1 pids controller, or v2)
        `cg=$(grep -E '^[0-9]+:([^:]*,)?pids(,[^:]*)?:' "/proc/$P/cgroup" | head -n 1 | cut -d: -f3-)`,
        `[ -n "$cg" ] && f="/sys/fs/cgroup/pids$cg/cgroup.procs" || f="/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$P/cgroup")/cgroup.procs"`,
        'pids=$(cat "$f" 2>/dev/null); [ -n "$pids" ] || pids=$P',
        'echo "== pids"; echo $pids',
        'echo "== fds"',
        `$SUDO find $(for p in $pids; do echo /proc/$p/fd; done) -maxdepth 1 -type l -printf '%h %l\\n' 2>/dev/null`,
        'for t in tcp tcp6 udp udp6; do echo "== $t"; $SUDO cat "/proc/$P/net/$t" 2>/dev/null; done',
        'echo "== unix"; $SUDO nsenter -t "$P" -n ss -xH 2>/dev/null || ss -xH',
        'exit 0',
      ].join('\n'),
    },
  ];
  if (volumes.length > 0) {
    sections.push({
      name: 'pf.volumes',
      display: `du -sk ${volumes.map((v) => v.source).join(' ')}`,
      script: `$SUDO du -sk ${volumes.map((v) => shQuote(v.source)).join(' ')}`,
    });
  }
  return sections;
}

export function destinationSections(c: Container): Section[] {
  const binds = [...new Set(c.mounts.filter((m) => m.type === 'bind').map((m) => m.source))].filter(
    isHostPath,
  );
  const sections: Section[] = [
    {
      name: 'pf.cpucheck',
      display: 'criu cpuinfo check',
      stdin: true,
      script: [
        '[ -s "$T/stdin" ] || { echo "no CPU image from the source" >&2; exit 3; }',
        'mkdir "$T/cpu" && base64 -d >"$T/cpu/cpuinfo.img" || exit 4',
        '$SUDO criu cpuinfo check -D "$T/cpu"',
      ].join('\n'),
    },
    {
      name: 'pf.listen',
      display: 'ss -ltnH; ss -lunH',
      script: 'echo "== tcp"; ss -ltnH || exit $?; echo "== udp"; ss -lunH',
    },
    RUNC_CONF,
    {
      name: 'pf.routes',
      display: 'ip route',
      script: 'ip -o route show || exit $?; ip -o -6 route show 2>/dev/null; exit 0',
    },
  ];
  if (binds.length > 0) {
    sections.push({
      name: 'pf.paths',
      display: `test -e ${binds.join(' ')}`,
      // absolute paths only, so none is an option or an expression; `--` ends find's own options
      script: `$SUDO find -- ${binds.map((p) => shQuote(p)).join(' ')} -maxdepth 0 -printf 'yes %p\\n'; exit 0`,
    });
  }
  return sections;
}

export function parseSourceEvidence(results: ReadonlyMap<string, SectionResult>): SourceEvidence {
  const failures: string[] = [];
  const fail = (r: SectionResult | undefined, name: string) =>
    failures.push(
      r
        ? `\`${r.display}\` ${r.timedOut ? 'timed out' : `failed (exit ${r.code})`}: ${excerpt(r.stderr || r.stdout)}`
        : `${name} gave no result`,
    );
  const ev: SourceEvidence = {
    pid: null,
    pids: [],
    established: [],
    listening: [],
    devices: [],
    externalUnix: [],
    cpuinfo: { error: 'not probed' },
    volumeBytes: new Map(),
    failures,
  };
  ev.runcTcp = asksTcp(results.get('pf.runcconf'));
  const cpu = results.get('pf.cpuinfo');
  if (cpu?.code === 0 && cpu.stdout.trim()) ev.cpuinfo = { image: cpu.stdout.replace(/\s+/g, '') };
  else {
    ev.cpuinfo = { error: cpu ? excerpt(cpu.stderr || cpu.stdout) || `exit ${cpu.code}` : 'no result' };
  }
  const proc = results.get('pf.proc');
  if (proc?.code === 0) {
    const b = blocks(proc.stdout);
    ev.pid = Number(b.get('pid')?.trim()) || null;
    ev.pids = (b.get('pids') ?? '')
      .split(/\s+/)
      .filter((x) => /^\d+$/.test(x))
      .map(Number);
    const files = parseFdLinks(b.get('fds') ?? '');
    const inodes = new Set<number>();
    for (const f of files) {
      const ino = socketInode(f.target);
      if (ino !== null) inodes.add(ino);
      const dev = deviceOf(f.target);
      if (dev && !ev.devices.some((d) => d.path === dev.path)) ev.devices.push(dev);
    }
    const inet = [
      ...parseProcNet(b.get('tcp') ?? '', 'tcp', 4),
      ...parseProcNet(b.get('tcp6') ?? '', 'tcp', 6),
      ...parseProcNet(b.get('udp') ?? '', 'udp', 4),
      ...parseProcNet(b.get('udp6') ?? '', 'udp', 6),
    ].filter((s) => inodes.has(s.inode));
    ev.established = inet.filter((s) => s.proto === 'tcp' && s.state === TCP_ESTABLISHED);
    const seen = new Set<string>();
    for (const s of inet) {
      const listening =
        (s.proto === 'tcp' && s.state === TCP_LISTEN) || (s.proto === 'udp' && s.state === UDP_UNCONNECTED);
      const k = `${s.proto}/${s.localIp}/${s.localPort}`;
      if (listening && s.localPort > 0 && !seen.has(k)) {
        seen.add(k);
        ev.listening.push({ proto: s.proto, ip: s.localIp, port: s.localPort });
      }
    }
    for (const u of parseSsUnix(b.get('unix') ?? '')) {
      if (inodes.has(u.inode) && u.peerInode > 0 && !inodes.has(u.peerInode))
        ev.externalUnix.push({ path: u.path, inode: u.inode, peerInode: u.peerInode });
    }
  } else if (proc?.code !== 3) fail(proc, 'the process probe'); // 3: not running, said elsewhere
  const vol = results.get('pf.volumes');
  if (vol) {
    for (const line of vol.stdout.split('\n')) {
      const m = /^(\d+)\s+(.+)$/.exec(line.trim());
      if (m) ev.volumeBytes.set(m[2] ?? '', Number(m[1]) * 1024);
    }
    if (vol.code !== 0) fail(vol, 'du');
  }
  return ev;
}

export function parseDestinationEvidence(
  results: ReadonlyMap<string, SectionResult>,
  c: Container,
): DestinationEvidence {
  const failures: string[] = [];
  const check = results.get('pf.cpucheck');
  // 3, 4: there was nothing to check; anything else is criu's verdict
  const cpuCheck =
    check && check.code !== null && check.code !== 3 && check.code !== 4 && !check.timedOut
      ? { ok: check.code === 0, output: excerpt(`${check.stdout}\n${check.stderr}`, 500) }
      : null;
  if (check && cpuCheck === null)
    failures.push(`\`criu cpuinfo check\` could not run: ${excerpt(check.stderr)}`);
  const listen = results.get('pf.listen');
  let listeners: Listener[] | null = null;
  if (listen?.code === 0) {
    const b = blocks(listen.stdout);
    listeners = [
      ...parseSsListeners(b.get('tcp') ?? '', 'tcp'),
      ...parseSsListeners(b.get('udp') ?? '', 'udp'),
    ];
  } else
    failures.push(
      listen
        ? `\`${listen.display}\` failed (exit ${listen.code}): ${excerpt(listen.stderr)}`
        : 'ss gave no result',
    );
  const paths = new Map<string, boolean>();
  const pr = results.get('pf.paths');
  const binds = c.mounts.filter((m) => m.type === 'bind').map((m) => m.source);
  if (pr) {
    const found = new Set(
      pr.stdout
        .split('\n')
        .filter((l) => l.startsWith('yes '))
        .map((l) => l.slice(4)),
    );
    for (const p of binds) paths.set(p, found.has(p));
  }
  const rr = results.get('pf.routes');
  const routes = rr?.code === 0 ? parseRoutes(rr.stdout) : null;
  return { cpuCheck, listeners, routes, runcTcp: asksTcp(results.get('pf.runcconf')), paths, failures };
}

/** `ip -o route` lines with a prefix and a device ("10.89.0.0/24 dev cni-podman1 proto kernel ..."). */
export function parseRoutes(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // a type word may come first: unicast, local, unreachable, ...
    const i = parseCidr(f[0] ?? '') ? 0 : parseCidr(f[1] ?? '') ? 1 : -1;
    if (i < 0) continue;
    const d = f.indexOf('dev');
    const subnet = f[i] as string;
    out.push({
      subnet: subnet.includes('/') ? subnet : `${subnet}/${subnet.includes(':') ? 128 : 32}`,
      dev: d > 0 ? (f[d + 1] ?? '') : '',
    });
  }
  return out;
}

// ------------------------------------------------------------------ verdict

type Report = (code: FindingCode, message: string, extra?: Partial<Finding>) => void;

/** What every family of rules reads, and where it reports its findings. */
interface Rules {
  input: PreflightInput;
  c: Container;
  source: HostInventory;
  /** probed: its facts are known */
  dst: HostInventory & { facts: HostFacts };
  se: SourceEvidence;
  de: DestinationEvidence;
  srcRt: RuntimeInventory | undefined;
  dstRt: RuntimeInventory | undefined;
  block: Report;
  warn: Report;
}

/** Every finding for moving `container` from `source` to `destination`. Pure. */
export function evaluatePreflight(input: PreflightInput): Finding[] {
  const { container: c, source, destination: dst, sourceEvidence: se, destinationEvidence: de } = input;
  const f: Finding[] = [];
  const block = (code: FindingCode, message: string, extra: Partial<Finding> = {}) =>
    f.push({ severity: 'blocker', code, message, ...extra });
  const warn = (code: FindingCode, message: string, extra: Partial<Finding> = {}) =>
    f.push({ severity: 'warning', code, message, ...extra });

  if (source.host === dst.host) block('same-host', `${c.name} is already on ${dst.host}`);
  if (source.stale || !source.facts)
    block('source-unreachable', `${source.host} could not be probed: ${firstError(source)}`, {
      host: source.host,
    });
  if (dst.stale || !dst.facts) {
    block('destination-unreachable', `${dst.host} could not be probed: ${firstError(dst)}`, {
      host: dst.host,
    });
    return f;
  }
  const rules: Rules = {
    input,
    c,
    source,
    dst: { ...dst, facts: dst.facts },
    se,
    de,
    srcRt: source.runtimes.find((r) => r.kind === c.runtime),
    dstRt: dst.runtimes.find((r) => r.kind === c.runtime),
    block,
    warn,
  };
  for (const family of RULE_FAMILIES) family(rules);
  return f;
}

/** The families of findings, in the order they are reported. */
const RULE_FAMILIES: readonly ((r: Rules) => void)[] = [
  containerFindings,
  hostFindings,
  versionFindings,
  cpuFindings,
  destinationInventoryFindings,
  portFindings,
  bindMountFindings,
  volumeFindings,
  diskFindings,
  criuLimitFindings,
  escapeFindings,
  sourceProbeFindings,
];

/** Bytes of the named volumes carried with the container, as far as the source could tell. */
function carriedVolumeBytes(c: Container, se: SourceEvidence): number {
  let bytes = 0;
  for (const m of c.mounts) {
    if (m.type !== 'volume' || !m.name) continue;
    bytes += se.volumeBytes.get(m.source) ?? 0;
  }
  return bytes;
}

/** The container itself: its state, --rm, a pod. */
function containerFindings({ c, source, dst, block, warn }: Rules): void {
  if (c.state !== 'running' && c.state !== 'paused')
    block('not-running', `${c.name} is ${c.state}: only a running container can be checkpointed live`);
  if (c.autoRemove && c.runtime === 'docker')
    block(
      'auto-remove',
      `${c.name} was started with --rm: docker removes it when its checkpoint stops it, so a failure after the freeze could not bring it back; recreate it without --rm to move it`,
    );
  else if (c.autoRemove)
    warn(
      'auto-remove',
      `${c.name} was started with --rm: it moves only by export/import (--restore-path import), and its exported checkpoint stays on ${source.host} until the copy runs, to bring it back if anything fails`,
    );
  if (c.pod)
    warn(
      'pod-member',
      `${c.name} is in pod ${c.pod.name || c.pod.id}: podman restores it into a pod on ${dst.host}, so move the whole pod`,
    );
}

/** Root, CRIU and the runtime on both sides. */
function hostFindings({ c, source, dst, srcRt, dstRt, block, warn }: Rules): void {
  for (const [h, role] of [
    [source, 'source'],
    [dst, 'destination'],
  ] as const) {
    const facts = h.facts;
    if (!facts) continue;
    if (facts.sudo.needed && facts.sudo.ok === false)
      block(
        'sudo-denied',
        `on ${h.host} (${role}) ${facts.sudo.message ?? 'sudo -n is refused'}; CRIU needs root`,
        { host: h.host },
      );
    criuFindings(facts, h.host, role, block, warn);
  }
  if (!dstRt || dstRt.facts.status === 'missing') {
    block('runtime-missing', `${dst.host} has no ${c.runtime}, which ${c.name} runs in`, { host: dst.host });
  } else if (dstRt.facts.status === 'error') {
    block(
      'runtime-missing',
      `${c.runtime} on ${dst.host} does not answer: ${dstRt.facts.checkpoint.reason ?? 'error'}`,
      {
        host: dst.host,
      },
    );
  } else if (!dstRt.facts.checkpoint.supported) {
    block(
      'checkpoint-unsupported',
      `${c.runtime} on ${dst.host} cannot restore checkpoints: ${dstRt.facts.checkpoint.reason}`,
      {
        host: dst.host,
      },
    );
  }
  if (srcRt && srcRt.facts.status === 'ok' && !srcRt.facts.checkpoint.supported)
    block(
      'checkpoint-unsupported',
      `${c.runtime} on ${source.host} cannot checkpoint: ${srcRt.facts.checkpoint.reason}`,
      {
        host: source.host,
      },
    );
}

/** CRIU and runtime versions, source against destination. */
function versionFindings({ c, source, dst, srcRt, dstRt, block, warn }: Rules): void {
  const sc = source.facts?.criu;
  const dc = dst.facts.criu;
  if (sc?.version && dc.version) {
    const cmp = compareVersions(dc.version, sc.version);
    if (major(dc.version) !== major(sc.version))
      block(
        'criu-version-mismatch',
        `CRIU ${sc.version} on ${source.host} and ${dc.version} on ${dst.host} differ in major version: the images may not restore`,
      );
    else if (cmp < 0)
      warn(
        'criu-version-mismatch',
        `CRIU on ${dst.host} (${dc.version}) is older than on ${source.host} (${sc.version}): it may not read every image field`,
      );
  }
  if (srcRt?.facts.version && dstRt?.facts.version && dstRt.facts.status === 'ok') {
    const sv = srcRt.facts.version;
    const dv = dstRt.facts.version;
    if (major(sv) !== major(dv))
      block(
        'runtime-version-mismatch',
        `${c.runtime} ${sv} on ${source.host} and ${dv} on ${dst.host} differ in major version: the checkpoint archive format differs`,
      );
    else if (compareVersions(dv, sv) < 0)
      warn(
        'runtime-version-mismatch',
        `${c.runtime} on ${dst.host} (${dv}) is older than on ${source.host} (${sv})`,
      );
    const so = srcRt.facts.ociRuntime?.name;
    const dn = dstRt.facts.ociRuntime?.name;
    if (so && dn && so !== dn)
      warn('oci-runtime-mismatch', `${c.runtime} uses ${so} on ${source.host} but ${dn} on ${dst.host}`);
  }
}

/** The CPU: dumped on the source, checked on the destination. */
function cpuFindings({ source, dst, se, de, block, warn }: Rules): void {
  const sc = source.facts?.criu;
  const dc = dst.facts.criu;
  if (dc.status !== 'ok' || sc?.status !== 'ok') {
    // a broken or missing CRIU says it all; its cpuinfo verdict means nothing
  } else if (de.cpuCheck) {
    if (!de.cpuCheck.ok)
      block(
        'cpu-incompatible',
        `the CPU of ${dst.host} lacks features the processes on ${source.host} may use (criu cpuinfo check: ${de.cpuCheck.output})`,
        {
          host: dst.host,
        },
      );
  } else {
    const why =
      'error' in se.cpuinfo
        ? `criu cpuinfo dump on ${source.host}: ${se.cpuinfo.error}`
        : de.failures.join('; ');
    warn('cpuinfo-unavailable', `CPU compatibility was not checked (${why})`);
  }
}

/** What the destination already has: image, name, network, addresses. */
function destinationInventoryFindings({ input, c, dst, de, srcRt, dstRt, block, warn }: Rules): void {
  if (dstRt && dstRt.facts.status !== 'missing') {
    if (dstRt.stale)
      warn('probe-failed', `${c.runtime} inventory of ${dst.host} is stale: conflicts may be missed`, {
        host: dst.host,
      });
    imageFindings(c, dstRt, dst.host, warn);
    const clash = dstRt.containers.find((x) => x.name === c.name);
    if (clash)
      block(
        'name-conflict',
        `${dst.host} already has a ${c.runtime} container named ${c.name} (${clash.id.slice(0, 12)}, ${clash.state})`,
        {
          host: dst.host,
          options: [{ code: 'rename', message: `restore under another name` }],
        },
      );
    if (c.networkMode !== 'host' && !dstRt.stale && dstRt.facts.status === 'ok')
      networkFindings(c, srcRt, dst, de, block, warn);
  }
  addressFindings(c, dst, input.choices ?? {}, block, warn);
}

/** Ports the copy would publish or listen on, taken on the destination. */
function portFindings({ c, dst, se, de, block, warn }: Rules): void {
  const listeners = de.listeners;
  if (listeners) {
    const wanted: { proto: 'tcp' | 'udp'; ip: string; port: number; why: string }[] = [];
    for (const p of c.ports)
      if (p.protocol !== 'sctp')
        wanted.push({
          proto: p.protocol,
          ip: p.hostIp,
          port: p.hostPort,
          why: `published ${p.hostPort}/${p.protocol}`,
        });
    if (c.networkMode === 'host')
      for (const l of se.listening)
        wanted.push({
          proto: l.proto,
          ip: l.ip,
          port: l.port,
          why: `listens on ${l.proto} ${l.ip}:${l.port} (host network)`,
        });
    const reported = new Set<string>();
    for (const w of wanted) {
      const busy = listeners.find(
        (l) => l.proto === w.proto && l.port === w.port && addressesOverlap(l.ip, w.ip),
      );
      const k = `${w.proto}/${w.port}`;
      if (busy && !reported.has(k)) {
        reported.add(k);
        block(
          'port-in-use',
          `${w.proto} port ${w.port} is already in use on ${dst.host} (${busy.ip}:${busy.port}); ${c.name} ${w.why}`,
          {
            host: dst.host,
          },
        );
      }
    }
  } else
    warn('probe-failed', `listening ports on ${dst.host} are unknown: ${de.failures.join('; ')}`, {
      host: dst.host,
    });
}

/** Bind mounts: a sound source path, present on the destination. */
function bindMountFindings({ c, source, dst, de, block, warn }: Rules): void {
  for (const m of c.mounts) {
    if ((m.type === 'bind' || (m.type === 'volume' && m.source !== '')) && !isHostPath(m.source)) {
      block(
        'invalid-path',
        `${source.host} reports ${m.type} mount source ${JSON.stringify(m.source)} (-> ${JSON.stringify(m.destination)}) for ${c.name}: not an absolute path on one line, so it is not used`,
        { host: source.host },
      );
      continue;
    }
    if (m.type === 'bind') {
      const exists = de.paths.get(m.source);
      if (exists === false)
        block(
          'bind-source-missing',
          `bind mount ${m.source} (-> ${m.destination}) does not exist on ${dst.host}`,
          {
            host: dst.host,
            options: [
              {
                code: 'create-path',
                message: `create ${m.source} on ${dst.host} (its content is not copied)`,
              },
            ],
          },
        );
      else if (exists === undefined)
        warn('probe-failed', `whether ${m.source} exists on ${dst.host} is unknown`, { host: dst.host });
    }
  }
}

/** Named volumes, carried with the container. */
function volumeFindings({ c, dst, se, dstRt, warn }: Rules): void {
  for (const m of c.mounts) {
    if (m.type !== 'volume' || !m.name) continue;
    const size = se.volumeBytes.get(m.source);
    warn(
      'volume-carried',
      `named volume ${m.name} (${size === undefined ? 'size unknown' : formatBytes(size)}) is copied to ${dst.host} with ${c.name}`,
      {
        host: dst.host,
      },
    );
    if (dstRt?.volumes.some((v) => v.name === m.name))
      warn(
        'volume-exists',
        `${dst.host} already has a volume named ${m.name}: its content would be replaced`,
        { host: dst.host },
      );
  }
}

/** Room for the checkpoint on both sides. */
function diskFindings({ c, source, dst, se, block, warn }: Rules): void {
  if (c.memoryBytes === null) {
    if (c.state === 'running')
      warn(
        'memory-unknown',
        `the memory use of ${c.name} is unknown, so the checkpoint size cannot be estimated`,
      );
  } else {
    const need = c.memoryBytes;
    for (const [h, n] of [
      [source, need],
      [dst, need + carriedVolumeBytes(c, se)],
    ] as const) {
      const d = h.facts?.checkpointDir;
      if (!d || d.freeBytes === null) {
        warn('disk-space', `free space in the checkpoint directory on ${h.host} is unknown`, {
          host: h.host,
        });
      } else if (d.freeBytes < n) {
        block(
          'disk-space',
          `${d.path} on ${h.host} has ${formatBytes(d.freeBytes)} free, the checkpoint of ${c.name} needs about ${formatBytes(n)}${d.tmpfs ? ' (tmpfs: memory)' : ''}`,
          {
            host: h.host,
          },
        );
      } else if (d.freeBytes < n * 1.5) {
        warn(
          'disk-space',
          `${d.path} on ${h.host} has ${formatBytes(d.freeBytes)} free, little room over the ~${formatBytes(n)} the checkpoint needs`,
          {
            host: h.host,
          },
        );
      }
    }
  }
}

/** What CRIU cannot move: connections, devices, GPUs, outside UNIX sockets. */
function criuLimitFindings({ input, c, se, block, warn }: Rules): void {
  tcpFindings(input, block, warn);
  for (const d of c.devices)
    block(
      'device',
      `${c.name} has device ${d.hostPath} mapped: CRIU cannot carry host hardware state to another machine`,
    );
  if (c.gpus || se.devices.some((d) => d.gpu))
    block(
      'gpu',
      `${c.name} uses a GPU (${
        se.devices
          .filter((d) => d.gpu)
          .map((d) => d.path)
          .join(', ') || 'device request'
      }): GPU memory and driver state cannot be checkpointed by CRIU`,
    );
  const mapped = new Set(c.devices.map((d) => d.containerPath));
  for (const d of se.devices)
    if (!d.gpu && !mapped.has(d.path))
      block('device', `a process of ${c.name} holds ${d.path} open: CRIU cannot dump open device files`);
  if (se.externalUnix.length > 0) {
    const paths = [...new Set(se.externalUnix.map((u) => u.path || '(unnamed)'))].slice(0, 5).join(', ');
    block(
      'external-unix-socket',
      `${c.name} is connected over UNIX sockets to ${se.externalUnix.length} peer(s) outside it (${paths}): CRIU cannot dump a connection whose other end stays behind`,
    );
  }
  if (c.privileged)
    warn('privileged', `${c.name} is privileged: it may use host resources CRIU cannot see or move`);
}

/** What the copy would be given on the destination beyond its own container. */
function escapeFindings({ input, c, dst, block, warn }: Rules): void {
  for (const e of containerEscapes(c)) {
    if (isAllowed(e, input.allow ?? []))
      warn('escape', `${c.name} gets ${e.what} on ${dst.host} (allowed by --allow ${e.allow})`, {
        host: dst.host,
      });
    else
      block(
        'escape',
        `${c.name} would get ${e.what} on ${dst.host}, which reaches beyond the container: refused unless allowed with --allow ${e.allow} (or FERRY_ALLOW, also for the TUI)`,
        { host: dst.host, options: [{ code: `allow:${e.allow}`, message: `--allow ${e.allow}` }] },
      );
  }
}

/** What could not be read on the source. */
function sourceProbeFindings({ source, se, warn }: Rules): void {
  for (const x of se.failures) warn('probe-failed', `on ${source.host}: ${x}`, { host: source.host });
}

function criuFindings(
  facts: HostFacts,
  host: string,
  role: 'source' | 'destination',
  block: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  const criu = facts.criu;
  const what = role === 'source' ? 'checkpoint' : 'restore';
  if (criu.status === 'missing')
    block('criu-missing', `CRIU is not installed on ${host} (${role}): it cannot ${what}`, { host });
  else if (criu.status === 'broken')
    block('criu-broken', `CRIU on ${host} (${role}) is broken: ${criu.check}`, { host });
  else if (criu.status === 'unknown' && criu.timedOut)
    warn('criu-unknown', `CRIU on ${host} (${role}) could not be checked in time: ${criu.check}`, { host });
  else if (criu.status === 'unknown')
    block('criu-unknown', `CRIU on ${host} (${role}) could not be checked: ${criu.check}`, { host });
}

function imageFindings(
  c: Container,
  rt: RuntimeInventory,
  host: string,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  if (rt.images.some((i) => i.id === c.image.id)) return;
  const sameName = rt.images.find((i) => i.names.includes(c.image.name));
  if (sameName)
    warn(
      'image-differs',
      `${host} has ${c.image.name} as a different image (${sameName.id.slice(0, 12)}, not ${c.image.id.slice(0, 12)}): the source's image will be transferred`,
      {
        host,
      },
    );
  else
    warn(
      'image-missing',
      `image ${c.image.name} (${c.image.id.slice(0, 12)}) is not on ${host}: it will be transferred`,
      {
        host,
      },
    );
}

/** A member's networks on the destination: there already, or created by ferry if nothing clashes. */
function networkFindings(
  c: Container,
  srcRt: RuntimeInventory | undefined,
  dst: HostInventory,
  de: DestinationEvidence,
  block: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  const dstRt = dst.runtimes.find((r) => r.kind === c.runtime);
  for (const n of c.networks) {
    const there = dstRt?.networks.find((x) => x.name === n.name);
    if (there) {
      if (n.ip && there.subnets.length > 0 && !there.subnets.some((sn) => cidrHolds(sn, n.ip as string)))
        block(
          'address-unavailable',
          `${c.name}'s address ${n.ip} is outside network ${n.name} on ${dst.host} (${there.subnets.join(', ')}): it cannot keep it`,
          {
            host: dst.host,
            options: [{ code: 'new-address', message: 'take a new address (--new-address)' }],
          },
        );
      continue;
    }
    const def = srcRt?.networks.find((x) => x.name === n.name);
    if (!def?.userDefined) {
      block(
        'network-missing',
        `network ${n.name} of ${c.name} does not exist in ${c.runtime} on ${dst.host}`,
        {
          host: dst.host,
          options: [{ code: 'create-network', message: `create network ${n.name} on ${dst.host} first` }],
        },
      );
      continue;
    }
    const subnets = def.ipam?.map((x) => x.subnet) ?? def.subnets;
    let clash = false;
    for (const sn of subnets) {
      for (const rt of dst.runtimes)
        for (const other of rt.networks)
          for (const osn of other.subnets)
            if (cidrsOverlap(sn, osn)) {
              clash = true;
              block(
                'subnet-conflict',
                `network ${n.name} (${sn}) of ${c.name} clashes on ${dst.host} with ${rt.kind} network ${other.name} (${osn})`,
                { host: dst.host },
              );
            }
      for (const r of de.routes ?? [])
        if (
          cidrsOverlap(sn, r.subnet) &&
          !dst.runtimes.some((rt) => rt.networks.some((o) => o.subnets.includes(r.subnet)))
        ) {
          clash = true;
          block(
            'subnet-conflict',
            `network ${n.name} (${sn}) of ${c.name} clashes on ${dst.host} with route ${r.subnet}${r.dev ? ` dev ${r.dev}` : ''}`,
            { host: dst.host },
          );
        }
    }
    if (!clash)
      warn(
        'network-create',
        `will create network ${n.name} (${subnets.join(', ') || 'no subnet'}, ${def.driver || 'bridge'}) on ${dst.host}`,
        { host: dst.host },
      );
  }
}

function addressFindings(
  c: Container,
  dst: HostInventory,
  choices: PreflightChoices,
  block: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  if (c.networkMode === 'host') return;
  const others = dst.runtimes
    .flatMap((r) => r.containers)
    .filter((x) => x.name !== c.name || x.runtime !== c.runtime);
  for (const n of c.networks) {
    // ferry keeps every member's address: one in use on that network there is a blocker
    if (n.ip) {
      const taken = others.find((x) => x.networks.some((m) => m.name === n.name && m.ip === n.ip));
      if (taken) {
        const opt = [
          { code: 'drop-static-ip', message: `drop the static address and take a free one on ${n.name}` },
        ];
        if (n.ipStatic === true)
          block(
            'static-ip-conflict',
            `${c.name} has static IP ${n.ip} on ${n.name}, which ${taken.name} already uses on ${dst.host}`,
            {
              host: dst.host,
              options: opt,
            },
          );
        else if (choices.newAddress)
          warn(
            'address-taken',
            `${taken.name} already uses ${c.name}'s address ${n.ip} on ${n.name} on ${dst.host}: it gets a new one (--new-address), so its established connections cannot be kept`,
            { host: dst.host },
          );
        else
          block(
            'address-taken',
            `${c.name}'s address ${n.ip} on ${n.name} is taken on ${dst.host} by ${taken.name}`,
            {
              host: dst.host,
              options: [
                {
                  code: 'new-address',
                  message: 'take a new address (--new-address); established connections cannot be kept then',
                },
              ],
            },
          );
      }
    }
    if (n.macStatic === true) macFindings(c, n, dst, others, block, warn);
  }
}

/** docker's client sets a MAC per network from 25 on, which engines before 25 (API 1.44) refuse */
function dockerSetsNoMac(dst: HostInventory): RuntimeFacts | null {
  const f = dst.runtimes.find((r) => r.kind === 'docker')?.facts;
  const [client = 0] = versionParts(f?.clientVersion ?? '');
  const [engine = 0] = versionParts(f?.version ?? '');
  return f && client >= 25 && engine > 0 && engine < 25 ? f : null;
}

/** A MAC the user set travels with the member: one in use on that network on the destination is a blocker. */
function macFindings(
  c: Container,
  n: NetworkAttachment,
  dst: HostInventory,
  others: readonly Container[],
  block: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  const options = [{ code: 'drop-static-mac', message: 'drop the static MAC address' }];
  // it goes onto the copy's command line: only a MAC's shape passes
  const mac = macAddress(n.mac);
  if (!mac) {
    block('static-mac-conflict', `${c.name} has a static MAC on ${n.name} that is not a MAC address`, {
      host: dst.host,
      options,
    });
    return;
  }
  const taken = others.find((x) => x.networks.some((m) => m.name === n.name && macAddress(m.mac) === mac));
  const facts = c.runtime === 'docker' ? dockerSetsNoMac(dst) : null;
  if (taken)
    block(
      'static-mac-conflict',
      `${c.name} has static MAC ${mac} on ${n.name}, which ${taken.name} already uses on ${dst.host}`,
      { host: dst.host, options },
    );
  else if (facts)
    block(
      'static-mac-conflict',
      `docker on ${dst.host} cannot give ${c.name} its static MAC ${mac}: its client ${facts.clientVersion} sets a MAC only on engines from 25 on, and the engine is ${facts.version}`,
      { host: dst.host, options },
    );
  else warn('mac-kept', `${c.name} keeps its MAC ${mac} on ${n.name}`, { host: dst.host });
}

const TCP_OPTIONS = [
  {
    code: 'tcp-established',
    message: 'keep them (--tcp-established): works only if the peer still reaches the address',
  },
  { code: 'tcp-close', message: 'close them (--tcp-close): the application must reconnect' },
];

/**
 * Established TCP connections. Between two members that move to the same
 * destination and keep their addresses they are kept, without asking: both
 * are checkpointed at the same moment and restored with --tcp-established.
 * To anyone else the user chooses: keep or close.
 */
function tcpFindings(
  input: PreflightInput,
  block: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
  warn: (code: FindingCode, message: string, extra?: Partial<Finding>) => void,
) {
  const { container: c, destination: dst, sourceEvidence: se } = input;
  if (se.established.length === 0) return;
  if (c.runtime === 'docker' && !(se.runcTcp && input.destinationEvidence.runcTcp)) {
    const hosts = [
      ...(se.runcTcp ? [] : [input.source.host]),
      ...(input.destinationEvidence.runcTcp ? [] : [dst.host]),
    ].join(' and ');
    block(
      'tcp-established',
      `${c.name} has ${se.established.length} established TCP connection(s), and docker passes no --tcp-established to CRIU: add the line tcp-established to /etc/criu/runc.conf on ${hosts} (runc reads it on every checkpoint and restore)`,
      { options: TCP_OPTIONS },
    );
    return;
  }
  const ownIps = new Set(c.networks.flatMap((n) => (n.ip ? [n.ip] : [])));
  const keepsAddress = c.networkMode !== 'host' && ownIps.size > 0 && !input.choices?.newAddress;
  const text = (s: InetSocket) => `${s.localIp}:${s.localPort} -> ${s.remoteIp}:${s.remotePort}`;
  const members: string[] = [];
  const outside: InetSocket[] = [];
  for (const s of se.established) {
    // both ends inside the container (loopback): restored together wherever it goes
    const internal =
      isLoopback(s.localIp) &&
      se.established.some(
        (o) => o.localPort === s.remotePort && o.remotePort === s.localPort && o.localIp === s.remoteIp,
      );
    if (internal || ownIps.has(s.remoteIp)) continue;
    const peer = input.group?.find((m) => m.ips.includes(s.remoteIp));
    if (peer && peer.destination === dst.host && keepsAddress) {
      if (!members.includes(peer.name)) members.push(`${peer.name} (${text(s)})`);
    } else outside.push(s);
  }
  if (members.length > 0)
    warn(
      'tcp-kept',
      `${c.name}'s connections to ${members.slice(0, 3).join(', ')} are kept: both ends move to ${dst.host} with their addresses, checkpointed at the same moment and restored with --tcp-established`,
    );
  if (outside.length === 0) return;
  const list = outside.slice(0, 5).map(text).join(', ');
  const what = `${c.name} has ${outside.length} established TCP connection(s) to peers outside the group (${list})`;
  const choice = input.choices?.tcp;
  const addr = keepsAddress ? [...ownIps].join(', ') : null;
  if (choice === 'established')
    warn(
      'tcp-established',
      `${what}: kept (--tcp-established)${addr ? `; it works only if the peers still reach ${addr} on ${dst.host}` : ', but its address does not move with it: they will break'}`,
    );
  else if (choice === 'close')
    warn('tcp-established', `${what}: closed on restore (--tcp-close); the application must reconnect`);
  else
    block(
      'tcp-established',
      `${what}: keep them with --tcp-established (the peers must still reach ${addr ?? 'its address'}) or close them with --tcp-close`,
      { options: TCP_OPTIONS },
    );
}

function addressesOverlap(a: string, b: string): boolean {
  return isWildcard(a) || isWildcard(b) || a === b;
}

function firstError(h: HostInventory): string {
  return h.problems.find((p) => p.severity === 'error')?.message ?? 'no data';
}

/** Numeric parts of a version, e.g. "20.10.24+dfsg1" -> [20, 10, 24]. */
export function versionParts(v: string): number[] {
  return (/^\D*(\d+(?:\.\d+)*)/.exec(v)?.[1] ?? '').split('.').filter(Boolean).map(Number);
}

function major(v: string): number | undefined {
  return versionParts(v)[0];
}

export function compareVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

// ------------------------------------------------------------------ run it

/**
 * Preflight of one container for one destination. Never rejects: an
 * unreachable host or a failing command is a finding.
 */
export async function preflight(req: PreflightRequest): Promise<PreflightReport> {
  return (await preflightGroup([req]))[0] as PreflightReport;
}

/** A section run once per member in a batched probe: its name carries the member's index (a lone member's keeps its own name). */
const perMember = (sections: Section[], k: number, shared: ReadonlySet<string>, alone: boolean): Section[] =>
  sections.filter((x) => !shared.has(x.name)).map((x) => (alone ? x : { ...x, name: `${x.name}.m${k}` }));

/** The results one member sees: the shared sections, and its own without the index. */
function memberResults(results: ReadonlyMap<string, SectionResult>, k: number): Map<string, SectionResult> {
  const out = new Map<string, SectionResult>();
  for (const [name, r] of results) {
    const m = /^(.*)\.m(\d+)$/.exec(name);
    if (!m) out.set(name, r);
    else if (Number(m[2]) === k) out.set(m[1] ?? name, r);
  }
  return out;
}

const SHARED_SOURCE = new Set(['pf.cpuinfo', 'pf.runcconf']);
const SHARED_DESTINATION = new Set(['pf.cpucheck', 'pf.listen', 'pf.routes', 'pf.runcconf']);

/**
 * Preflight of a group: still two round trips, whatever its size. Members
 * that share a source and a destination share one probe of each (the CPU
 * image, the listening ports), with each member's own sections beside them.
 * Reports come back in the order of `reqs`. Never rejects.
 */
export async function preflightGroup(reqs: readonly PreflightRequest[]): Promise<PreflightReport[]> {
  const t0 = performance.now();
  const reports: PreflightReport[] = new Array(reqs.length);
  const pairs = new Map<string, number[]>();
  reqs.forEach((r, i) => {
    const key = `${r.source.name}\n${r.destination.name}`;
    pairs.set(key, [...(pairs.get(key) ?? []), i]);
  });
  await Promise.all(
    [...pairs.values()].map(async (idx) => {
      const first = reqs[idx[0] as number] as PreflightRequest;
      const signal = first.signal ? { signal: first.signal } : {};
      const report = (
        req: PreflightRequest,
        findings: Finding[],
        roundTrips: number,
        input: PreflightInput | null,
      ): PreflightReport => ({
        container: containerKey(req.container),
        source: req.source.name,
        destination: req.destination.name,
        ok: !findings.some((x) => x.severity === 'blocker'),
        findings,
        roundTrips,
        durationMs: performance.now() - t0,
        input,
      });
      const members: { i: number; req: PreflightRequest; runtime: Runtime }[] = [];
      for (const i of idx) {
        const req = reqs[i] as PreflightRequest;
        const runtime = runtimesOf(req.source).find((r) => r.kind === req.container.runtime);
        if (runtime) members.push({ i, req, runtime });
        else
          reports[i] = report(
            req,
            [
              {
                severity: 'blocker',
                code: 'runtime-missing',
                message: `${req.source.name} is not configured with ${req.container.runtime}`,
              },
            ],
            0,
            null,
          );
      }
      if (members.length === 0) return;
      const m0 = members[0] as (typeof members)[number];
      const known = first.sourceProbe?.reached ? first.sourceProbe : undefined;
      const knownDst = first.destinationProbe?.reached ? first.destinationProbe : undefined;
      // the CPU image from the caller's probe: the destination need not wait for the source
      const knownCpu = known?.extra.get(CPUINFO_SECTION.name);
      const srcSections = [
        ...sourceSections(m0.req.container, m0.runtime).filter(
          (x) => SHARED_SOURCE.has(x.name) && !(knownCpu && x.name === CPUINFO_SECTION.name),
        ),
        ...members.flatMap((m, k) =>
          perMember(sourceSections(m.req.container, m.runtime), k, SHARED_SOURCE, members.length === 1),
        ),
      ];
      const probeSource = () =>
        probeHost(first.source, {
          extra: srcSections,
          ...(known ? { inventory: false, facts: false } : {}),
          ...signal,
        });
      const fresh = known ? members.map((m) => findFresh(known, m.req.container)) : undefined;
      const probeDestination = (stdin: string, containers: Container[]) => {
        const dstSections = [
          ...destinationSections(containers[0] as Container).filter((x) => SHARED_DESTINATION.has(x.name)),
          ...containers.flatMap((c, k) =>
            perMember(destinationSections(c), k, SHARED_DESTINATION, members.length === 1),
          ),
        ];
        return probeHost(first.destination, {
          extra: dstSections,
          stdin,
          ...(knownDst ? { inventory: false, facts: false } : {}),
          ...signal,
        });
      };
      const imageOf = (r: SectionResult | undefined) => {
        const cpu = parseSourceEvidence(new Map(r ? [[CPUINFO_SECTION.name, r]] : [])).cpuinfo;
        return 'image' in cpu ? cpu.image : '';
      };
      let srcProbe: HostProbe;
      let dstProbe: HostProbe;
      let containers: Container[];
      let freshOf: (Container | undefined)[];
      if (knownCpu && fresh) {
        freshOf = fresh;
        containers = members.map((m, k) => fresh[k] ?? m.req.container);
        [srcProbe, dstProbe] = await Promise.all([
          probeSource(),
          probeDestination(imageOf(knownCpu), containers),
        ]);
      } else {
        srcProbe = await probeSource();
        freshOf = fresh ?? members.map((m) => findFresh(srcProbe, m.req.container));
        containers = members.map((m, k) => freshOf[k] ?? m.req.container);
        dstProbe = await probeDestination(imageOf(srcProbe.extra.get(CPUINFO_SECTION.name)), containers);
      }
      // facts and inventory from the caller's probes when there are: each asked once
      const sourceInv = mergeProbe(undefined, known && srcProbe.reached ? known : srcProbe);
      const destination = mergeProbe(undefined, knownDst && dstProbe.reached ? knownDst : dstProbe);
      const srcExtra = new Map(srcProbe.extra);
      if (knownCpu && srcProbe.reached) srcExtra.set(CPUINFO_SECTION.name, knownCpu);
      members.forEach((m, k) => {
        const container = containers[k] as Container;
        const input: PreflightInput = {
          container,
          source: sourceInv,
          destination,
          sourceEvidence: parseSourceEvidence(memberResults(srcExtra, k)),
          destinationEvidence: parseDestinationEvidence(memberResults(dstProbe.extra, k), container),
          // holds the operator's standing allow list (FERRY_ALLOW): the caller adds it
          allow: m.req.allow ?? [],
          ...(m.req.group ? { group: m.req.group } : {}),
          ...(m.req.choices ? { choices: m.req.choices } : {}),
        };
        const findings = evaluatePreflight(input);
        if (srcProbe.reached && !freshOf[k]) {
          findings.unshift({
            severity: 'blocker',
            code: 'container-gone',
            message: `${m.req.container.name} is no longer on ${m.req.source.name} (${m.req.container.runtime})`,
            host: m.req.source.name,
          });
        }
        reports[m.i] = report(m.req, findings, 2, input);
      });
    }),
  );
  return reports;
}

function findFresh(probe: HostProbe, c: Container): Container | undefined {
  const rt = probe.runtimes.find((r) => r.runtime.kind === c.runtime);
  return (
    rt?.probe.data?.containers.find((x) => x.id === c.id) ??
    rt?.probe.data?.containers.find((x) => x.name === c.name)
  );
}
