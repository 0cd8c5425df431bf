// Issue 13, a hostile source host, on the lab through the built CLI: what a
// source says is data. A bind mount whose path is built to break out of a
// command line is asked about and mounted as the path it is; a privileged
// container is refused by the plan unless allowed by name. The migration
// logs in as ferryop (ssh alias beta-op), through sudo -n, as the probes do.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SKIP_LAB, SSH_CONFIG, ssh, sshOk, waitStatus } from '../support/lab.ts';

const FERRY = new URL('../../dist/ferry.mjs', import.meta.url).pathname;
const IMG = 'localhost/ferry-workload:latest';
const BIND = 'hostile-bind';
const PRIV = 'hostile-priv';
const PWNED = '/tmp/ferry-hostile-pwned';
// one directory whose name is a find expression, a command substitution and a pipe
const DIR = `/tmp/ferry-hostile/-exec touch ${PWNED} ;$(touch ${PWNED})|x`;
const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

// no standing allow list here (vitest.config.ts sets one for the lab's other tests)
const ferry = (args: string[]) =>
  execa(process.execPath, [FERRY, '-F', SSH_CONFIG, ...args], {
    reject: false,
    env: { XDG_CONFIG_HOME: '/nonexistent', FERRY_ALLOW: '' },
  });

async function cleanup() {
  for (const h of ['alpha', 'beta'])
    await ssh(
      h,
      // one rm per container: a missing one must not keep the other (hostile-priv once stayed behind)
      `for c in ${BIND} ${PRIV}; do podman rm -f -t 0 $c >/dev/null 2>&1; done; rm -rf /tmp/ferry-hostile ${PWNED}; true`,
    );
}

describe.skipIf(SKIP_LAB)('a hostile source host, on the lab', () => {
  beforeAll(async () => {
    await cleanup();
    for (const h of ['alpha', 'beta']) await sshOk(h, `mkdir -p ${q(DIR)} && echo data >${q(`${DIR}/file`)}`);
    await sshOk(
      'alpha',
      // a label that sets the terminal's clipboard (OSC 52) when printed raw
      `podman run -d --name ${BIND} --network host -v ${q(`${DIR}:/data`)} --label "evil=$(printf '\\033]52;c;aGk=\\007')" -e IN_PORT=7541 -e RATE=20 -e SECRET_TOKEN=s3cr3t-value ${IMG} sink`,
    );
    await sshOk(
      'alpha',
      `podman run -d --name ${PRIV} --privileged --network none -e IN_PORT=7542 ${IMG} sink`,
    );
    await waitStatus('alpha', 'podman', BIND, (s) => s.ticks >= 5);
  });
  afterAll(cleanup);

  it('a privileged container is refused by the plan (exit 2, nothing touched) and allowed by name', async () => {
    const args = ['--containers', `alpha:${PRIV}`, '--to', 'beta'];
    const refused = await ferry(['--plan', ...args, '--json']);
    expect(refused.exitCode, refused.stderr).toBe(2);
    const plan = JSON.parse(refused.stdout) as {
      findings: { severity: string; code: string; message: string }[];
      options: { allow: string[] };
    };
    const escapes = plan.findings.filter((f) => f.code === 'escape');
    expect(escapes.map((f) => f.severity)).toEqual(['blocker']);
    expect(escapes[0]?.message).toMatch(
      /hostile-priv would get privileged mode on beta.*--allow privileged \(or FERRY_ALLOW/,
    );
    const migrate = await ferry(['migrate', ...args, '--yes']);
    expect(migrate.exitCode).toBe(2);
    expect((await sshOk('alpha', `podman inspect -f '{{.State.Status}}' ${PRIV}`)).trim()).toBe('running');
    expect((await ssh('beta', `podman container exists ${PRIV}`)).exitCode).toBe(1);

    const allowed = await ferry(['--plan', ...args, '--allow', 'privileged', '--json']);
    const ok = JSON.parse(allowed.stdout) as typeof plan;
    expect(ok.options.allow).toEqual(['privileged']);
    expect(ok.findings.filter((f) => f.code === 'escape').map((f) => f.severity)).toEqual(['warning']);
    expect(allowed.exitCode, allowed.stdout).toBe(0);
  });

  it('a bind path built to break out of find and the shell is data, at --plan and through a migration by a sudo login', async () => {
    const args = ['--containers', `alpha:${BIND}`, '--to', 'beta-op'];
    // the sample's host network is an escape too: refused until allowed
    const refused = await ferry(['--plan', ...args]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toContain('--allow host-network');
    // the plan shows what beta will create: the path quoted as one word, the label's escape
    // shown, not sent to the terminal, the environment's values elided
    const bindWord = q(`${DIR}:/data`);
    const text = refused.stdout.replace(/\n {4}/g, ' ');
    expect(text).toContain('created on the destination (env values elided):');
    expect(text).toMatch(/\n {2}1 hostile-bind on beta-op: podman create /);
    expect(text).toContain(`-v ${bindWord}`);
    expect(text).toContain("--label 'evil=\\u001b]52;c;aGk=\\u0007'");
    expect(text).toContain("'SECRET_TOKEN=…'");
    expect(refused.stdout).not.toContain('\u001b');
    expect(refused.stdout).not.toContain('s3cr3t-value');
    const json = await ferry(['--plan', ...args, '--json']);
    const create = (JSON.parse(json.stdout) as { items: { create: { argv: string[]; line: string } }[] })
      .items[0]?.create;
    expect(create?.argv).toContain(`${DIR}:/data`);
    expect(create?.argv).toContain('evil=\\u001b]52;c;aGk=\\u0007');
    expect(create?.line).toContain(`-v ${bindWord}`);
    expect(json.stdout).not.toContain('s3cr3t-value');

    const r = await ferry(['migrate', ...args, '--allow', 'host-network', '--yes', '--events', 'ndjson']);
    expect(r.exitCode, r.stderr).toBe(0);
    // ferryop's login went through sudo -n: the copy is root's podman container on beta
    const mount = await sshOk('beta', `podman inspect -f '{{range .Mounts}}{{.Source}}{{end}}' ${BIND}`);
    expect(mount.trim()).toBe(DIR);
    expect((await sshOk('beta', `podman inspect -f '{{.State.Status}}' ${BIND}`)).trim()).toBe('running');
    expect((await ssh('alpha', `podman container exists ${BIND}`)).exitCode).toBe(1);
    for (const h of ['alpha', 'beta']) expect((await ssh(h, `test -e ${PWNED}`)).exitCode).toBe(1);
    // the environment reached the copy, and no event or error carried its value
    expect(
      await sshOk('beta', `podman inspect -f '{{range .Config.Env}}{{println .}}{{end}}' ${BIND}`),
    ).toContain('SECRET_TOKEN=s3cr3t-value\n');
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-value');
    await waitStatus('beta', 'podman', BIND, (s) => s.ticks >= 5);

    // and back through the import path, whose archive's spec is checked too
    const back = await ferry([
      'migrate',
      '--containers',
      `beta:${BIND}`,
      '--to',
      'alpha',
      '--restore-path',
      'import',
      '--allow',
      'host-network',
      '--yes',
    ]);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(
      (await sshOk('alpha', `podman inspect -f '{{range .Mounts}}{{.Source}}{{end}}' ${BIND}`)).trim(),
    ).toBe(DIR);
    await waitStatus('alpha', 'podman', BIND, (s) => s.ticks >= 5);
  });
});
