// Integration tests need the real lab. If it is not up they fail with the
// reason; they skip only when FERRY_SKIP_LAB=1 says so, and then say it loudly.
import { execa } from 'execa';
import { LAB_SCRIPT, SKIP_LAB } from '../support/lab.ts';

export default async function setup() {
  if (SKIP_LAB) {
    const bar = '!'.repeat(72);
    console.warn(`\n${bar}\n!! FERRY_SKIP_LAB=1: integration tests against the lab are SKIPPED\n${bar}\n`);
    return;
  }
  const r = await execa('bash', [LAB_SCRIPT, 'status', '--json'], { reject: false });
  let status: { up?: boolean; problems?: string[] } = {};
  try {
    status = JSON.parse(r.stdout);
  } catch {
    throw new Error(`lab status gave no JSON (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
  }
  if (!status.up) {
    throw new Error(
      `the lab is not up: ${(status.problems ?? []).join('; ')}. Bring it up with 'bash scripts/lab up' (as root), or set FERRY_SKIP_LAB=1 to skip integration tests.`,
    );
  }
}
