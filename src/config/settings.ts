// ferry's settings: $XDG_CONFIG_HOME/ferry/config.yaml. For now, the hosts
// `ferry hosts`, `ferry ps` and the TUI look at when --hosts is not given:
//
//   hosts: [alpha, beta, gamma]
//
// Checked like groups.yaml: unknown keys and wrong types are errors with
// file, line and column.
import { z } from 'zod';
import { configFilePath } from './paths.ts';
import { expected, type FileError, hostNameSchema, loadYamlFile } from './yaml-file.ts';

const settingsSchema = z.strictObject(
  {
    hosts: z
      .array(hostNameSchema, { error: expected('a list of host names') })
      .min(1, { error: expected('at least one host') })
      .optional(),
  },
  { error: expected('a mapping (hosts: [...])') },
);

export type FerrySettings = z.infer<typeof settingsSchema>;

export type LoadSettingsResult =
  | { ok: true; settings: FerrySettings; path: string }
  | { ok: false; errors: FileError[]; path: string };

/** The settings; a missing or empty file is all defaults. Never throws. */
export function loadSettings(path: string = configFilePath()): LoadSettingsResult {
  const r = loadYamlFile(path, settingsSchema, { missing: {}, empty: {} });
  return r.ok ? { ok: true, settings: r.value, path } : r;
}
