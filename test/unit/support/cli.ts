// The command line's arguments as main.ts hands them on when no flag is set,
// with the given ones over them: for tests of what the flags turn into.
import type { MigrateArgs } from '../../../src/cli/request.ts';

export const cliArgs = (over: Partial<MigrateArgs> = {}): MigrateArgs => ({
  group: {},
  configFile: undefined,
  jump: undefined,
  strategy: undefined,
  compress: undefined,
  events: undefined,
  keepSource: false,
  consistentCut: false,
  restorePath: undefined,
  ...over,
});
