// A PATH like this one without node: what a machine that only has the single
// binary looks like, with every other tool (ssh, sh, python3) still there.
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

const NODE_NAMES = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

/**
 * PATH as it is, except that each directory holding a node is replaced by
 * one (under `work`) with links to all its other programs (here /usr/bin has
 * the machine's node, and ssh, sh, podman beside it).
 */
export async function pathWithoutNode(work: string): Promise<string> {
  const dirs: string[] = [];
  for (const [i, dir] of (process.env.PATH ?? '').split(delimiter).filter(Boolean).entries()) {
    const names = await readdir(dir).catch(() => []);
    if (!names.some((n) => NODE_NAMES.has(n))) {
      dirs.push(dir);
      continue;
    }
    const mirror = join(work, `path-${i}`);
    await mkdir(mirror, { recursive: true });
    for (const n of names) if (!NODE_NAMES.has(n)) await symlink(join(dir, n), join(mirror, n));
    dirs.push(mirror);
  }
  return dirs.join(delimiter);
}
