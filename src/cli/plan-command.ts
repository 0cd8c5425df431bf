// `ferry --plan`: plans the group and prints the plan, as text or as JSON.
// Exit codes: 0 the plan is good, 2 blockers found, 1 error.
import { formatTimings, planJson } from './plan-report.ts';
import { type MigrateArgs, planFor, poolFor } from './request.ts';

export async function planCommand(
  a: MigrateArgs & { json: boolean },
  out: NodeJS.WritableStream,
  err?: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // the text's module loads while the hosts answer (its cell widths cost ~15 ms to load)
  const text = a.json ? undefined : import('./plan-text.ts');
  const pool = poolFor(a);
  try {
    const plan = await planFor(pool, a);
    if (env.FERRY_TIMING === '1') err?.write(formatTimings(plan));
    out.write(text ? (await text).formatPlan(plan) : `${JSON.stringify(planJson(plan), null, 2)}\n`);
    return plan.blocked ? 2 : 0;
  } finally {
    await pool.close();
  }
}
