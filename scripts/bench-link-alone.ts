// One link estimate and nothing else, as --plan makes it (ferry's own
// measureLink over ferry's SSH pool, the connections already up): the "one
// link estimate" of issue 12's plan floor, measured in the same run as the plan.
//   node scripts/bench-link-alone.ts SSH_CONFIG FROM TO
// Prints JSON: {"ms": wall time of the estimate, "bytesPerSec", "steady"}.
import { sessionsFor } from '../src/migrate/session.ts';
import { measureLink } from '../src/migrate/transfer.ts';
import { createSshPool } from '../src/ssh/index.ts';

const [configFile, from = 'alpha', to = 'beta'] = process.argv.slice(2);
const pool = createSshPool(configFile ? { configFile } : {});
const session = sessionsFor(pool);
try {
  // connections and the privilege probe first: the plan's probes open them
  await Promise.all([session(from).exec(['true']), session(to).exec(['true'])]);
  const t = performance.now();
  const m = await measureLink(session(from), session(to), 'none', undefined, { rates: new Map() });
  const ms = Math.round(performance.now() - t);
  const steady = m.source?.kind === 'measured' ? m.source.steady : null;
  process.stdout.write(`${JSON.stringify({ ms, bytesPerSec: m.bytesPerSec, steady })}\n`);
} finally {
  await pool.close();
}
