// How long each section of a host's full probe ran on the host, as --plan
// asks it: which command is the probe's long pole.
//   node scripts/probe-sections.ts SSH_CONFIG HOST...
import { CPUINFO_SECTION } from '../src/plan/preflight.ts';
import { hostFactSections } from '../src/runtime/host-facts.ts';
import { defaultRuntimes } from '../src/runtime/probe.ts';
import { buildScript, parseScriptOutput } from '../src/runtime/script.ts';
import { createSshPool } from '../src/ssh/index.ts';

const [configFile, ...hosts] = process.argv.slice(2);
const pool = createSshPool(configFile ? { configFile } : {});
try {
  const sections = [
    ...hostFactSections(),
    ...defaultRuntimes().flatMap((r) => r.probeSections()),
    CPUINFO_SECTION,
  ];
  await Promise.all(hosts.map((h) => pool.exec(h, ['true'])));
  for (const host of hosts) {
    const { script, nonce } = buildScript(sections, { sudo: 'auto', timeoutSec: 20 });
    const t = performance.now();
    const r = await pool.exec(host, ['sh', '-c', script]);
    const wall = Math.round(performance.now() - t);
    const out = parseScriptOutput(r.stdout, nonce, sections);
    const rows = [...out.sections.values()]
      .map((s) => `${s.name} ${Math.round(s.elapsedMs ?? -1)}`)
      .sort((a, b) => Number(b.split(' ')[1]) - Number(a.split(' ')[1]));
    process.stdout.write(`${host}: ${wall} ms: ${rows.join(', ')}\n`);
  }
} finally {
  await pool.close();
}
