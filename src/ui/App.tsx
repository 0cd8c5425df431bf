// The whole screen: header, the current view, footer. One key handler for
// everything, driven by the keymap; the terminal's size decides the layout.
import { Box, useApp as useInkApp, useInput, useWindowSize } from 'ink';
import { type ReactNode, useEffect } from 'react';
import { useApp, useAppStore } from '../store/react.ts';
import type { Screen } from '../store/store.ts';
import { ContainerTable } from './ContainerTable.tsx';
import { Footer } from './Footer.tsx';
import { Header, headerHeight } from './Header.tsx';
import { HelpView } from './HelpView.tsx';
import { HostsView } from './HostsView.tsx';
import { handleKey } from './keys.ts';
import { DestinationView, GroupsView } from './ListViews.tsx';
import { PlanScreen } from './PlanScreen.tsx';
import { RunScreen } from './RunScreen.tsx';

const FOOTER = 2;

type View = (p: { width: number; height: number }) => ReactNode;

const VIEWS: Record<Screen['kind'], View> = {
  main: ContainerTable,
  // a prompt for the group's name sits in the footer, over the table
  save: ContainerTable,
  hosts: HostsView,
  groups: GroupsView,
  destination: DestinationView,
  plan: PlanScreen,
  run: RunScreen,
};

export interface AppProps {
  /** ms between automatic refreshes of the main view; 0: none */
  refreshMs?: number;
}

export function App({ refreshMs = 5000 }: AppProps) {
  const store = useAppStore();
  const { exit } = useInkApp();
  const { columns, rows } = useWindowSize();
  const screen = useApp((s) => s.screen.kind);
  const helpOpen = useApp((s) => s.helpOpen);
  const quit = useApp((s) => s.quitRequested);
  const hosts = useApp((s) => s.hosts);
  const hostOrder = useApp((s) => s.hostOrder);
  const width = Math.max(1, columns);
  const height = Math.max(1, rows);
  // a tiny terminal: one header line and one footer line, so the table keeps some rows
  const compact = height < 12;
  const bodyHeight = Math.max(
    1,
    height - (compact ? 1 : headerHeight({ hosts, hostOrder })) - (compact ? 1 : FOOTER),
  );
  // the table's own header line is not a row
  const pageRows = bodyHeight - 1;

  useInput((input, key) => handleKey(store, input, key, pageRows));

  useEffect(() => {
    if (quit) exit();
  }, [quit, exit]);

  // the next refresh is timed from the end of the last: they never overlap
  useEffect(() => store.getState().autoRefresh(refreshMs), [store, refreshMs]);

  const Body = helpOpen ? HelpView : VIEWS[screen];
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header width={width} compact={compact} />
      <Box flexDirection="column" height={bodyHeight} overflow="hidden">
        <Body width={width} height={bodyHeight} />
      </Box>
      <Footer width={width} compact={compact} />
    </Box>
  );
}
