// Sizes as podman and docker print them, read back into bytes: go-units'
// HumanSize (decimal: kB, MB, GB) and BytesSize (binary: KiB, MiB, GiB), e.g.
// "67.8MB", "64.37MiB". ferry writes sizes with src/text/format.ts.

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  p: 1e15,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** Bytes in a size like "64.37MiB" or "245.8kB"; null if it is not one. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === '' ? 1 : UNITS[unit];
  if (mult === undefined || !Number.isFinite(n)) return null;
  return Math.round(n * mult);
}

/** The used part of "used / limit" as stats print memory. */
export function parseUsage(text: string): number | null {
  const used = text.split('/')[0] ?? '';
  return parseSize(used);
}
