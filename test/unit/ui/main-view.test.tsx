// The main view at 80x24, as a terminal shows it.
import { afterEach, describe, expect, it } from 'vitest';
import { createAppStore } from '../../../src/store/store.ts';
import { cells } from '../../../src/text/format.ts';
import { bindingLabel, KEYMAP } from '../../../src/ui/keymap.ts';
import { badHost, FakeBackend, labInventory, okHost, row } from './fakes.ts';
import { KEY, renderTui, type Screen } from './terminal.ts';

let screen: Screen | undefined;
afterEach(async () => {
  await screen?.unmount();
  screen = undefined;
});

async function open(
  backend = new FakeBackend(),
  size: { columns?: number; rows?: number; colors?: boolean } = {},
) {
  const store = createAppStore(backend, { version: '0.1.0' });
  screen = await renderTui(store, size);
  await screen.waitFor('wf-producer-1');
  return { store, backend, screen };
}

const tableRows = (s: Screen) => s.lines().filter((l) => /^[ *] (alpha|beta|gamma)\b/.test(l));

describe('main view at 80x24', () => {
  it('header, every container on its line, rows cut to 80 columns with …', async () => {
    const inv = labInventory();
    inv.beta = okHost('beta', [
      row('beta', 'a-container-with-a-very-long-name-that-cannot-fit-in-the-name-column', {
        image: 'registry.example.com/team/some-really-long-image-name:2026.01.01-build-12345',
        group: 'a-long-compose-project-name',
      }),
    ]);
    const { screen: s } = await open(new FakeBackend(inv));
    await s.waitFor('containers 11');
    const lines = s.lines();
    expect(lines).toHaveLength(24);
    expect(lines[0]).toContain('ferry 0.1.0');
    expect(lines[0]).toContain('hosts 3/3');
    expect(lines[0]).toContain('marked 0');
    expect(lines[1]).toContain('alpha ✓9');
    expect(lines[2]).toMatch(/HOST\s+RT\s+NAME\s+IMAGE\s+STATE\s+MEM\s+GROUP/);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    const long = lines.find((l) => l.includes('a-container-with'));
    expect(long).toBeDefined();
    // NAME, IMAGE and GROUP each cut with …; the row fills the 80 columns exactly
    expect(long).toMatch(
      /^ {2}beta +podman a-container-with-a-very… registry\.example\.… running +64M a-lon…$/,
    );
    expect([...(long ?? '')].length).toBe(80);
    expect(tableRows(s)).toHaveLength(11);
    // the key hints stay on the last line
    expect(lines[23]).toContain('? help');
  });

  it('wide characters (CJK, emoji) keep the columns aligned and the row at 80 cells', async () => {
    const inv = labInventory();
    inv.beta = okHost('beta', [
      row('beta', '数据库-主节点', { group: '订单' }),
      row('beta', 'web-👍-front', { image: 'localhost/前端:1' }),
    ]);
    const { screen: s } = await open(new FakeBackend(inv));
    await s.waitFor('containers 12');
    const lines = s.lines();
    const header = lines[2] ?? '';
    const stateAt = cells(header.slice(0, header.indexOf('STATE')));
    for (const name of ['数据库', 'web-👍']) {
      const l = lines.find((x) => x.includes(name)) ?? '';
      expect(cells(l.slice(0, l.indexOf('running'))), name).toBe(stateAt);
      expect(cells(l), name).toBeLessThanOrEqual(80);
    }
  });

  it('shows progress while connecting, then the hosts that answered', async () => {
    const backend = new FakeBackend();
    backend.holdHosts.add('gamma');
    const store = createAppStore(backend, { version: '0.1.0' });
    screen = await renderTui(store);
    await screen.waitFor('connecting gamma…');
    expect(screen.text()).toContain('wf-producer-1');
    expect(screen.lines()[1]).toContain('gamma …');
    backend.release('gamma');
    await screen.waitFor('t5-gamma');
    expect(screen.lines()[0]).not.toContain('connecting');
  });

  it('an unreachable or refused host shows one line with its reason; the rest still works', async () => {
    const inv = labInventory();
    inv.gamma = badHost(
      'gamma',
      'refused',
      'gamma: REMOTE HOST IDENTIFICATION HAS CHANGED for gamma (port 22): the server offered ssh-ed25519 SHA256:abc',
    );
    inv.beta = badHost('beta', 'unreachable', 'beta: connect ECONNREFUSED 10.99.0.12:22');
    const { screen: s } = await open(new FakeBackend(inv));
    await s.waitFor('hosts 1/3');
    const lines = s.lines();
    expect(
      lines.find((l) => l.startsWith('! gamma refused: gamma: REMOTE HOST IDENTIFICATION HAS CHANGED')),
    ).toMatch(/…$/);
    expect(lines).toContain('! beta unreachable: beta: connect ECONNREFUSED 10.99.0.12:22');
    expect(lines[1]).toContain('gamma ✗ refused');
    expect(tableRows(s)).toHaveLength(9);
    // h shows the whole reason, wrapped
    await s.press('h');
    await s.waitFor('Hosts (esc back)');
    expect(s.text()).toContain('SHA256:abc');
  });

  it('virtualized: 500 containers render one screenful; G, ctrl-u, g move the window', async () => {
    const many = Array.from({ length: 500 }, (_, i) => row('alpha', `c-${String(i).padStart(3, '0')}`));
    const backend = new FakeBackend({ alpha: okHost('alpha', many) });
    const store = createAppStore(backend, { version: '0.1.0' });
    screen = await renderTui(store);
    await screen.waitFor('c-000');
    // 24 lines: header 2, table title 1, footer 2
    expect(tableRows(screen)).toHaveLength(19);
    expect(screen.lines()[2]).toContain('1/500');
    await screen.press('G');
    await screen.waitFor('500/500');
    expect(tableRows(screen).at(-1)).toContain('c-499');
    expect(screen.text()).not.toContain('c-000');
    await screen.press(KEY.ctrlU);
    await screen.waitFor('491/500');
    await screen.press('g');
    await screen.waitFor('1/500');
    await screen.press(KEY.ctrlD, 'j', KEY.down, 'k');
    await screen.waitFor('11/500');
  });

  it('/ filters by any column as you type; esc clears it', async () => {
    const { screen: s } = await open();
    await s.press('/', 'w', 'f', 'd');
    await s.waitFor('/wfd_');
    await s.waitFor((t) => !t.includes('wf-producer-1'));
    expect(tableRows(s).map((l) => l.split(/\s+/)[3])).toEqual([
      'wfd-enrich-1',
      'wfd-parse-1',
      'wfd-producer-1',
      'wfd-sink-1',
    ]);
    await s.press(KEY.backspace, KEY.backspace, KEY.backspace, 'e', 'x', 'i', 't');
    await s.waitFor((t) => tableRows(s).length === 1 && t.includes('lonely'));
    await s.press(KEY.enter);
    await s.waitFor('filter: exit');
    await s.press(KEY.esc);
    await s.waitFor((t) => tableRows(s).length === 10 && !t.includes('filter:'));
    // no match says so
    await s.press('/', 'z', 'z', 'z');
    await s.waitFor('no container matches "zzz"');
  });

  it('keys typed right after / go to the filter even before its prompt is drawn (one burst)', async () => {
    const { store, screen: s } = await open();
    // a person over a slow link: `/` and the text reach ferry as one chunk
    await s.press('/wfd-pro');
    expect(store.getState().filterEditing).toBe(true);
    expect(store.getState().filter).toBe('wfd-pro');
    expect(store.getState().screen.kind).toBe('main');
    await s.waitFor('/wfd-pro_');
    expect(tableRows(s).map((l) => l.split(/\s+/)[3])).toEqual(['wfd-producer-1']);
    // typed ahead after enter: the keys are commands again (j moves, nothing opens)
    await s.press('\rj');
    expect(store.getState().filterEditing).toBe(false);
    expect(store.getState().screen.kind).toBe('main');
    // `o` in a burst outside the filter still opens the saved groups: keys keep their meaning
    await s.press(KEY.esc);
    await s.press('/mo');
    expect(store.getState().filter).toBe('mo');
    expect(store.getState().screen.kind).toBe('main');
  });

  it('space marks and unmarks; a marks the compose group; c clears', async () => {
    const { screen: s } = await open();
    await s.press(' ');
    await s.waitFor('marked 1');
    expect(tableRows(s)[0]).toMatch(/^\* alpha\s+docker wfd-enrich-1/);
    await s.press('k', ' ');
    await s.waitFor('marked 0');
    expect(tableRows(s)[0]).toMatch(/^ {2}alpha/);
    await s.press('j', 'j', 'j', 'j', 'j', 'j', 'a');
    await s.waitFor('marked 4');
    expect(tableRows(s).filter((l) => l.startsWith('*'))).toHaveLength(4);
    expect(s.text()).toContain('marked 4 containers of wf on alpha');
    await s.press('c');
    await s.waitFor('marked 0');
  });

  it('? lists every entry of the keymap; esc closes it', async () => {
    const { screen: s } = await open();
    await s.press('?');
    await s.waitFor('Keys (esc or ? closes)');
    const text = s.text();
    for (const b of KEYMAP) {
      expect(text, b.command).toContain(b.description);
      expect(text, b.command).toContain(bindingLabel(b));
    }
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(80);
    await s.press(KEY.esc);
    await s.waitFor('wf-producer-1');
  });

  it('adapts to a resize: narrower drops columns, wider shows them all', async () => {
    const { screen: s } = await open();
    await s.resize(50, 16);
    await s.waitFor((t) => !t.includes('IMAGE'));
    for (const l of s.lines()) expect([...l].length).toBeLessThanOrEqual(50);
    expect(s.text()).toContain('wf-producer-1');
    expect(tableRows(s)).toHaveLength(10);
    await s.resize(140, 30);
    await s.waitFor('ferry-workload:latest');
    expect(s.lines()[2]).toMatch(/HOST\s+RT\s+NAME\s+IMAGE\s+STATE\s+MEM\s+GROUP/);
    expect(tableRows(s)).toHaveLength(10);
  });

  it('a tiny terminal keeps one header line, some rows and the keys to get help', async () => {
    const { screen: s } = await open();
    await s.resize(30, 6);
    await s.waitFor((t) => t.split('\n')[0]?.startsWith('ferry 0.1.0') === true);
    const lines = s.lines();
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/HOST +NAME/);
    expect(tableRows(s)).toHaveLength(3);
    expect(lines[5]).toContain('? help');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(30);
  });

  it('q quits', async () => {
    const { screen: s, store } = await open();
    await s.press('q');
    await s.exited;
    expect(store.getState().quitRequested).toBe(true);
  });
});

describe('colours', () => {
  const fg = (s: Screen, text: string) => s.cellColor(text);

  it('state in colour; NO_COLOR (colors off) leaves every cell in the default colour', async () => {
    const { screen: s } = await open(new FakeBackend(), { colors: true });
    expect(fg(s, 'exited')).not.toBe(-1);
    await s.unmount();
    const { screen: plain } = await open(new FakeBackend(), { colors: false });
    expect(plain.coloredCells()).toBe(0);
  });
});
