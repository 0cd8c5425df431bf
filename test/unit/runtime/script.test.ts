import { existsSync } from 'node:fs';
import { execa } from 'execa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildScript, META_SECTION, parseScriptOutput, type Section } from '../../../src/runtime/script.ts';

// the real script, run by the local sh: no lab needed
async function run(
  sections: Section[],
  opts: { stdin?: string; timeoutSec?: number; sudo?: 'auto' | 'always' | 'never' } = {},
) {
  const { script, nonce } = buildScript(sections, {
    sudo: opts.sudo ?? 'never',
    timeoutSec: opts.timeoutSec ?? 10,
  });
  const t0 = performance.now();
  const r = await execa('sh', ['-c', script], {
    reject: false,
    input: opts.stdin ?? '',
    stripFinalNewline: false,
  });
  return {
    ms: performance.now() - t0,
    out: parseScriptOutput(String(r.stdout), nonce, sections),
    raw: String(r.stdout),
  };
}

const sec = (name: string, script: string, extra: Partial<Section> = {}): Section => ({
  name,
  script,
  display: name,
  ...extra,
});

describe('probe script (run by the local sh)', () => {
  it('reports each section stdout, stderr and exit status exactly', async () => {
    const { out } = await run([
      sec('a', `printf 'one\\ntwo'`),
      sec('b', `echo oops >&2; exit 3`),
      sec('c', `printf '\\n\\n'`),
      sec('d', 'true'),
    ]);
    expect(out.sections.get('a')).toMatchObject({ stdout: 'one\ntwo', stderr: '', code: 0, timedOut: false });
    expect(out.sections.get('b')).toMatchObject({ stdout: '', stderr: 'oops\n', code: 3 });
    expect(out.sections.get('c')?.stdout).toBe('\n\n');
    expect(out.sections.get('d')).toMatchObject({ stdout: '', code: 0 });
    expect(out.sections.get('d')?.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(out.meta?.hasTimeout).toBe(true);
  });

  it('cannot be fooled by output that imitates its markers', async () => {
    const fake = '\\n@@deadbeef:end:a:0@@\\n@@x:begin:b@@\\n';
    const { out } = await run([sec('a', `printf '${fake}'; echo '@@ferry@@'`), sec('b', 'echo real')]);
    expect(out.sections.get('a')?.stdout).toBe('\n@@deadbeef:end:a:0@@\n@@x:begin:b@@\n@@ferry@@\n');
    expect(out.sections.get('b')?.stdout).toBe('real\n');
  });

  it('runs sections in parallel and chains in order', async () => {
    const { ms, out } = await run([
      sec('s1', 'sleep 1; echo 1'),
      sec('s2', 'sleep 1; echo 2'),
      sec('s3', 'sleep 1; echo 3'),
      sec('w', 'echo hello >"$T/shared"', { chain: 'c' }),
      sec('r', 'cat "$T/shared"', { chain: 'c' }),
    ]);
    expect(ms).toBeLessThan(2500);
    expect([1, 2, 3].map((i) => out.sections.get(`s${i}`)?.stdout)).toEqual(['1\n', '2\n', '3\n']);
    expect(out.sections.get('r')?.stdout).toBe('hello\n');
  });

  it('kills a hanging section at its limit and still reports the others', async () => {
    const { ms, out } = await run([
      sec('hang', 'echo started; sleep 30', { timeoutSec: 1 }),
      sec('ok', 'echo fine'),
    ]);
    expect(ms).toBeLessThan(6000);
    expect(out.sections.get('hang')).toMatchObject({ timedOut: true, code: 124, stdout: 'started\n' });
    expect(out.sections.get('ok')?.stdout).toBe('fine\n');
  });

  it('feeds stdin to the one section that asks for it, and /dev/null to the others', async () => {
    const { out } = await run([sec('in', 'wc -c', { stdin: true }), sec('other', 'cat')], {
      stdin: 'x'.repeat(1000),
    });
    expect(out.sections.get('in')?.stdout.trim()).toBe('1000');
    expect(out.sections.get('other')?.stdout).toBe('');
  });

  it('removes its scratch directory and runs as root without sudo in auto mode', async () => {
    const { out } = await run([sec('t', 'echo "$T"; echo "sudo=[$SUDO]"')], { sudo: 'auto' });
    const [dir, sudo] = (out.sections.get('t')?.stdout ?? '').trim().split('\n');
    expect(dir).toMatch(/ferry\./);
    expect(existsSync(dir ?? '/')).toBe(false);
    if (process.getuid?.() === 0) {
      expect(sudo).toBe('sudo=[]');
      expect(out.meta).toMatchObject({ uid: 0, sudoNeeded: false, sudoUsed: false });
    }
  });

  it.skipIf(!existsSync('/usr/bin/sudo') || process.getuid?.() !== 0)(
    'mode always goes through sudo -n even as root; never does not',
    async () => {
      const always = await run([sec('t', 'echo "[$SUDO]"; $SUDO id -u')], { sudo: 'always' });
      expect(always.out.sections.get('t')?.stdout).toBe('[sudo -n]\n0\n');
      expect(always.out.meta).toMatchObject({
        sudoMode: 'always',
        sudoNeeded: true,
        sudoUsed: true,
        sudoCode: 0,
      });
      const never = await run([sec('t', 'echo "[$SUDO]"')], { sudo: 'never' });
      expect(never.out.sections.get('t')?.stdout).toBe('[]\n');
      expect(never.out.meta).toMatchObject({
        sudoMode: 'never',
        sudoNeeded: false,
        sudoUsed: false,
        sudoCode: null,
      });
    },
  );

  it('rejects bad section names, duplicates and two stdin readers', () => {
    expect(() => buildScript([sec('a b', 'true')], { sudo: 'auto', timeoutSec: 1 })).toThrow(
      /bad section name/,
    );
    expect(() => buildScript([sec('a', 'true'), sec('a', 'true')], { sudo: 'auto', timeoutSec: 1 })).toThrow(
      /duplicate/,
    );
    expect(() => buildScript([sec(META_SECTION, 'true')], { sudo: 'auto', timeoutSec: 1 })).toThrow(
      /duplicate/,
    );
    expect(() =>
      buildScript([sec('a', 'cat', { stdin: true }), sec('b', 'cat', { stdin: true })], {
        sudo: 'auto',
        timeoutSec: 1,
      }),
    ).toThrow(/stdin/);
  });
});

// what the script's ferry_emit prints, for property tests without a shell
function emit(nonce: string, name: string, out: string, err: string, rc: string): string {
  return `\n@@${nonce}:begin:${name}@@\n${out}\n@@${nonce}:stderr:${name}@@\n${err}\n@@${nonce}:end:${name}:${rc}@@\n`;
}

describe('parseScriptOutput (properties)', () => {
  const nonce = 'abc123def456';
  const body = fc.string({
    unit: fc.constantFrom('a', '\n', '@', ':', ' ', 'é', '{', '}', '"', 'abc123def456'),
  });
  const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/);

  it('gives back exactly what each section printed', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name, out: body, err: body, rc: fc.nat(255) }), {
          selector: (s) => s.name,
          maxLength: 6,
        }),
        body,
        (secs, noise) => {
          const text =
            noise.replaceAll('abc123def456', 'x') +
            secs.map((s) => emit(nonce, s.name, s.out, s.err, String(s.rc))).join('');
          const parsed = parseScriptOutput(text, nonce).sections;
          for (const s of secs) {
            const r = parsed.get(s.name);
            // a body that itself contains the nonce's exact marker could end a section early: the real script's nonce is random
            if (s.out.includes(`@@${nonce}`) || s.err.includes(`@@${nonce}`)) continue;
            expect(r).toMatchObject({ stdout: s.out, stderr: s.err, code: s.rc });
          }
        },
      ),
    );
  });

  it('never throws on arbitrary or truncated output', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(400), (junk, cut) => {
        const good = emit(nonce, 'a', 'x', 'y', '0') + emit(nonce, 'b', 'z', '', '1');
        parseScriptOutput(junk, nonce);
        const truncated = parseScriptOutput((junk + good).slice(0, cut + junk.length), nonce);
        for (const r of truncated.sections.values()) expect(['a', 'b']).toContain(r.name);
      }),
    );
  });
});
