import { describe, expect, it } from 'vitest';
import { opensTui } from '../../../src/cli/skeleton.ts';

describe('the entry draws the TUI skeleton only for argv that can only open the TUI', () => {
  it('bare ferry, -F, -J, --hosts and --debug open the TUI', () => {
    expect(opensTui([])).toBe(true);
    expect(opensTui(['-F', 'cfg', '--hosts', 'a,b', '-J', 'j', '--debug'])).toBe(true);
    expect(opensTui(['--hosts=a'])).toBe(true);
  });

  it('a command, --plan, a flag without its value or any other flag does not', () => {
    expect(opensTui(['ps'])).toBe(false);
    expect(opensTui(['--plan', '--containers', 'a:b', '--to', 'c'])).toBe(false);
    expect(opensTui(['-F'])).toBe(false);
    expect(opensTui(['--hosts', 'a', 'hosts'])).toBe(false);
    expect(opensTui(['--json'])).toBe(false);
  });
});
