// The window every list shows of itself: which items fit in its rows and
// where the window starts, so that the item that matters stays on screen.
// One hook for the container table, the destination and group lists, the
// plan's items and the run's containers. The window's start is React state,
// never a ref written while rendering: a render React throws away leaves it
// as it was.
import { useState } from 'react';

/**
 * How the window follows `cursor`:
 * - 'follow': it moves as little as possible to keep the cursor in view (a list with a cursor);
 * - a number n: the cursor sits n rows below the window's top wherever the list allows (a list
 *   scrolled by its top row, or a run following the container in flight).
 */
export type Anchor = 'follow' | number;

export interface ViewportOptions {
  /** items in the list */
  total: number;
  /** rows the list has on screen (at least one is shown) */
  rows: number;
  /** the item that must be in view (clamped to the list) */
  cursor: number;
  anchor?: Anchor;
}

export interface Viewport {
  /** index of the first item shown */
  top: number;
  /** index after the last item shown */
  end: number;
  rows: number;
  total: number;
  /** the cursor, within the list */
  cursor: number;
  /** more items than rows */
  scrolls: boolean;
  /** the items shown, with their index in the whole list */
  slice<T>(items: readonly T[]): { item: T; index: number }[];
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(n, hi));

/** The first item to show: the cursor in view, the window inside the list. */
export function windowTop(prevTop: number, o: ViewportOptions): number {
  const rows = Math.max(1, o.rows);
  const last = Math.max(0, o.total - rows);
  const cursor = clamp(o.cursor, 0, Math.max(0, o.total - 1));
  const anchor = o.anchor ?? 'follow';
  if (anchor !== 'follow') return clamp(o.cursor - anchor, 0, last);
  let top = prevTop;
  if (cursor < top) top = cursor;
  if (cursor >= top + rows) top = cursor - rows + 1;
  return clamp(top, 0, last);
}

/** The window at `top`. */
export function viewportAt(top: number, o: ViewportOptions): Viewport {
  const rows = Math.max(1, o.rows);
  const end = Math.min(o.total, top + rows);
  return {
    top,
    end,
    rows,
    total: o.total,
    cursor: clamp(o.cursor, 0, Math.max(0, o.total - 1)),
    scrolls: o.total > rows,
    slice: (items) => items.slice(top, end).map((item, i) => ({ item, index: top + i })),
  };
}

/** The list's window for this render; it keeps its place between renders in state. */
export function useViewport(o: ViewportOptions): Viewport {
  const [top, setTop] = useState(0);
  const next = windowTop(top, o);
  // React's "adjust state while rendering": this render is redone at once with the new start,
  // and a render that is thrown away leaves the kept start untouched
  if (next !== top && (o.anchor ?? 'follow') === 'follow') setTop(next);
  return viewportAt(next, o);
}
