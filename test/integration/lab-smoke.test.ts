import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  continuityProblems,
  freshStatus,
  LAB_DIR,
  lab,
  type Runtime,
  SKIP_LAB,
  SSH_CONFIG,
  ssh,
  sshOk,
  waitStatus,
  workloadStatus,
} from '../support/lab.ts';

const HOSTS = ['bastion', 'alpha', 'beta', 'gamma'];
const CONTAINER_HOSTS = ['alpha', 'beta', 'gamma'];

describe.skipIf(SKIP_LAB)('lab smoke', () => {
  it('every host answers over ssh, verified against its own lab host key', async () => {
    for (const h of HOSTS) {
      expect((await sshOk(h, 'echo $FERRY_LAB_HOST')).trim()).toBe(h);
    }
    // each host has its own key
    const known = await readFile(join(LAB_DIR, 'known_hosts'), 'utf8');
    const keys = known
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[2]);
    expect(new Set(keys).size).toBe(HOSTS.length);
  });

  it('refuses a host whose key is not the lab key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-kh-'));
    const wrong = join(dir, 'known_hosts');
    // alpha's address listed with beta's key: strict checking must refuse
    const known = await readFile(join(LAB_DIR, 'known_hosts'), 'utf8');
    const betaKey = known
      .split('\n')
      .find((l) => l.startsWith('beta,'))
      ?.split(' ')
      .slice(1)
      .join(' ');
    expect(betaKey).toBeTruthy();
    await writeFile(wrong, `alpha,10.99.0.11 ${betaKey}\n`);
    const r = await ssh('alpha', 'true', { sshArgs: ['-o', `UserKnownHostsFile=${wrong}`] });
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('reaches gamma only through the bastion', async () => {
    const direct = await ssh('gamma', 'true', {
      sshArgs: ['-o', 'ProxyJump=none', '-o', 'ConnectTimeout=3'],
    });
    expect(direct.exitCode).toBe(255);
    expect(direct.stderr).toMatch(/No route to host|Network is unreachable/);
    expect((await sshOk('gamma', 'echo $FERRY_LAB_HOST')).trim()).toBe('gamma');
    // and the root namespace really has no route there
    const route = await execa('ip', ['route', 'get', '10.99.1.13'], { reject: false });
    expect(route.exitCode).not.toBe(0);
  });

  it('prints an ssh config that plain ssh -F uses', async () => {
    const r = await lab(['ssh-config']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Host gamma\n\s+HostName 10\.99\.1\.13\n\s+ProxyJump bastion/);
    expect(r.stdout).toContain(`UserKnownHostsFile ${LAB_DIR}/known_hosts`);
    expect(r.stdout).toContain('IdentityFile ');
    expect(SSH_CONFIG).toBe(`${LAB_DIR}/ssh_config`);
  });

  it('has a working CRIU 4.x on every container host', async () => {
    for (const h of CONTAINER_HOSTS) {
      const r = await ssh(h, 'criu --version && criu check');
      expect(r.exitCode, `${h}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/Version: 4\./);
      expect(r.stdout + r.stderr).toContain('Looks good');
    }
  });

  it('gives each host its own podman storage and dockerd, with the image everywhere but gamma', async () => {
    const roots = new Set<string>();
    const sockets = new Set<string>();
    for (const h of CONTAINER_HOSTS) {
      roots.add((await sshOk(h, "podman info --format '{{.Store.GraphRoot}}'")).trim());
      sockets.add((await sshOk(h, 'echo $DOCKER_HOST')).trim());
      expect((await sshOk(h, "podman info --format '{{.Host.OCIRuntime.Name}}'")).trim()).toBe('runc');
      expect((await sshOk(h, "docker info --format '{{.ExperimentalBuild}}'")).trim()).toBe('true');
      const hasImage = (await ssh(h, 'podman image exists localhost/ferry-workload:latest')).exitCode === 0;
      const dockerImage = (await sshOk(h, 'docker images -q localhost/ferry-workload:latest')).trim() !== '';
      expect(hasImage, `${h} podman image`).toBe(h !== 'gamma');
      expect(dockerImage, `${h} docker image`).toBe(h !== 'gamma');
    }
    expect(roots.size).toBe(3);
    expect(sockets.size).toBe(3);
  });

  it('runs the sample workflow with compose labels and items flowing', async () => {
    for (const [runtime, project] of [
      ['podman', 'wf'],
      ['docker', 'wfd'],
    ] as const) {
      const out = await sshOk(
        'alpha',
        `${runtime} ps --filter label=com.docker.compose.project=${project} --format '{{.Names}}'`,
      );
      expect(out.trim().split('\n').sort()).toEqual(
        ['enrich', 'parse', 'producer', 'sink'].map((s) => `${project}-${s}-1`),
      );
      const dep = await sshOk(
        'alpha',
        `${runtime} inspect --format '{{index .Config.Labels "com.docker.compose.depends_on"}}' ${project}-producer-1`,
      );
      expect(dep.trim()).toBe('parse:service_started:false');
      const sink = await waitStatus('alpha', runtime, `${project}-sink-1`, (s) => s.accepted > 5);
      expect(sink.lastSeq).toBe(sink.accepted);
      expect(sink.badValues).toBe(0);
    }
  });

  for (const runtime of ['podman', 'docker'] as Runtime[]) {
    it(`${runtime}: checkpoint and restore keep a workflow stage's memory on alpha`, async () => {
      const project = runtime === 'podman' ? 'wf' : 'wfd';
      const stage = `${project}-enrich-1`;
      const sinkName = `${project}-sink-1`;
      await waitStatus('alpha', runtime, sinkName, (s) => s.accepted > 10);
      const before = await workloadStatus('alpha', runtime, stage);
      const sinkBefore = await workloadStatus('alpha', runtime, sinkName);

      if (runtime === 'podman') {
        await sshOk('alpha', `podman container checkpoint ${stage}`);
        expect((await sshOk('alpha', `podman inspect --format '{{.State.Status}}' ${stage}`)).trim()).toBe(
          'exited',
        );
        await sshOk('alpha', `podman container restore ${stage}`);
      } else {
        await sshOk(
          'alpha',
          `docker checkpoint rm ${stage} ferry-smoke >/dev/null 2>&1; docker checkpoint create ${stage} ferry-smoke`,
        );
        expect((await sshOk('alpha', `docker inspect --format '{{.State.Status}}' ${stage}`)).trim()).toBe(
          'exited',
        );
        await sshOk('alpha', `docker start --checkpoint ferry-smoke ${stage}`);
      }
      const restoredAt = Date.now();
      const after = await freshStatus('alpha', runtime, stage, restoredAt);
      expect(continuityProblems(before, after)).toEqual([]);
      expect(after.ticks).toBeGreaterThan(before.ticks);
      // items keep flowing past the restored stage, none lost or duplicated
      const sinkAfter = await waitStatus(
        'alpha',
        runtime,
        sinkName,
        (s) => s.accepted > sinkBefore.accepted + 20,
      );
      expect(continuityProblems(sinkBefore, sinkAfter)).toEqual([]);
      expect(sinkAfter.lastSeq).toBe(sinkAfter.accepted);
    });
  }

  it('`lab up` again leaves a healthy lab and its running workflow alone', async () => {
    const before = await workloadStatus('alpha', 'podman', 'wf-producer-1');
    const r = await lab(['up']);
    expect(r.exitCode, r.stderr).toBe(0);
    const after = await freshStatus('alpha', 'podman', 'wf-producer-1', Date.now());
    expect(after.runId).toBe(before.runId);
  });
});
