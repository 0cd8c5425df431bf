// The TUI as a person uses it: the real ferry (FERRY_BIN, default
// `node dist/ferry.mjs`; `dist/ferry` for the single binary) on a real
// pseudo-terminal against the lab, its output read through a headless xterm.
// It migrates only a container of its own (e2e-tui-counter), never wf-*.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xterm from '@xterm/headless';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  continuityProblems,
  LAB_DIR,
  removeContainer,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  sshOk,
  startCounter,
  waitStatus,
  workloadStatus,
} from '../support/lab.ts';
import { pathWithoutNode } from '../support/path.ts';
import { type Pty, type ScreenCheck, screenOf, spawnPty } from '../support/pty.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const FERRY = (process.env.FERRY_BIN ?? 'node dist/ferry.mjs').split(' ').filter(Boolean);
const NAME = 'e2e-tui-counter';
const HOSTS = 'alpha,beta,gamma';

interface Session {
  pty: Pty;
  term: xterm.Terminal;
  /** everything the program wrote, raw */
  raw: () => string;
  lines: () => string[];
  text: () => string;
  waitFor(what: ScreenCheck, timeoutMs?: number): Promise<void>;
  press(...keys: string[]): Promise<void>;
  /** the terminal and the program's pty both change size, as in a real window */
  resize(columns: number, rows: number): void;
  /** ends the program if a failed test left it running */
  close(): Promise<void>;
}

let work = '';
const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});
// the single binary runs as on a machine without node
let path = process.env.PATH ?? '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-tui-e2e-'));
  if (process.env.FERRY_BIN) path = await pathWithoutNode(work);
});
afterAll(() => rm(work, { recursive: true, force: true }));

function open(columns = 80, rows = 24, opts: { config?: string; hosts?: string } = {}): Session {
  const [cmd = 'node', ...args] = FERRY;
  const pty = spawnPty([cmd, ...args, '-F', opts.config ?? SSH_CONFIG, '--hosts', opts.hosts ?? HOSTS], {
    columns,
    rows,
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: path,
      // as under a CI runner: with a terminal attached ferry still draws live
      CI: 'true',
      FERRY_TIMING: '1',
      // saved groups and run journals of this test only
      XDG_CONFIG_HOME: join(work, 'config'),
      XDG_STATE_HOME: join(work, 'state'),
    },
  });
  // the pty's line discipline already turns \n into \r\n
  const term = new xterm.Terminal({ cols: columns, rows, allowProposedApi: true });
  let raw = '';
  pty.onData((d) => {
    raw += d;
    term.write(d);
  });
  const screen = screenOf(term);
  const s: Session = {
    pty,
    term,
    raw: () => raw,
    lines: screen.lines,
    text: screen.text,
    waitFor: (what, timeoutMs = 30_000) => screen.waitFor(what, timeoutMs, 50),
    async press(...keys) {
      for (const k of keys) {
        pty.write(k);
        // a lone esc must not merge with the next key into alt-<key>
        await new Promise((r) => setTimeout(r, k === '\x1b' ? 80 : 30));
      }
    },
    resize(c, r) {
      term.resize(c, r);
      pty.resize(c, r);
    },
    async close() {
      if (pty.child.exitCode === null) {
        pty.signal('SIGTERM');
        await Promise.race([pty.exited, new Promise((r) => setTimeout(r, 3000))]);
        pty.child.kill('SIGKILL');
      }
    },
  };
  sessions.push(s);
  return s;
}

const tableRows = (s: Session) => s.lines().filter((l) => /^[ *] (alpha|beta|gamma)\s/.test(l));

describe.skipIf(SKIP_LAB)('ferry TUI on a pty against the lab', () => {
  it('first frame, containers of alpha, gamma reachable through the bastion; / filters, ? helps, q exits 0', async () => {
    const s = open();
    await s.waitFor('ferry ');
    // every host answered: the workflow's containers, wherever other tests left them
    await s.waitFor(/hosts 3\/3/);
    await s.waitFor(/wf-producer-1/);
    const text = s.text();
    expect(text).toMatch(/alpha ✓\d+/);
    // gamma answers through the bastion
    expect(text).toMatch(/gamma ✓\d+/);
    // alpha's containers as alpha itself lists them (other tests may move the workflow meanwhile:
    // the TUI refreshes every 5 s)
    const names = (
      await sshOk('alpha', "podman ps -a --format '{{.Names}}'; docker ps -a --format '{{.Names}}'")
    )
      .split('\n')
      .filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    await s.waitFor(
      () => names.every((n) => tableRows(s).some((l) => new RegExp(`^[ *] alpha +\\w+ +${n}\\b`).test(l))),
      20_000,
    );
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);

    await s.press('/', 'w', 'f', '-', 'p', 'r', 'o');
    await s.waitFor('/wf-pro_');
    await s.waitFor(() => tableRows(s).length > 0 && tableRows(s).every((l) => l.includes('wf-pro')));
    await s.press('\r');
    await s.waitFor('filter: wf-pro');

    await s.press('?');
    await s.waitFor('Keys (esc or ? closes)');
    expect(s.text()).toContain('mark its compose group');
    await s.press('q');
    const code = await s.pty.exited;
    expect(code).toBe(0);
    const timing = /ferry timing: first frame (\d+) ms, inventory of all hosts (\d+) ms/.exec(s.raw());
    expect(timing).not.toBeNull();
    console.log(`[tui] ${timing?.[0]}`);
  });

  it('follows a resize of the terminal', async () => {
    const s = open(100, 30);
    await s.waitFor(/hosts 3\/3/);
    await s.waitFor('IMAGE');
    s.resize(50, 16);
    // too narrow for IMAGE: the column goes, NAME stays
    await s.waitFor((t) => !t.includes('IMAGE') && /HOST +RT +NAME/.test(t));
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(50);
    expect(s.lines()[0]).toMatch(/^ferry /);
    expect(s.lines()[15]).toContain('? help');
    s.resize(120, 30);
    await s.waitFor('IMAGE');
    await s.press('q');
    expect(await s.pty.exited).toBe(0);
  });

  it("a changed host key: that host is refused with the SSH layer's message, the others work; SIGTERM exits cleanly", async () => {
    // a known_hosts of this test's own in which alpha's line holds beta's key: the lab is untouched
    const known = (await readFile(`${LAB_DIR}/known_hosts`, 'utf8')).split('\n');
    const betaKey = known
      .find((l) => l.startsWith('beta,'))
      ?.split(' ')
      .slice(1)
      .join(' ');
    const forged = known
      .map((l) => (l.startsWith('alpha,') ? `${l.split(' ')[0]} ${betaKey}` : l))
      .join('\n');
    await writeFile(join(work, 'known_hosts'), forged);
    const config = (await readFile(SSH_CONFIG, 'utf8')).replace(
      /UserKnownHostsFile \S+/g,
      `UserKnownHostsFile ${join(work, 'known_hosts')}`,
    );
    await writeFile(join(work, 'ssh_config'), config);
    const s = open(80, 24, { config: join(work, 'ssh_config'), hosts: 'alpha,beta' });
    await s.waitFor('alpha ✗ refused');
    await s.waitFor(/beta ✓\d+/);
    expect(s.text()).toContain('hosts 1/2');
    expect(s.lines().find((l) => l.startsWith('! alpha refused:'))).toMatch(
      /^! alpha refused: alpha: REMOTE HOST IDENTIFICATION HAS CHANGED/,
    );
    await s.press('h');
    await s.waitFor('Hosts (esc back)');
    expect(s.text()).toMatch(/known_hosts:2/);
    expect(s.text()).toContain('ssh-keygen -R');
    s.pty.signal('SIGTERM');
    expect(await s.pty.exited).toBe(0);
    // the alternate screen was left: the shell's screen is back
    expect(s.raw()).toContain('\x1b[?1049l');
  });

  describe('a TCP connection to a peer outside the group', () => {
    const CLIENT = 'e2e-tui-tcp';
    const PEER = 'e2e-tui-peer';
    const cleanup = () => removeContainer(CLIENT).then(() => removeContainer(PEER));
    afterAll(cleanup);

    it('is a blocker until t chooses: keep clears it, close too, each planned again', async () => {
      await cleanup();
      // the peer listens on alpha's own address; the client (the one marked) holds a connection to it
      const ip = (await sshOk('alpha', "ip -4 -o addr show eth0 | awk '{print $4}'")).trim().split('/')[0];
      const run = (name: string, cmd: string) =>
        sshOk(
          'alpha',
          `podman run -d --name ${name} --network host --entrypoint /bin/sh localhost/ferry-workload:latest -c '${cmd}' >/dev/null`,
        );
      await run(PEER, 'sleep 600 | busybox nc -l -p 7395');
      await new Promise((r) => setTimeout(r, 500));
      await run(CLIENT, `sleep 600 | busybox nc ${ip} 7395`);
      const s = open();
      await s.waitFor(new RegExp(`alpha +podman +${CLIENT}`));
      await s.press('/', ...CLIENT, '\r', ' ', 'm');
      await s.waitFor('> beta');
      await s.press('\r');
      await s.waitFor(/migration refused|cannot plan|y runs this plan/, 45_000);
      expect(s.text()).toContain('outside TCP: not chosen');
      expect(s.text()).toContain('migration refused');
      expect(s.text()).toMatch(new RegExp(`BLOCKER ${CLIENT}: .*established TCP`));
      await s.press('t');
      await s.waitFor('outside TCP: keep: works only if the peer still reaches the address');
      await s.waitFor(/y runs this plan|migration refused|cannot plan/, 45_000);
      expect(s.text()).toContain('y runs this plan');
      await s.press('t');
      await s.waitFor('outside TCP: close: the application reconnects');
      await s.waitFor(/y runs this plan|migration refused|cannot plan/, 45_000);
      expect(s.text()).toContain('y runs this plan');
      await s.press('\x1b', '\x1b', 'q');
      expect(await s.pty.exited).toBe(0);
    });
  });

  describe('a migration from the TUI', () => {
    const cleanup = () => removeContainer(NAME);
    beforeAll(async () => {
      await cleanup();
      await startCounter('alpha', NAME, 7391);
    });
    afterAll(cleanup);

    it('marks e2e-tui-counter, plans to beta, runs on y; it then runs on beta and not on alpha', async () => {
      const before = await workloadStatus('alpha', 'podman', NAME);
      const s = open();
      await s.waitFor(new RegExp(`alpha +podman +${NAME}`));
      await s.press('/', ...NAME, '\r', ' ');
      await s.waitFor('marked 1');
      await s.press('m');
      await s.waitFor('to which host?');
      // beta: the first host that is not the source
      expect(s.lines().find((l) => l.startsWith('> '))).toMatch(/^> beta/);
      await s.press('\r');
      await s.waitFor(/y runs this plan|migration refused|cannot plan/, 45_000);
      expect(s.text()).toContain('y runs this plan');
      expect(s.text()).toMatch(new RegExp(`1 +${NAME} +alpha`));
      // d: what beta will create, the driver's own command line; d again: the plan
      await s.press('d');
      await s.waitFor('what each destination creates');
      expect(s.text()).toContain(`1 ${NAME} on beta: podman create`);
      // the values of its environment are not shown
      const details = s.lines().join(' ');
      expect(details).toContain("'BALLAST_MB=…'");
      expect(details).not.toContain('BALLAST_MB=16');
      await s.press('d');
      await s.waitFor(new RegExp(`1 +${NAME} +alpha`));
      await s.press('y');
      await s.waitFor('Done in', 60_000);
      expect(s.text()).toMatch(/Done in [\d.]+m?s: 1 migrated/);
      expect(s.lines().find((l) => l.startsWith(NAME))).toMatch(/migrated/);
      await s.press('\x1b');
      await s.waitFor(new RegExp(`beta +podman +${NAME}`), 30_000);
      await s.press('q');
      expect(await s.pty.exited).toBe(0);

      const after = await waitStatus('beta', 'podman', NAME, (st) => st.ticks > before.ticks);
      expect(continuityProblems(before, after)).toEqual([]);
      expect((await ssh('alpha', `podman container exists ${NAME}`)).exitCode).toBe(1);
    });

    it('SIGHUP in mid-run (a dropped SSH session) stops safely: the run settles, ferry exits, the container runs on one host', async () => {
      // after the test above it runs on beta: bring it home to alpha, and hang up during the run
      const before = await workloadStatus('beta', 'podman', NAME);
      const s = open();
      await s.waitFor(new RegExp(`beta +podman +${NAME}`));
      await s.press('/', ...NAME, '\r', ' ', 'm');
      await s.waitFor('> alpha');
      await s.press('\r');
      await s.waitFor('y runs this plan', 60_000);
      await s.press('y');
      await s.waitFor(new RegExp(`${NAME} +(prestage|checkpoint|transfer|restore|verify)`), 30_000);
      s.pty.signal('SIGHUP');
      await s.waitFor('stopping safely', 10_000);
      // the run ends by itself, then ferry leaves with no one at the terminal
      expect(await s.pty.exited).toBe(0);
      const where = await Promise.all(
        ['alpha', 'beta'].map(async (h) =>
          (await ssh(h, `podman container inspect -f '{{.State.Status}}' ${NAME}`)).stdout.trim(),
        ),
      );
      // exactly one copy, running: moved, or rolled back on beta
      expect(where.filter((st) => st === 'running')).toHaveLength(1);
      expect(where.filter((st) => st !== '')).toHaveLength(1);
      const host = where[0] === 'running' ? 'alpha' : 'beta';
      const after = await waitStatus(host, 'podman', NAME, (st) => st.ticks > before.ticks);
      expect(continuityProblems(before, after)).toEqual([]);
    });
  });
});
