// Renders the TUI into a headless xterm of a given size, as a terminal would
// show it, and types keys into it: tests read the screen a person would see.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import xterm from '@xterm/headless';
// ink's own colour library: its level follows the test runner's stdout, so it is set here
import chalk from 'chalk';
import { render } from 'ink';
import { createElement, type ReactElement } from 'react';
import { StoreProvider } from '../../../src/store/react.ts';
import type { AppStore } from '../../../src/store/store.ts';
import { App } from '../../../src/ui/App.tsx';
import { ThemeContext } from '../../../src/ui/theme.ts';
import { type ScreenCheck, screenOf } from '../../support/pty.ts';

class FakeStdout extends EventEmitter {
  isTTY = true;
  columns: number;
  rows: number;
  private readonly term: xterm.Terminal;
  constructor(term: xterm.Terminal) {
    super();
    this.term = term;
    this.columns = term.cols;
    this.rows = term.rows;
  }
  write(data: string | Uint8Array, cb?: () => void): boolean {
    this.term.write(data, cb);
    return true;
  }
}

export interface Screen {
  /** the visible lines, right-trimmed */
  lines(): string[];
  text(): string;
  /** types raw input (keys as a terminal sends them) */
  press(...keys: string[]): Promise<void>;
  /** waits until the screen shows the text (or the predicate holds) */
  waitFor(what: ScreenCheck, timeoutMs?: number): Promise<void>;
  resize(columns: number, rows: number): Promise<void>;
  /** the foreground colour of the first cell of `text` on screen; -1: default colour, or not on screen */
  cellColor(text: string): number;
  /** how many cells on screen are in a colour other than the default */
  coloredCells(): number;
  unmount(): Promise<void>;
  exited: Promise<unknown>;
}

export const KEY = {
  up: '\x1b[A',
  down: '\x1b[B',
  enter: '\r',
  esc: '\x1b',
  tab: '\t',
  backspace: '\x7f',
  ctrlC: '\x03',
  ctrlD: '\x04',
  ctrlU: '\x15',
  ctrlR: '\x12',
};

export async function renderTui(
  store: AppStore,
  opts: { columns?: number; rows?: number; colors?: boolean; refreshMs?: number } = {},
): Promise<Screen> {
  return renderNode(
    createElement(StoreProvider, { store }, createElement(App, { refreshMs: opts.refreshMs ?? 0 })),
    opts,
  );
}

/** Any element in the headless terminal; `concurrent`: React's concurrent renderer (transitions, Suspense). */
export async function renderNode(
  node: ReactElement,
  opts: { columns?: number; rows?: number; colors?: boolean; concurrent?: boolean } = {},
): Promise<Screen> {
  chalk.level = opts.colors ? 1 : 0;
  const term = new xterm.Terminal({
    cols: opts.columns ?? 80,
    rows: opts.rows ?? 24,
    allowProposedApi: true,
    // a tty's line discipline turns \n into \r\n (onlcr); Ink relies on it
    convertEol: true,
  });
  const stdout = new FakeStdout(term);
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode() {
      return stdin;
    },
  });
  const instance = render(
    createElement(ThemeContext.Provider, { value: { colors: opts.colors ?? false } }, node),
    {
      // the fakes stand in for a terminal's streams
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      stderr: new PassThrough() as unknown as NodeJS.WriteStream,
      interactive: true,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 1000,
      concurrent: opts.concurrent ?? false,
    },
  );
  const { flush, lines, text, waitFor } = screenOf(term);
  const screen: Screen = {
    lines,
    text,
    async press(...keys) {
      for (const k of keys) {
        stdin.write(k);
        // one key at a time, as a person types: Ink reads each as its own event; a lone
        // esc waits out Ink's 20 ms escape-sequence window, else esc q reads as alt-q
        await new Promise((r) => setTimeout(r, k === KEY.esc ? 40 : 5));
      }
      await flush();
    },
    waitFor: (what, timeoutMs = 2000) => waitFor(what, timeoutMs),
    async resize(columns, rows) {
      term.resize(columns, rows);
      stdout.columns = columns;
      stdout.rows = rows;
      stdout.emit('resize');
      await new Promise((r) => setTimeout(r, 20));
      await flush();
    },
    cellColor(text) {
      const b = term.buffer.active;
      const all = lines();
      const y = all.findIndex((l) => l.includes(text));
      if (y < 0) return -1;
      const cell = b.getLine(b.viewportY + y)?.getCell((all[y] ?? '').indexOf(text));
      return !cell || cell.isFgDefault() ? -1 : cell.getFgColor();
    },
    coloredCells() {
      const b = term.buffer.active;
      let n = 0;
      for (let y = 0; y < term.rows; y++)
        for (let x = 0; x < term.cols; x++) {
          const cell = b.getLine(b.viewportY + y)?.getCell(x);
          if (cell && !cell.isFgDefault()) n++;
        }
      return n;
    },
    async unmount() {
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
      term.dispose();
    },
    exited: instance.waitUntilExit(),
  };
  return screen;
}
