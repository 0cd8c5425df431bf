// Host text on its way to a terminal: escape sequences a compromised host
// puts in a name, a label or stderr are shown, never acted on.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCliAsync } from '../../../src/cli/main.ts';
import { clip, truncate } from '../../../src/text/format.ts';
import { forTerminal, guardTerminal } from '../../../src/text/sanitize.ts';

// set the clipboard (OSC 52), clear the screen, a C1 CSI (ESC [ on 8-bit terminals), a bidi override
const HOSTILE = 'web\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[2J\x9b31m\u202etxt.exe';
// biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { s, text: () => text };
}

describe('host text reaching a terminal', () => {
  it('every control but newline and tab is shown as \\uXXXX, and JSON stays JSON with the same data', () => {
    const shown = forTerminal(`${HOSTILE}\nnext\tline`);
    expect(shown).toBe(
      'web\\u001b]52;c;Y3VybCBldmlsIHwgc2g=\\u0007\\u001b[2J\\u009b31m\\u202etxt.exe\nnext\tline',
    );
    expect(shown).not.toMatch(UNSAFE);
    const json = forTerminal(JSON.stringify({ name: HOSTILE }));
    expect(json).not.toMatch(UNSAFE);
    expect(JSON.parse(json)).toEqual({ name: HOSTILE });
  });

  it('a guarded stream cleans strings and buffers alike, once', () => {
    const { s, text } = sink();
    guardTerminal(guardTerminal(s));
    s.write(`${HOSTILE}\n`);
    s.write(Buffer.from('\x1b[31mred'));
    expect(text()).not.toMatch(UNSAFE);
    expect(text()).toContain('\\u001b[31mred');
  });

  it("headless commands' output is guarded: an error naming a hostile host", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-sanitize-'));
    const config = join(dir, 'ssh_config');
    writeFileSync(config, `Host ok\n  HostName 127.0.0.1\n`);
    const out = sink();
    const err = sink();
    const code = await runCliAsync(['ssh-config', 'resolve', HOSTILE, '-F', config], out.s, err.s);
    expect(code).toBeGreaterThanOrEqual(0);
    expect(out.text() + err.text()).toContain('web\\u001b]52');
    expect(out.text() + err.text()).not.toMatch(UNSAFE);
  });

  it('the TUI cells: C1 controls and bidi overrides are gone too', () => {
    expect(truncate(HOSTILE, 80)).not.toMatch(UNSAFE);
    expect(clip(HOSTILE, 10)).not.toMatch(UNSAFE);
    expect(clip('\u202eabc', 4)).toBe(' abc');
  });
});
