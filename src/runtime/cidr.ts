// Subnets as runtimes and `ip route` print them ("10.89.0.0/24"), and
// whether two of them overlap or one holds an address.
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

export function parseCidr(text: string): Cidr | null {
  const [address = '', bits, ...rest] = text.trim().split('/');
  const family = isIP(address);
  if (rest.length > 0 || (family !== 4 && family !== 6)) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || !/^\d*$/.test(bits ?? '')) return null;
  return { address, prefix, family };
}

function holds(c: Cidr, address: string): boolean {
  const family = isIP(address);
  if (family !== c.family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(c.address, c.prefix, type);
  return list.check(address, type);
}

/** The address is inside the subnet. */
export function cidrHolds(subnet: string, address: string): boolean {
  const c = parseCidr(subnet);
  return c !== null && holds(c, address);
}

/** Two subnets share an address (the one with the shorter prefix holds the other's start). */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  return x.prefix <= y.prefix ? holds(x, y.address) : holds(y, x.address);
}

/** "10.0.0.1" -> 167772161; null unless a dotted IPv4 address. */
export function ipv4ToInt(ip: string): number | null {
  if (isIP(ip) !== 4) return null;
  return ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}

/** A MAC address as runtimes print it (six hex pairs, colon-separated), lower-cased; null for anything else. */
export function macAddress(text: string | null | undefined): string | null {
  return typeof text === 'string' && /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(text)
    ? text.toLowerCase()
    : null;
}
