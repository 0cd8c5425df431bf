// Pieces of `inspect` output that podman copied from docker's format.
import type { ContainerState, DeviceMapping, Mount, PortBinding, Volume } from '../inventory/model.ts';
import { arr, type JsonObject, maybeStr, num, obj, optStr, str, strArray } from './json.ts';

/** "7600/tcp" -> [{...}] maps of NetworkSettings.Ports and HostConfig.PortBindings. */
export function parsePortMap(v: unknown): PortBinding[] {
  const out: PortBinding[] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(obj(v))) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m) continue;
    const containerPort = Number(m[1]);
    const protocol = (m[2]?.toLowerCase() ?? 'tcp') as PortBinding['protocol'];
    for (const b of arr(bindings)) {
      const o = obj(b);
      const hostPort = num(o.HostPort);
      if (hostPort === null || hostPort <= 0) continue;
      const hostIp = str(o.HostIp);
      const id = `${containerPort}/${protocol}/${hostIp}/${hostPort}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ containerPort, protocol, hostIp, hostPort });
    }
  }
  return out.sort((a, b) => a.hostPort - b.hostPort || a.protocol.localeCompare(b.protocol));
}

/** Ports as running (NetworkSettings) if any, else as configured (HostConfig). */
export function parsePorts(c: JsonObject): PortBinding[] {
  const running = parsePortMap(obj(c.NetworkSettings).Ports);
  return running.length > 0 ? running : parsePortMap(obj(c.HostConfig).PortBindings);
}

export function parseMounts(v: unknown): Mount[] {
  return arr(v).map((m) => {
    const o = obj(m);
    const t = str(o.Type);
    const type: Mount['type'] = t === 'bind' || t === 'volume' || t === 'tmpfs' ? t : 'other';
    return {
      type,
      source: str(o.Source),
      destination: str(o.Destination),
      name: type === 'volume' ? str(o.Name) || null : null,
      driver: str(o.Driver) || null,
      rw: o.RW !== false,
    };
  });
}

export function parseDevices(v: unknown): DeviceMapping[] {
  return arr(v)
    .map((d) => {
      const o = obj(d);
      return { hostPath: str(o.PathOnHost), containerPath: str(o.PathInContainer) };
    })
    .filter((d) => d.hostPath !== '');
}

const STATES: Record<string, ContainerState> = {
  created: 'created',
  configured: 'created',
  initialized: 'created',
  running: 'running',
  paused: 'paused',
  restarting: 'restarting',
  removing: 'removing',
  exited: 'exited',
  stopped: 'exited',
  stopping: 'running',
  dead: 'dead',
};

export function parseState(v: unknown): ContainerState {
  return STATES[str(v).toLowerCase()] ?? 'unknown';
}

export function pidOf(state: JsonObject): number | null {
  const p = num(state.Pid);
  return p !== null && p > 0 ? p : null;
}

/** A value by container id, where the map may hold a short id (12+ characters). */
export function lookupById<T>(map: ReadonlyMap<string, T>, id: string): T | undefined {
  const exact = map.get(id);
  if (exact !== undefined) return exact;
  for (const [k, v] of map) if (k.length >= 12 && id.startsWith(k)) return v;
  return undefined;
}

/** `volume ls` of either runtime: the same three fields. */
export function toVolume(v: JsonObject): Volume {
  return { name: str(v.Name), driver: str(v.Driver), mountpoint: optStr(v.Mountpoint) };
}

/** The HostConfig settings that let a container reach its host (privilege, capabilities, host namespaces, security options). */
export function escapeSettings(hostConfig: JsonObject) {
  return {
    privileged: hostConfig.Privileged === true,
    capAdd: strArray(hostConfig.CapAdd),
    namespaceModes: {
      pid: str(hostConfig.PidMode),
      ipc: str(hostConfig.IpcMode),
      uts: str(hostConfig.UTSMode),
      userns: str(hostConfig.UsernsMode),
    },
    securityOpt: strArray(hostConfig.SecurityOpt),
  };
}

/** Mounts under inspect's own field names, each a string or absent: what the drivers copy from. */
export function inspectMounts(
  v: unknown,
): { Type?: string; Name?: string; Source?: string; Destination?: string }[] {
  return arr(v)
    .map(obj)
    .map((m) => ({
      Type: maybeStr(m.Type),
      Name: maybeStr(m.Name),
      Source: maybeStr(m.Source),
      Destination: maybeStr(m.Destination),
    }));
}
