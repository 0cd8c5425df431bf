// A migration on the lab in which one member's restore really fails on the
// destination: just before it, the memory pages of its checkpoint are removed
// there, so CRIU cannot restore it. Run as a child process (node runs this
// file as is), so that FERRY_TEST_KILL_AT can kill it for real; prints the
// run's summary as JSON. For the cut tests of test/integration/stack.test.ts.
//   node test/support/cut-failure.ts RUNTIME FROM TO VICTIM MEMBER...

import { runEnvironment } from '../../src/cli/environment.ts';
import type { RuntimeKind } from '../../src/inventory/model.ts';
import { DockerDriver } from '../../src/migrate/docker.ts';
import type { MigrationContext } from '../../src/migrate/driver.ts';
import { runMigration } from '../../src/migrate/engine.ts';
import { liveEffects } from '../../src/migrate/live.ts';
import { PodmanDriver } from '../../src/migrate/podman.ts';
import { sessionsFor } from '../../src/migrate/session.ts';
import { planMigration } from '../../src/migrate/survey.ts';
import { DEFAULT_OPTIONS } from '../../src/plan/migration.ts';
import { createSshPool } from '../../src/ssh/index.ts';
import { SSH_CONFIG } from './lab.ts';

const [runtime, from, to, victim, ...names] = process.argv.slice(2) as [
  RuntimeKind,
  string,
  string,
  string,
  ...string[],
];

/** Leaves the victim's checkpoint on the destination without its memory pages. */
async function breakCheckpoint(ctx: MigrationContext): Promise<void> {
  if (ctx.item.container.name !== victim) return;
  const s = ctx.state;
  const dir =
    runtime === 'docker'
      ? `${s.dstRoot}/containers/${s.dstId}/checkpoints/${s.checkpointName}`
      : s.path === 'import'
        ? undefined
        : `${s.dstStatic}/checkpoint`;
  const r = dir
    ? await ctx.dst.exec([
        'sh',
        '-c',
        'ls "$1"/pages-*.img >/dev/null && rm -f -- "$1"/pages-*.img',
        'sh',
        dir,
      ])
    : await ctx.dst.exec(['sh', '-c', ': >"$1"', 'sh', `${s.tmpDst}/checkpoint.tar`]);
  if (r.code !== 0) throw new Error(`cut-failure: could not break ${victim}'s checkpoint: ${r.stderr}`);
}

class BrokenPodman extends PodmanDriver {
  override async restore(ctx: MigrationContext) {
    await breakCheckpoint(ctx);
    return super.restore(ctx);
  }
}
class BrokenDocker extends DockerDriver {
  override async restore(ctx: MigrationContext) {
    await breakCheckpoint(ctx);
    return super.restore(ctx);
  }
}

const pool = createSshPool({ configFile: SSH_CONFIG, env: {} });
try {
  const plan = await planMigration(pool, {
    members: names.map((name) => ({ host: from, runtime, name })),
    to,
    options: { ...DEFAULT_OPTIONS, allow: ['host-network'] },
  });
  if (plan.blocked) throw new Error(`cut-failure: the plan is blocked: ${JSON.stringify(plan.findings)}`);
  const run = runMigration(plan, {
    // FERRY_TEST_KILL_AT and the state dir, as the CLI reads them
    ...liveEffects(runEnvironment(process.env)),
    session: sessionsFor(pool),
    configFile: SSH_CONFIG,
    drivers: { podman: new BrokenPodman(), docker: new BrokenDocker() },
  });
  const summary = await run.done;
  process.stdout.write(`${JSON.stringify({ summary, restoreAfter: plan.restoreAfter })}\n`);
} finally {
  await pool.close();
}
