// The TUI's first frame, drawn by the entry before ink and the rest of ferry
// are loaded (~0.1-0.2 s on a small machine): the alternate screen with the
// header and footer lines the TUI will show, so the person sees ferry answer
// at once. The TUI clears it when it draws; if ferry ends before that (a bad
// flag, no hosts), the screen is restored before anything is printed.
import { Writable } from 'node:stream';
import { VERSION } from './version.ts';

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[?1049l\x1b[?25h';

interface SkeletonState {
  /** performance.now() when it was drawn */
  at: number;
  /** the TUI drew over it: it owns the screen now */
  owned: boolean;
  left: boolean;
}

const KEY = Symbol.for('ferry.skeleton');
type WithSkeleton = typeof globalThis & { [KEY]?: SkeletonState };

/**
 * argv that can only open the TUI (nothing but -F, -J, --hosts, --debug), so
 * the skeleton never shows for a command; anything else is left to main.
 */
export function opensTui(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--debug') continue;
    if (a === '-F' || a === '-J' || a === '--hosts') {
      if (argv[i + 1] === undefined) return false;
      i++;
      continue;
    }
    if (/^--hosts=./.test(a)) continue;
    return false;
  }
  return true;
}

/** The host names given with --hosts, for the skeleton's header. */
function hostsOf(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === '--hosts') out.push(...(argv[i + 1] ?? '').split(','));
    else if (a.startsWith('--hosts=')) out.push(...a.slice(8).split(','));
  });
  return out.map((h) => h.trim()).filter((h) => /^[A-Za-z0-9._@:[\]-]+$/.test(h));
}

export function drawSkeleton(argv: readonly string[], out: NodeJS.WriteStream): void {
  const width = Math.max(20, out.columns ?? 80);
  const rows = Math.max(2, out.rows ?? 24);
  const hosts = hostsOf(argv);
  const clip = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  const head = clip(
    `ferry ${VERSION}  ${hosts.length ? hosts.map((h) => `${h} …`).join('  ') : 'connecting…'}`,
  );
  const foot = clip('q quit  ? help');
  out.write(`${ENTER}${head}\x1b[${rows};1H${foot}\x1b[H`);
  (globalThis as WithSkeleton)[KEY] = { at: performance.now(), owned: false, left: false };
}

/** Called by the TUI as it draws its own first frame: ms when the skeleton was drawn, if it was. */
export function takeOverSkeleton(out: NodeJS.WriteStream): number | null {
  const s = (globalThis as WithSkeleton)[KEY];
  if (!s || s.left) return null;
  s.owned = true;
  out.write('\x1b[H\x1b[2J');
  return s.at;
}

/** Leaves the skeleton's screen unless the TUI owns it (a message must be seen). */
export function leaveSkeleton(out: NodeJS.WriteStream): void {
  const s = (globalThis as WithSkeleton)[KEY];
  if (!s || s.owned || s.left) return;
  s.left = true;
  out.write(LEAVE);
}

/** stderr that first restores the screen, while the skeleton is up and the TUI has not taken it. */
export function stderrAfterSkeleton(out: NodeJS.WriteStream, err: NodeJS.WriteStream): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      leaveSkeleton(out);
      err.write(chunk, cb);
    },
  });
}
