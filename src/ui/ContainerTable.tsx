// The container table. Virtualized: only the rows that fit are rendered, so
// hundreds of containers cost no more than a screenful.
import { Text } from 'ink';
import { useApp } from '../store/react.ts';
import { visibleRows } from '../store/store.ts';
import { clip } from '../text/format.ts';
import { formatRow, rowCells } from '../text/table.ts';
import { cellText, containerColumns } from './columns.ts';
import { keyOf } from './keymap.ts';
import { stateTone, useTone } from './theme.ts';
import { useViewport } from './viewport.ts';

export function ContainerTable({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const containers = useApp((s) => s.containers);
  const filter = useApp((s) => s.filter);
  const cursor = useApp((s) => s.cursor);
  const marked = useApp((s) => s.marked);
  const refreshes = useApp((s) => s.refreshes);
  const rows = visibleRows({ containers, filter });
  const columns = containerColumns(width);
  const bodyHeight = Math.max(1, height - 1);
  const view = useViewport({ total: rows.length, rows: bodyHeight, cursor });
  const window = view.slice(rows);
  const stateAt = columns.findIndex((c) => c.id === 'state');
  const stateGap = columns[stateAt]?.gap ?? 0;
  const title = formatRow(columns, (c) => c.title);
  const position = view.scrolls ? ` ${cursor + 1}/${rows.length}` : '';
  return (
    <>
      <Text bold wrap="truncate">
        {clip(title, width - position.length)}
        <Text color={tone('muted')}>{position}</Text>
      </Text>
      {window.length === 0 ? (
        <Text color={tone('muted')} wrap="truncate">
          {clip(
            filter
              ? `no container matches "${filter}" (${keyOf('back')} clears the filter)`
              : refreshes === 0
                ? 'waiting for the hosts…'
                : 'no containers on the reachable hosts',
            width,
          )}
        </Text>
      ) : null}
      {window.map(({ item: r, index }) => {
        const selected = index === cursor;
        const isMarked = marked.has(r.key);
        // the state cell in its colour, the rest in the row's
        const parts = rowCells(columns, (c) => cellText(r, c.id, isMarked));
        if (stateAt < 0 || selected) {
          return (
            <Text key={r.key} inverse={selected} bold={isMarked} wrap="truncate">
              {parts.join('')}
            </Text>
          );
        }
        return (
          <Text
            key={r.key}
            bold={isMarked}
            color={isMarked ? tone('accent') : r.stale ? tone('muted') : undefined}
            wrap="truncate"
          >
            {parts.slice(0, stateAt).join('')}
            {/* the spaces before the cell stay in the row's colour */}
            {' '.repeat(stateGap)}
            <Text color={tone(stateTone(r.state))}>{parts[stateAt]?.slice(stateGap)}</Text>
            {parts.slice(stateAt + 1).join('')}
          </Text>
        );
      })}
    </>
  );
}
