// Text a host said (names, labels, stderr, errors) on its way to a terminal.
// A compromised host can put escape sequences in it that forge output, move
// the cursor or set the clipboard (OSC 52); C1 controls act like ESC on many
// terminals, and bidi overrides reorder what is shown. Every such character
// is shown as \uXXXX instead: visible, and still valid inside JSON strings.

// C0 but tab and newline, DEL, C1, bidi marks, embeddings, overrides and isolates
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it finds
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const code = (c: string) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/** Text safe to write to a terminal: line breaks and tabs kept, every other control shown as \uXXXX. */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, code);
}

/** Every control character (line breaks and tabs too) replaced: a screen cell holds one line of plain text. */
export function withoutControls(text: string, replacement = ''): string {
  return text.replace(/[\t\n]/g, replacement).replace(UNSAFE, replacement);
}

const GUARDED = Symbol('ferry.terminal-guard');

/**
 * Makes every write to `stream` pass through forTerminal: the headless
 * commands' stdout and stderr, whatever they print (ferry's own headless
 * output has no escape sequences of its own).
 */
export function guardTerminal<T extends NodeJS.WritableStream>(stream: T): T {
  const s = stream as T & { [GUARDED]?: true };
  if (s[GUARDED]) return stream;
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  s.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(
      typeof chunk === 'string'
        ? forTerminal(chunk)
        : Buffer.isBuffer(chunk)
          ? forTerminal(chunk.toString('utf8'))
          : chunk,
      ...rest,
    )) as T['write'];
  s[GUARDED] = true;
  return stream;
}
