// `docker container inspect` of one container as the migration driver and the
// plan read it: field by field, so that a hostile host's other types never
// reach the copy's command line.
import { isIP } from 'node:net';
import { macAddress } from './cidr.ts';
import { inspectMounts } from './inspect-common.ts';
import { arr, type Json, type JsonObject, maybeStr, num, obj, onlyStrings, str } from './json.ts';

/** a network or alias name as docker takes it */
export const DOCKER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface DockerInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: {
    Image: string;
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Labels?: Record<string, string> | null;
    User?: string;
    WorkingDir?: string;
    Tty?: boolean;
    OpenStdin?: boolean;
    /** the MAC the user set (--mac-address, compose's mac_address): its endpoint on NetworkMode has it */
    MacAddress?: string;
  };
  HostConfig: {
    NetworkMode?: string;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    Binds?: string[] | null;
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Privileged?: boolean;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    ShmSize?: number;
  };
  /** the container's init process, as seen from the host (0 when it is not running) */
  State?: { Pid?: number };
  GraphDriver?: { Data?: { UpperDir?: string } };
  Mounts?: { Type?: string; Name?: string; Source?: string; Destination?: string }[];
  NetworkSettings?: {
    Networks?: Record<
      string,
      { IPAddress?: string; GlobalIPv6Address?: string; Aliases?: string[] | null }
    > | null;
  };
}

/**
 * `docker container inspect` of one container, read field by field (runtime/json.ts):
 * a field of another type than docker prints is absent, and a list or map that
 * goes onto the copy's command line but holds anything other than strings is
 * refused, naming the field.
 */
export function readDockerInspect(
  o: JsonObject,
  where: string,
  fail: (message: string) => Error = (message) => new Error(message),
): DockerInspect {
  const refuse = (field: string, what: string): never => {
    throw fail(`${where}: docker inspect gives ${field} that is not ${what}`);
  };
  const list = (field: string, v: Json | undefined): string[] | null =>
    v === undefined || v === null ? null : (onlyStrings(v) ?? refuse(field, 'a list of strings'));
  const map = (field: string, v: Json | undefined): Record<string, string> | null => {
    if (v === undefined || v === null) return null;
    const m = obj(v);
    return Object.values(m).every((x) => typeof x === 'string')
      ? (m as Record<string, string>)
      : refuse(field, 'a map of strings');
  };
  const config = obj(o.Config);
  const host = obj(o.HostConfig);
  const restart = obj(host.RestartPolicy);
  // what goes onto the copy's command lines as values: only their shapes pass
  const mac = maybeStr(config.MacAddress);
  if (mac && !macAddress(mac)) refuse('Config.MacAddress', 'a MAC address');
  const ip = (field: string, v: Json | undefined, family: 4 | 6): string | undefined => {
    const a = maybeStr(v);
    return !a || isIP(a) === family ? a : refuse(field, `an IPv${family} address`);
  };
  const aliases = (field: string, v: Json | undefined): string[] | null => {
    const l = list(field, v);
    return l?.every((a) => DOCKER_NAME.test(a)) === false ? refuse(field, 'a list of names') : l;
  };
  const ports = obj(host.PortBindings);
  return {
    Id: str(o.Id),
    Name: str(o.Name),
    Image: str(o.Image),
    Config: {
      Image: str(config.Image),
      Env: list('Config.Env', config.Env),
      Cmd: list('Config.Cmd', config.Cmd),
      Entrypoint: list('Config.Entrypoint', config.Entrypoint),
      Labels: map('Config.Labels', config.Labels),
      User: maybeStr(config.User),
      WorkingDir: maybeStr(config.WorkingDir),
      Tty: config.Tty === true,
      OpenStdin: config.OpenStdin === true,
      MacAddress: (mac && macAddress(mac)) || undefined,
    },
    HostConfig: {
      NetworkMode: maybeStr(host.NetworkMode),
      RestartPolicy: {
        Name: maybeStr(restart.Name),
        MaximumRetryCount: num(restart.MaximumRetryCount) ?? undefined,
      },
      Binds: list('HostConfig.Binds', host.Binds),
      PortBindings: Object.fromEntries(
        Object.entries(ports).map(([port, binds]) => [
          port,
          binds === null
            ? null
            : arr(binds)
                .map(obj)
                .map((b) => ({
                  HostIp: maybeStr(b.HostIp),
                  HostPort: maybeStr(b.HostPort),
                })),
        ]),
      ),
      Privileged: host.Privileged === true,
      CapAdd: list('HostConfig.CapAdd', host.CapAdd),
      CapDrop: list('HostConfig.CapDrop', host.CapDrop),
      ShmSize: num(host.ShmSize) ?? undefined,
    },
    State: { Pid: num(obj(o.State).Pid) ?? undefined },
    GraphDriver: { Data: { UpperDir: maybeStr(obj(obj(o.GraphDriver).Data).UpperDir) } },
    Mounts: inspectMounts(o.Mounts),
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(obj(obj(o.NetworkSettings).Networks)).map(([name, raw]) => {
          const n = obj(raw);
          return [
            name,
            {
              IPAddress: ip(`NetworkSettings.Networks.${name}.IPAddress`, n.IPAddress, 4),
              GlobalIPv6Address: ip(
                `NetworkSettings.Networks.${name}.GlobalIPv6Address`,
                n.GlobalIPv6Address,
                6,
              ),
              Aliases: aliases(`NetworkSettings.Networks.${name}.Aliases`, n.Aliases),
            },
          ];
        }),
      ),
    },
  };
}
