// The one viewport every list uses: the cursor never leaves the screen, and
// the window's start is state, not a ref written while rendering.
import fc from 'fast-check';
import { Text } from 'ink';
import { type Dispatch, type SetStateAction, Suspense, startTransition, use, useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppStore } from '../../../src/store/store.ts';
import { type Anchor, useViewport, windowTop } from '../../../src/ui/viewport.ts';
import { FakeBackend, okHost, row } from './fakes.ts';
import { KEY, renderNode, renderTui, type Screen } from './terminal.ts';

let screen: Screen | undefined;
afterEach(async () => {
  await screen?.unmount();
  screen = undefined;
});

describe('windowTop', () => {
  const step = fc.record({
    total: fc.integer({ min: 0, max: 60 }),
    rows: fc.integer({ min: -2, max: 25 }),
    cursor: fc.integer({ min: -5, max: 70 }),
  });

  it('keeps the cursor on screen and the window inside the list, whatever the moves and resizes', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        let top = 0;
        for (const o of steps) {
          top = windowTop(top, o);
          const rows = Math.max(1, o.rows);
          const cursor = Math.max(0, Math.min(o.cursor, o.total - 1));
          expect(top).toBeGreaterThanOrEqual(0);
          expect(top).toBeLessThanOrEqual(Math.max(0, o.total - rows));
          if (o.total > 0) {
            expect(cursor).toBeGreaterThanOrEqual(top);
            expect(cursor).toBeLessThan(top + rows);
          }
        }
      }),
    );
  });

  it('follow moves the window only when the cursor would leave it, and then as little as it can', () => {
    expect(windowTop(10, { total: 100, rows: 20, cursor: 15 })).toBe(10);
    expect(windowTop(10, { total: 100, rows: 20, cursor: 30 })).toBe(11);
    expect(windowTop(10, { total: 100, rows: 20, cursor: 9 })).toBe(9);
    // the list shrank under the window (a filter): the window ends with the list
    expect(windowTop(90, { total: 30, rows: 20, cursor: 29 })).toBe(10);
  });

  it('an anchor puts the cursor that many rows below the top, where the list allows', () => {
    const at = (cursor: number, anchor: Anchor) => windowTop(0, { total: 30, rows: 9, cursor, anchor });
    expect(at(20, 1)).toBe(19);
    expect(at(0, 1)).toBe(0);
    expect(at(30, 1)).toBe(21);
    expect(at(7, 0)).toBe(7);
  });
});

// a list whose cursor the test sets from outside; Rows may wait on data
let set: Dispatch<SetStateAction<{ cursor: number; gate: Promise<never> | null }>> = () => undefined;
function List() {
  const [s, setS] = useState<{ cursor: number; gate: Promise<never> | null }>({ cursor: 0, gate: null });
  set = setS;
  return <Rows cursor={s.cursor} gate={s.gate} />;
}
function Rows({ cursor, gate }: { cursor: number; gate: Promise<never> | null }) {
  const view = useViewport({ total: 100, rows: 10, cursor });
  // a render that waits on data: React throws it away until the data comes
  if (gate) use(gate);
  return <Text>{`top ${view.top} cursor ${view.cursor}`}</Text>;
}

describe('useViewport in React', () => {
  it('a render React throws away does not move the window (no ref written during render)', async () => {
    screen = await renderNode(
      <Suspense fallback={<Text>waiting</Text>}>
        <List />
      </Suspense>,
      { concurrent: true },
    );
    await screen.waitFor('top 0 cursor 0');
    // the cursor jumps to 50 in a render that suspends and is never committed
    startTransition(() => set({ cursor: 50, gate: new Promise<never>(() => undefined) }));
    await new Promise((r) => setTimeout(r, 50));
    await screen.waitFor('top 0 cursor 0');
    // the committed window started at 0 and row 5 is in it: it stays there
    set({ cursor: 5, gate: null });
    await screen.waitFor('cursor 5');
    expect(screen.text()).toContain('top 0 cursor 5');
  });
});

describe('lists at 80x24', () => {
  const hosts = Array.from({ length: 30 }, (_, i) => `host-${String(i + 1).padStart(2, '0')}`);

  async function destinations() {
    const inv = Object.fromEntries([
      ['alpha', okHost('alpha', [row('alpha', 'app-1')])],
      ...hosts.map((h) => [h, okHost(h, [])]),
    ]);
    const store = createAppStore(new FakeBackend(inv), { version: '0.1.0' });
    screen = await renderTui(store);
    await screen.waitFor('app-1');
    await screen.press(' ', 'm');
    await screen.waitFor('to which host?');
    return { store, s: screen };
  }

  const selected = (s: Screen) => s.lines().filter((l) => l.startsWith('> '));

  it('DestinationView: more destinations than rows, the chosen one is always on screen', async () => {
    const { store, s } = await destinations();
    expect(selected(s)).toEqual([expect.stringMatching(/^> host-01 /)]);
    for (let i = 1; i < hosts.length; i++) {
      await s.press(KEY.down);
      const sc = store.getState().screen;
      const want = sc.kind === 'destination' ? sc.candidates[sc.cursor] : undefined;
      expect(want).toBe(hosts[i]);
      await s.waitFor(() => selected(s)[0]?.startsWith(`> ${want} `) === true);
      expect(s.lines()).toHaveLength(24);
      expect(s.lines()[23]).toContain('? help');
    }
    // back up to the first: the window follows
    for (let i = 0; i < hosts.length; i++) await s.press('k');
    await s.waitFor(() => selected(s)[0]?.startsWith('> host-01 ') === true);
  });

  it('GroupsView: more groups than rows, the chosen one is always on screen', async () => {
    const backend = new FakeBackend();
    for (let i = 0; i < 40; i++) backend.groups.push({ name: `g-${i}`, members: ['alpha:wf-sink-1'] });
    const store = createAppStore(backend, { version: '0.1.0' });
    screen = await renderTui(store);
    const s = screen;
    await s.waitFor('wf-sink-1');
    await s.press('o');
    await s.waitFor('Saved groups');
    for (let i = 1; i < 40; i += 3) {
      await s.press('j', 'j', 'j');
      const want = `g-${Math.min(39, i + 2)}`;
      await s.waitFor(() => selected(s)[0]?.startsWith(`> ${want} `) === true);
    }
  });
});
