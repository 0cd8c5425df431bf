// The two lists: destination hosts (with the strategy) and saved groups.
import { Text } from 'ink';
import { useApp } from '../store/react.ts';
import { currentRow, markedRows } from '../store/store.ts';
import { clip } from '../text/format.ts';
import { keyOf } from './keymap.ts';
import { useTone } from './theme.ts';
import { useViewport } from './viewport.ts';

function ListLine({
  text,
  selected,
  color,
  width,
}: {
  text: string;
  selected: boolean;
  color?: string | undefined;
  width: number;
}) {
  return (
    <Text inverse={selected} color={selected ? undefined : color} wrap="truncate">
      {clip(`${selected ? '>' : ' '} ${text}`, width)}
    </Text>
  );
}

export function DestinationView({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const screen = useApp((s) => s.screen);
  const hosts = useApp((s) => s.hosts);
  const marked = useApp((s) => s.marked);
  const containers = useApp((s) => s.containers);
  const current = useApp(currentRow);
  const candidates = screen.kind === 'destination' ? screen.candidates : [];
  // the title, the question and a blank line above the list, one line spare below
  const view = useViewport({
    total: candidates.length,
    rows: height - 4,
    cursor: screen.kind === 'destination' ? screen.cursor : 0,
  });
  if (screen.kind !== 'destination') return null;
  const rows = markedRows({ containers, marked });
  const moving = rows.length > 0 ? rows : current ? [current] : [];
  const names = moving.map((r) => r.name).join(', ');
  return (
    <>
      <Text bold color={tone('accent')} wrap="truncate">
        {clip(`Migrate ${moving.length} container${moving.length === 1 ? '' : 's'}: ${names}`, width)}
      </Text>
      <Text wrap="truncate">
        {clip(`to which host? (${keyOf('down')}/${keyOf('up')}, ${keyOf('select')})`, width - 30)}
        <Text bold>{clip(`strategy: ${screen.strategy} (${keyOf('strategy')})`, 30, 'right')}</Text>
      </Text>
      <Text> </Text>
      {view.slice(candidates).map(({ item: h, index }) => {
        const st = hosts[h];
        const note = st && st.state !== 'ok' ? `  (${st.state})` : st ? `  ${st.containers} containers` : '';
        return (
          <ListLine
            key={h}
            text={`${h}${note}`}
            selected={index === screen.cursor}
            color={st?.state === 'ok' ? undefined : tone('muted')}
            width={width}
          />
        );
      })}
    </>
  );
}

export function GroupsView({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const screen = useApp((s) => s.screen);
  const groups = screen.kind === 'groups' ? screen.groups : [];
  // the title above the list
  const view = useViewport({
    total: groups.length,
    rows: height - 1,
    cursor: screen.kind === 'groups' ? screen.cursor : 0,
  });
  if (screen.kind !== 'groups') return null;
  const title = (
    <Text bold color={tone('accent')} wrap="truncate">
      {clip(`Saved groups (${keyOf('select')} marks the members, ${keyOf('back')} back)`, width)}
    </Text>
  );
  if (screen.loading)
    return (
      <>
        {title}
        <Text color={tone('muted')}>loading…</Text>
      </>
    );
  if (screen.error)
    return (
      <>
        {title}
        <Text color={tone('error')} wrap="truncate">
          {clip(screen.error, width)}
        </Text>
      </>
    );
  if (screen.groups.length === 0)
    return (
      <>
        {title}
        <Text color={tone('muted')} wrap="truncate">
          {clip(`no saved groups yet: mark containers and press ${keyOf('save-group')}`, width)}
        </Text>
      </>
    );
  return (
    <>
      {title}
      {view.slice(groups).map(({ item: g, index }) => (
        <ListLine
          key={g.name}
          text={`${g.name}  ${g.members.length} containers${g.description ? `  ${g.description}` : `  ${g.members.join(', ')}`}`}
          selected={index === screen.cursor}
          width={width}
        />
      ))}
    </>
  );
}
