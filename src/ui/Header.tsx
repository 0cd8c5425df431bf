// Top lines: version, reachable hosts, counts, refresh progress; then each
// host's state, and one line per host that has a problem.
import { Text } from 'ink';
import { useApp } from '../store/react.ts';
import type { AppState } from '../store/store.ts';
import type { HostStatus } from '../store/types.ts';
import { cells, clip, truncate } from '../text/format.ts';
import { keyOf } from './keymap.ts';
import { type Tone, useTone } from './theme.ts';

const MAX_PROBLEM_LINES = 3;

export function problemHosts(s: Pick<AppState, 'hostOrder' | 'hosts'>): HostStatus[] {
  return s.hostOrder
    .map((h) => s.hosts[h])
    .filter((h): h is HostStatus => h !== undefined && h.state !== 'ok' && h.state !== 'connecting');
}

export function headerHeight(s: Pick<AppState, 'hostOrder' | 'hosts'>): number {
  return 2 + Math.min(MAX_PROBLEM_LINES, problemHosts(s).length);
}

const HOST_TONE: Record<HostStatus['state'], Tone> = {
  connecting: 'muted',
  ok: 'ok',
  stale: 'warn',
  unreachable: 'error',
  refused: 'error',
};

/** A host in the header: its state as a sign (readable without colour) and its container count. */
export function hostBadge(h: HostStatus): string {
  switch (h.state) {
    case 'connecting':
      return `${h.host} …`;
    case 'ok':
      return `${h.host} ✓${h.containers}`;
    case 'stale':
      return `${h.host} ~${h.containers} stale`;
    default:
      return `${h.host} ✗ ${h.state}`;
  }
}

export function Header({ width, compact = false }: { width: number; compact?: boolean }) {
  const tone = useTone();
  const version = useApp((s) => s.version);
  const hosts = useApp((s) => s.hosts);
  const hostOrder = useApp((s) => s.hostOrder);
  const refreshing = useApp((s) => s.refreshing);
  const count = useApp((s) => s.containers.length);
  const marked = useApp((s) => s.marked.size);
  const list = hostOrder.map((h) => hosts[h]).filter((h): h is HostStatus => h !== undefined);
  const reachable = list.filter((h) => h.state === 'ok').length;
  const firstTime = refreshing.filter((h) => hosts[h]?.state === 'connecting');
  const progress =
    firstTime.length > 0
      ? `connecting ${firstTime.join(', ')}…`
      : refreshing.length > 0
        ? `refreshing ${refreshing.join(', ')}…`
        : '';
  const left = `ferry ${version}  hosts ${reachable}/${list.length}  containers ${count}  marked ${marked}`;
  const problems = problemHosts({ hostOrder, hosts });
  const shown = problems.length > MAX_PROBLEM_LINES ? problems.slice(0, MAX_PROBLEM_LINES - 1) : problems;
  // host badges: as many as fit, each in its state's colour
  let used = 0;
  const badges: HostStatus[] = [];
  for (const h of list) {
    const w = cells(hostBadge(h)) + 2;
    if (used + w > width) break;
    badges.push(h);
    used += w;
  }
  const top = (
    <Text wrap="truncate">
      <Text bold color={tone('accent')}>
        {truncate(left, width)}
      </Text>
      <Text color={tone('muted')}>{truncate(progress ? `  ${progress}` : '', width - cells(left))}</Text>
    </Text>
  );
  if (compact) return top;
  return (
    <>
      {top}
      <Text wrap="truncate">
        {badges.map((h, i) => (
          <Text key={h.host} color={tone(HOST_TONE[h.state])}>
            {i > 0 ? '  ' : ''}
            {hostBadge(h)}
          </Text>
        ))}
        {badges.length < list.length ? '  …' : ''}
      </Text>
      {shown.map((h) => (
        <Text key={h.host} color={tone(HOST_TONE[h.state])} wrap="truncate">
          {clip(`! ${h.host} ${h.state}: ${h.reason ?? ''}`, width)}
        </Text>
      ))}
      {problems.length > shown.length ? (
        <Text color={tone('error')} wrap="truncate">
          {clip(
            `! ${problems.length - shown.length} more hosts with problems: ${keyOf('hosts')} lists them`,
            width,
          )}
        </Text>
      ) : null}
    </>
  );
}
