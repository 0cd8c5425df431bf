// The copy's create line as ferry shows it: env values elided before the
// image only, every word quoted and sanitised for a terminal.
import { describe, expect, it } from 'vitest';
import { createLine, elideEnv, withEnv } from '../../../src/runtime/create-argv.ts';

describe('the create line, shown', () => {
  it('elides every form of an env value before the image, and nothing after it', () => {
    const argv = [
      'podman',
      'create',
      '-e',
      'A=1',
      '--env',
      'B=two words',
      '--env=C=3',
      '-eD=4',
      '-e',
      'KEPT',
      '-it',
      '-p',
      '80:80',
      'img',
      'sh',
      '-c',
      'echo -e X=secret-arg',
      '-e',
      'Y=after',
    ];
    expect(elideEnv(argv)).toEqual([
      'podman',
      'create',
      '-e',
      'A=…',
      '--env',
      'B=…',
      '--env=C=…',
      '-eD=…',
      '-e',
      'KEPT',
      '-it',
      '-p',
      '80:80',
      'img',
      'sh',
      '-c',
      'echo -e X=secret-arg',
      '-e',
      'Y=after',
    ]);
    // withEnv walks the same flags: the environment inspect shows replaces them all
    expect(withEnv(argv, ['Z=9'])).toEqual([
      'podman',
      'create',
      '-e',
      'Z=9',
      '-it',
      '-p',
      '80:80',
      ...argv.slice(13),
    ]);
  });

  it('quotes each word as a shell would need it, and shows controls as \\uXXXX', () => {
    expect(
      createLine([
        'docker',
        'create',
        '--label',
        'x=\u001b]52;c;aGk=\u0007',
        '-v',
        '/a b/$(id)|x:/d',
        'img',
        'l1\nl2\t\u009b',
      ]),
    ).toBe("docker create --label 'x=\\u001b]52;c;aGk=\\u0007' -v '/a b/$(id)|x:/d' img 'l1\\nl2\\t\\u009b'");
  });
});
