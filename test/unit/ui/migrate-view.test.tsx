// Migrating from the TUI at 80x24: destination, strategy, plan, run, summary.
import { afterEach, describe, expect, it } from 'vitest';
import { plannedCreate } from '../../../src/migrate/survey.ts';
import { DEFAULT_OPTIONS } from '../../../src/plan/migration.ts';
import { createAppStore } from '../../../src/store/store.ts';
import { mk } from '../support/containers.ts';
import { FakeBackend, planFor } from './fakes.ts';
import { KEY, renderTui, type Screen } from './terminal.ts';

let screen: Screen | undefined;
afterEach(async () => {
  await screen?.unmount();
  screen = undefined;
});

const SINK = 'alpha/podman/wf-sink-1';
const PARSE = 'alpha/podman/wf-parse-1';
const MB = 1024 * 1024;

/** The wf group marked, the destination list open. */
async function marked(backend = new FakeBackend(), colors = false) {
  const store = createAppStore(backend, { version: '0.1.0' });
  screen = await renderTui(store, { colors });
  const s = screen;
  await s.waitFor('wf-parse-1');
  await s.press('/', 'w', 'f', '-', KEY.enter, 'a', 'm');
  await s.waitFor('to which host?');
  return { store, backend, s };
}

describe('migrate', () => {
  it('lists the other hosts, tab cycles the strategy, enter shows the plan', async () => {
    const { s, backend } = await marked();
    expect(s.text()).toContain('Migrate 4 containers: wf-enrich-1, wf-parse-1, wf-producer-1, wf-sink-1');
    expect(s.lines().filter((l) => /^[> ] (beta|gamma)/.test(l))).toEqual([
      expect.stringMatching(/^> beta\s+0 containers/),
      expect.stringMatching(/^ {2}gamma\s+1 containers/),
    ]);
    expect(s.text()).toContain('strategy: auto (tab)');
    await s.press(KEY.tab);
    await s.waitFor('strategy: pipelined (tab)');
    await s.press(KEY.tab, KEY.tab, KEY.tab);
    await s.waitFor('strategy: auto (tab)');
    await s.press('j', KEY.enter);
    await s.waitFor('y runs this plan');
    expect(backend.planRequests[0]).toMatchObject({ to: 'gamma', options: { strategy: 'auto' } });
    const text = s.text();
    expect(text).toContain('Plan: migrate to gamma');
    expect(text).toMatch(/1 +wf-enrich-1 +alpha +400ms +1\.2s +300ms +1\.9s/);
    expect(text).toContain('predicted makespan 4.9s (one by one 7.6s, 36% faster)');
    expect(text).toContain('no findings');
    expect(text).toContain('links: alpha->gamma 93.0M/s');
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);
    // tab on the plan plans again with the next strategy
    await s.press(KEY.tab);
    await s.waitFor('strategy pipelined');
    expect(backend.planRequests[1]?.options.strategy).toBe('pipelined');
    // esc goes back to the hosts
    await s.press(KEY.esc);
    await s.waitFor('to which host?');
  });

  it('blockers are red and refuse the migration: y runs nothing', async () => {
    const backend = new FakeBackend();
    backend.planOver = {
      blocked: true,
      findings: [
        { id: SINK, severity: 'blocker', code: 'criu-broken', message: 'beta: criu check fails: vDSO' },
        { id: PARSE, severity: 'warning', code: 'port', message: 'port 7520 is in use on beta' },
      ],
    };
    const { s } = await marked(backend, true);
    await s.press(KEY.enter);
    await s.waitFor('migration refused');
    expect(s.text()).toContain('BLOCKER wf-sink-1: beta: criu check fails: vDSO');
    expect(s.text()).toContain('warning wf-parse-1: port 7520 is in use on beta');
    const red = s.cellColor('BLOCKER');
    expect(red).toBe(1); // ANSI red
    expect(s.cellColor('migration refused')).toBe(1);
    expect(s.cellColor('warning wf-parse-1')).toBe(3); // yellow
    await s.press('y');
    await s.waitFor('fix them or unmark');
    expect(backend.runs).toHaveLength(0);
    expect(s.text()).toContain('Plan: migrate to beta');
  });

  it('t picks keep or close for connections to peers outside the group, says what it means, and plans again', async () => {
    const backend = new FakeBackend();
    backend.planOver = (req) => {
      const chosen = req.options.tcpEstablished || req.options.tcpClose;
      return planFor(req, {
        blocked: !chosen,
        findings: [
          {
            id: SINK,
            severity: chosen ? 'warning' : 'blocker',
            code: 'tcp-established',
            message: chosen
              ? `outside peers: ${req.options.tcpEstablished ? 'kept' : 'closed'}`
              : 'wf-sink-1 has 1 established TCP connection(s) to peers outside the group',
          },
        ],
      });
    };
    const { s } = await marked(backend);
    await s.press(KEY.enter);
    await s.waitFor('migration refused');
    expect(s.text()).toContain('outside TCP: not chosen (t: keep, then close)');
    expect(s.text()).toContain('t outside tcp');
    await s.press('t');
    await s.waitFor('y runs this plan');
    expect(s.text()).toContain('outside TCP: keep: works only if the peer still reaches the address');
    expect(s.text()).toContain('warning wf-sink-1: outside peers: kept');
    expect(backend.planRequests[1]?.options).toMatchObject({ tcpEstablished: true, tcpClose: false });
    await s.press('t');
    await s.waitFor('outside TCP: close: the application reconnects');
    await s.waitFor('outside peers: closed');
    expect(backend.planRequests[2]?.options).toMatchObject({ tcpEstablished: false, tcpClose: true });
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);
    await s.press('?');
    await s.waitFor('outside TCP: keep / close');
  });

  it('a plan longer than the screen keeps its summary and verdict in view', async () => {
    const backend = new FakeBackend();
    backend.planOver = (req) =>
      planFor(
        { ...req, members: Array.from({ length: 40 }, (_, i) => ({ host: 'alpha', name: `c-${i}` })) },
        {
          blocked: true,
          findings: Array.from({ length: 6 }, (_, i) => ({
            id: `alpha/podman/c-${i}`,
            severity: i === 5 ? ('blocker' as const) : ('warning' as const),
            code: 'x',
            message: `finding number ${i} with a message long enough to wrap over the end of one line of text`,
          })),
        },
      );
    const { s } = await marked(backend);
    await s.press(KEY.enter);
    await s.waitFor('migration refused');
    const text = s.text();
    expect(text).toMatch(/1-\d+ of 40 \(j\/k scroll\)/);
    expect(text).toMatch(/^1 +c-0 /m);
    expect(text).toContain('predicted makespan');
    // blockers first
    expect(text).toContain('BLOCKER c-5: finding number 5');
    expect(s.lines()[23]).toContain('? help');
    // j scrolls the items; the rest stays
    await s.press('j', 'j', 'j');
    await s.waitFor(/4-\d+ of 40/);
    expect(s.text()).toMatch(/^4 +c-3 /m);
    expect(s.text()).toContain('migration refused');
  });

  it('d shows what each destination creates: the whole create line, escaped, env values elided', async () => {
    const backend = new FakeBackend();
    const hostile = plannedCreate(
      mk('wf-sink-1', {
        copyArgv: {
          sameAddress: [
            'podman',
            'create',
            '--name',
            'wf-sink-1',
            '-e',
            'SECRET_TOKEN=…',
            '--label',
            'evil=\u001b]52;c;aGk=\u0007',
            '-v',
            `/srv/${'d'.repeat(100)}:/data`,
            'localhost/ferry-workload:latest',
            'sink',
          ],
          newAddress: [],
        },
      }),
      DEFAULT_OPTIONS,
    );
    backend.planOver = (req) => {
      const p = planFor(req);
      return { ...p, creates: { [SINK]: hostile } };
    };
    const { s } = await marked(backend);
    await s.press(KEY.enter);
    await s.waitFor('y runs this plan');
    expect(s.lines()[23]).toContain('d details');
    expect(s.text()).not.toContain('podman create');
    await s.press('d');
    await s.waitFor('what each destination creates');
    const text = s.text();
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);
    expect(text).toMatch(/4 wf-sink-1 on beta: podman create --name wf-sink-1 -e 'SECRET_TOKEN=…'/);
    expect(text.replace(/\n/g, ' ')).toContain("--label 'evil=\\u001b]52;c;aGk=\\u0007' -v");
    expect(text).not.toContain('\u001b');
    // the long path goes on over the next line: nothing is cut
    expect(text.replace(/\n/g, '')).toContain(
      `/srv/${'d'.repeat(100)}:/data localhost/ferry-workload:latest sink`,
    );
    expect(text).toMatch(/1 wf-enrich-1 on beta: not known/);
    await s.press('d');
    await s.waitFor('predicted makespan');
    expect(s.text()).not.toContain('podman create');
  });

  it('a plan that cannot be made says why', async () => {
    const backend = new FakeBackend();
    backend.planError = 'beta: could not run the probe script: connection refused';
    const { s } = await marked(backend);
    await s.press(KEY.enter);
    await s.waitFor('cannot plan this migration');
    expect(s.text()).toContain('beta: could not run the probe script: connection refused');
    await s.press('y');
    expect(backend.runs).toHaveLength(0);
  });

  it('y runs: stages, a progress bar with rate, the log, then the summary; esc returns and refreshes', async () => {
    const { s, backend, store } = await marked();
    await s.press(KEY.enter);
    await s.waitFor('y runs this plan');
    await s.press('y');
    await s.waitFor('ctrl-c stop safely');
    const run = backend.runs[0];
    if (!run) throw new Error('no run');
    expect(s.text()).toMatch(/wf-enrich-1 +waiting/);
    run.emit({ type: 'run-started', runId: 'r-42', strategy: 'auto', order: [SINK, PARSE], items: [] });
    run.emit({ type: 'stage-started', id: SINK, stage: 'checkpoint' });
    run.emit({ type: 'stage-finished', id: SINK, stage: 'checkpoint', ms: 420 });
    run.emit({ type: 'stage-started', id: SINK, stage: 'transfer' });
    run.emit({ type: 'bytes', id: SINK, bytes: 32 * MB, rateBytesPerSec: 80 * MB });
    run.emit({ type: 'stage-started', id: PARSE, stage: 'checkpoint' });
    run.emit({ type: 'warning', id: SINK, message: 'link alpha -> beta: 80 MB/s measured, no compression' });
    await s.waitFor('Run r-42');
    const sinkLine = s.lines().find((l) => l.startsWith('wf-sink-1'));
    expect(sinkLine).toMatch(/wf-sink-1 +transfer +\[#+-+\] +50% +32\.0M +80\.0M\/s/);
    expect(s.text()).toMatch(/wf-parse-1 +checkpoint/);
    expect(s.text()).toContain('wf-sink-1: link alpha -> beta: 80 MB/s measured');
    // esc and q wait for the run
    await s.press(KEY.esc, 'q');
    await s.waitFor('a migration is running');
    expect(store.getState().quitRequested).toBe(false);
    run.emit({ type: 'stage-finished', id: SINK, stage: 'transfer', ms: 800, detail: { bytes: 64 * MB } });
    run.emit({ type: 'stage-started', id: SINK, stage: 'restore' });
    run.emit({ type: 'container-done', id: SINK, outcome: 'migrated', downtimeMs: 1500 });
    run.emit({ type: 'error', id: PARSE, stage: 'restore', message: 'criu restore failed: exit 1' });
    run.emit({ type: 'rollback', id: PARSE, ok: true, message: 'wf-parse-1 runs on alpha again' });
    run.emit({ type: 'container-done', id: PARSE, outcome: 'rolled-back', message: 'criu restore failed' });
    run.finish({
      strategy: 'auto',
      makespanMs: 5300,
      results: [
        { id: SINK, outcome: 'migrated', downtimeMs: 1500 },
        { id: PARSE, outcome: 'rolled-back', message: 'criu restore failed' },
      ],
    });
    await s.waitFor('Done in 5.3s');
    const text = s.text();
    expect(text).toContain('Done in 5.3s: 1 migrated, 1 rolled back; longest downtime 1.5s');
    expect(s.lines().find((l) => l.startsWith('wf-sink-1'))).toMatch(
      /migrated +\[#+\] 100% +64\.0M .* 1\.5s$/,
    );
    expect(text).toMatch(/wf-parse-1 +rolled back/);
    expect(text).toContain('wf-parse-1 (restore): criu restore failed: exit 1');
    expect(text).toContain('wf-parse-1: rolled back: wf-parse-1 runs on alpha again');
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);
    const before = backend.refreshCalls.length;
    await s.press(KEY.esc);
    await s.waitFor('marked 0');
    await s.waitFor('wf-producer-1');
    expect(backend.refreshCalls.length).toBeGreaterThan(before);
  });

  it('a run longer than the screen keeps the container in flight in view', async () => {
    const backend = new FakeBackend();
    backend.planOver = (req) =>
      planFor({ ...req, members: Array.from({ length: 30 }, (_, i) => ({ host: 'alpha', name: `c-${i}` })) });
    const { s } = await marked(backend);
    await s.press(KEY.enter);
    await s.waitFor('y runs this plan');
    await s.press('y');
    await s.waitFor('of 30 containers');
    const run = backend.runs[0];
    if (!run) throw new Error('no run');
    for (let i = 0; i < 20; i++)
      run.emit({ type: 'container-done', id: `alpha/podman/c-${i}`, outcome: 'migrated', downtimeMs: 800 });
    run.emit({ type: 'stage-started', id: 'alpha/podman/c-20', stage: 'transfer' });
    await s.waitFor(/c-20 +transfer/);
    expect(s.text()).toMatch(/c-19 +migrated/);
    expect(s.text()).not.toMatch(/^c-0 /m);
    expect(s.text()).toContain('20/30 done');
  });

  it('ctrl-c during a run stops it safely (run.cancel), and says so', async () => {
    const { s, backend, store } = await marked();
    await s.press(KEY.enter);
    await s.waitFor('y runs this plan');
    await s.press('y');
    await s.waitFor('ctrl-c stop safely');
    await s.press(KEY.ctrlC);
    await s.waitFor('stopping safely');
    expect(backend.runs[0]?.cancel).toHaveBeenCalledTimes(1);
    expect(store.getState().quitRequested).toBe(false);
    expect(s.text()).toContain('stopping: no further container will be frozen');
    await s.press(KEY.ctrlC);
    await s.waitFor('already stopping');
    expect(backend.runs[0]?.cancel).toHaveBeenCalledTimes(1);
    backend.runs[0]?.finish({ strategy: 'auto', makespanMs: 100, results: [] });
    await s.waitFor('Done in');
    // after the end, ctrl-c quits
    await s.press(KEY.ctrlC);
    await s.exited;
  });
  it('the help overlay over a run: its footer names its own keys; ctrl-c still stops the run, ? closes it', async () => {
    const { s, backend, store } = await marked();
    await s.press(KEY.enter);
    await s.waitFor('y runs this plan');
    await s.press('y');
    await s.waitFor('ctrl-c stop safely');
    await s.press('?');
    await s.waitFor('Keys (esc or ? closes)');
    expect(s.lines()[23]).toBe('esc close help  q quit');
    await s.press(KEY.ctrlC);
    await s.waitFor('stopping safely');
    expect(backend.runs[0]?.cancel).toHaveBeenCalledTimes(1);
    expect(store.getState().quitRequested).toBe(false);
    await s.press('?');
    await s.waitFor((t) => !t.includes('Keys (esc or ? closes)'));
    expect(store.getState().helpOpen).toBe(false);
  });
});

describe('saved groups', () => {
  it('s names and saves the marked; o lists the groups and enter marks the members', async () => {
    const backend = new FakeBackend();
    const store = createAppStore(backend, { version: '0.1.0' });
    screen = await renderTui(store);
    const s = screen;
    await s.waitFor('wfd-sink-1');
    await s.press('s');
    await s.waitFor('nothing marked');
    await s.press(' ', ' ');
    await s.waitFor('marked 2');
    await s.press('s');
    await s.waitFor('group name: _');
    await s.press('d', 'u', 'o', KEY.enter);
    await s.waitFor('saved group duo (2 containers)');
    expect(backend.saved).toEqual([
      { name: 'duo', members: ['alpha:docker/wfd-enrich-1', 'alpha:docker/wfd-parse-1'] },
    ]);
    backend.groups.push({ name: 'sink-only', description: 'the sink', members: ['alpha:wf-sink-1'] });
    await s.press('c', 'o');
    await s.waitFor('Saved groups');
    expect(s.text()).toMatch(/> duo +2 containers +alpha:docker\/wfd-enrich-1, alpha:docker\/wfd-parse-1/);
    expect(s.text()).toMatch(/ {2}sink-only +1 containers +the sink/);
    await s.press('j', KEY.enter);
    await s.waitFor('group sink-only: marked 1 containers');
    expect(s.lines().find((l) => l.includes('wf-sink-1'))).toMatch(/^\*/);
  });
});
