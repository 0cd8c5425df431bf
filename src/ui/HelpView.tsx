// The help overlay: every binding of the keymap, by context, in as many
// columns as the width allows.
import { Box, Text } from 'ink';
import { clip } from '../text/format.ts';
import { bindingLabel, CONTEXT_TITLE, helpSections, keysOf } from './keymap.ts';
import { useTone } from './theme.ts';

interface Line {
  kind: 'title' | 'entry' | 'blank';
  key?: string;
  text: string;
}

export function helpLines(): Line[] {
  const lines: Line[] = [];
  for (const s of helpSections()) {
    if (lines.length > 0) lines.push({ kind: 'blank', text: '' });
    lines.push({ kind: 'title', text: CONTEXT_TITLE[s.context] });
    for (const b of s.bindings) lines.push({ kind: 'entry', key: bindingLabel(b), text: b.description });
  }
  return lines;
}

const KEY_WIDTH = 12;

export function HelpView({ width, height }: { width: number; height: number }) {
  const tone = useTone();
  const lines = helpLines();
  const bodyHeight = Math.max(1, height - 1);
  const ncols = Math.max(1, Math.min(Math.ceil(lines.length / bodyHeight), Math.floor(width / 38) || 1));
  const perCol = Math.ceil(lines.length / ncols);
  const colWidth = Math.floor(width / ncols);
  const cols = Array.from({ length: ncols }, (_, i) => lines.slice(i * perCol, (i + 1) * perCol));
  return (
    <>
      <Text bold color={tone('accent')} wrap="truncate">
        {clip(`Keys (${keysOf('close-help', ' or ')} closes)`, width)}
      </Text>
      <Box flexDirection="row" height={bodyHeight}>
        {cols.map((col, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
          <Box key={i} flexDirection="column" width={colWidth}>
            {col.slice(0, bodyHeight).map((l, j) =>
              l.kind === 'title' ? (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
                <Text key={j} bold underline wrap="truncate">
                  {clip(l.text, colWidth - 1)}
                </Text>
              ) : (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
                <Text key={j} wrap="truncate">
                  <Text color={tone('accent')}>{clip(l.key ?? '', Math.min(KEY_WIDTH, colWidth - 1))}</Text>
                  {clip(l.text ? ` ${l.text}` : '', Math.max(0, colWidth - 1 - KEY_WIDTH))}
                </Text>
              ),
            )}
          </Box>
        ))}
      </Box>
    </>
  );
}
