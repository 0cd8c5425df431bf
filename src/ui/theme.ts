// Colours by meaning; with NO_COLOR (or a terminal without colour) every
// colour is dropped and emphasis falls back to bold and inverse.
import { createContext, useContext } from 'react';

export type Tone = 'accent' | 'ok' | 'warn' | 'error' | 'muted' | 'info';

const COLORS: Record<Tone, string> = {
  accent: 'cyan',
  ok: 'green',
  warn: 'yellow',
  error: 'red',
  muted: 'gray',
  info: 'blue',
};

export interface Theme {
  colors: boolean;
}

export const ThemeContext = createContext<Theme>({ colors: true });

/** The colour for a tone, or undefined when colours are off. */
export function useTone(): (tone: Tone) => string | undefined {
  const { colors } = useContext(ThemeContext);
  return (tone) => (colors ? COLORS[tone] : undefined);
}

/** The no-color.org rule: NO_COLOR set to anything but the empty string. */
export function colorsWanted(env: NodeJS.ProcessEnv): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export function stateTone(state: string): Tone {
  if (state === 'running') return 'ok';
  if (state === 'paused' || state === 'restarting' || state === 'created') return 'warn';
  if (state === 'exited' || state === 'dead') return 'error';
  return 'muted';
}
