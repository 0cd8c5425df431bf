import { describe, expect, it } from 'vitest';
import { lab, SKIP_LAB } from '../support/lab.ts';
import {
  containerNames,
  expectContinuity,
  migrate,
  STAGES,
  snapshot,
  workflowItems,
} from '../support/migrate.ts';

const names = (p: string) => STAGES.map((s) => `${p}-${s}-1`);

describe.skipIf(SKIP_LAB)('migrating the sample workflow', () => {
  it('podman: alpha -> beta, memory, counters and items intact', async () => {
    await lab(['workflow']);
    const before = await snapshot('alpha', 'podman', names('wf'));
    const { summary, events } = await migrate(workflowItems('podman', 'wf', 'alpha', 'beta'));
    for (const e of events)
      if (e.type === 'stage-finished' || e.type === 'error' || e.type === 'warning')
        console.log(JSON.stringify(e));
    expect(summary.results.map((r) => r.outcome)).toEqual(['migrated', 'migrated', 'migrated', 'migrated']);
    expect(await containerNames('alpha', 'podman', 'wf')).toEqual([]);
    expect(await containerNames('beta', 'podman', 'wf')).toEqual(names('wf').sort());
    await expectContinuity('beta', 'podman', before, 'wf-sink-1');
    console.log(
      `podman workflow makespan ${summary.makespanMs} ms, downtime ${summary.results.map((r) => r.downtimeMs).join('/')} ms`,
    );
  });
});
