// What ferry takes from its environment for a run, read here at the edge: the
// engine and recover get values. (FERRY_ALLOW is read with the flags:
// request.ts; the TUI reads it in tui.ts.)
import { forcedDeadlines, type StepDeadlines } from '../migrate/deadlines.ts';
import { type JournalHooks, journalDir } from '../migrate/journal.ts';

export interface RunEnvironment {
  /** where the journals go: `runs` in the XDG state dir */
  journalDir: string;
  /** FERRY_TEST_KILL_AT, FERRY_TEST_PAUSE_AT and FERRY_TEST_PAUSE_FILE: the crash-point tests' hooks */
  journalHooks: JournalHooks;
  /** FERRY_STEP_DEADLINE_MS: every step's deadline (tests of a hung host) */
  deadlines: Partial<StepDeadlines>;
}

export function runEnvironment(env: NodeJS.ProcessEnv): RunEnvironment {
  return {
    journalDir: journalDir(env),
    journalHooks: {
      ...(env.FERRY_TEST_KILL_AT ? { killAt: env.FERRY_TEST_KILL_AT } : {}),
      ...(env.FERRY_TEST_PAUSE_AT ? { pauseAt: env.FERRY_TEST_PAUSE_AT } : {}),
      ...(env.FERRY_TEST_PAUSE_FILE ? { pauseFile: env.FERRY_TEST_PAUSE_FILE } : {}),
    },
    deadlines: forcedDeadlines(env.FERRY_STEP_DEADLINE_MS),
  };
}
