import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LAB_DIR, lab, SKIP_LAB } from '../support/lab.ts';

// pids of processes whose command line names the lab directory
async function labProcesses(): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const zombie = / [ZX] /.test(state.slice(state.lastIndexOf(')')));
    if (!zombie && cmd.includes(`${LAB_DIR}/`)) found.set(pid, cmd.replaceAll('\0', ' ').slice(0, 120));
  }
  return found;
}

describe.skipIf(SKIP_LAB)('lab down', () => {
  it('leaves no namespace, link, route, mount, process or storage behind', async () => {
    const before = await labProcesses();
    const names = [...before.values()].join('\n');
    // what the lab runs, so that "nothing left" is not vacuous
    expect(names).toMatch(/sshd/);
    expect(names).toMatch(/dockerd/);
    expect(names).toMatch(/conmon/);

    const r = await lab(['down']);
    expect(r.exitCode, r.stderr).toBe(0);

    expect([...(await labProcesses()).values()]).toEqual([]);
    for (const pid of before.keys()) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const alive = stat !== '' && !/ [ZX] /.test(stat.slice(stat.lastIndexOf(')')));
      expect(alive, `pid ${pid} (${before.get(pid)}) still running`).toBe(false);
    }
    const netns = await execa('ip', ['netns', 'list']);
    expect(netns.stdout).not.toMatch(/ferrylab-/);
    const links = await execa('ip', ['-br', 'link']);
    expect(links.stdout).not.toMatch(/ferrylab0|fl-(bastion|alpha|beta|gamma)/);
    const routes = await execa('ip', ['route']);
    expect(routes.stdout).not.toMatch(/10\.99\./);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(LAB_DIR);
    expect(mounts).not.toContain('ferrylab');
    expect(existsSync(LAB_DIR)).toBe(false);
  });
});
