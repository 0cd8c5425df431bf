// `ferry` with no command: the terminal UI. Builds the real backend (SSH pool,
// inventory, planner, engine, saved groups), the store, and renders the App.

import { resolve } from 'node:path';
import { render } from 'ink';
import { createElement } from 'react';
import { standingAllow, withStandingAllow } from '../config/allow.ts';
import { formatGroupError, type GroupFileError, loadGroups, saveGroup } from '../config/groups.ts';
import { Inventory } from '../inventory/inventory.ts';
import { runMigration } from '../migrate/engine.ts';
import { liveEffects } from '../migrate/live.ts';
import { sessionsFor } from '../migrate/session.ts';
import { planMigration } from '../migrate/survey.ts';
import type { HostTarget } from '../runtime/probe.ts';
import { createSshPool, SshError, type SshPool } from '../ssh/index.ts';
import { StoreProvider } from '../store/react.ts';
import { runFinished } from '../store/run.ts';
import { hostRefresh, type TransportFailure } from '../store/snapshot.ts';
import { createAppStore } from '../store/store.ts';
import type { Backend, PlanView, SavedGroup } from '../store/types.ts';
import { errorText } from '../text/error.ts';
import { App } from '../ui/App.tsx';
import { colorsWanted, ThemeContext } from '../ui/theme.ts';
import { type RunEnvironment, runEnvironment } from './environment.ts';
import { EXIT, resolveHostList } from './inventory.ts';
import { planDeps } from './request.ts';
import { takeOverSkeleton } from './skeleton.ts';
import { VERSION } from './version.ts';

export interface TuiOptions {
  /** like ssh -F */
  configFile?: string | undefined;
  /** like ssh -J: every host through these jump hosts */
  jump?: string | undefined;
  hosts: string[];
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** ms between automatic refreshes (default 5000) */
  refreshMs?: number;
}

/** Saved groups, as src/config/groups.ts provides them. */
export interface GroupStore {
  load(): Promise<SavedGroup[]>;
  save(group: SavedGroup): Promise<void>;
}

/** groups.yaml under $XDG_CONFIG_HOME/ferry (or the given file). */
export function fileGroups(path?: string): GroupStore {
  const failed = (errors: GroupFileError[]) => new Error(errors.map(formatGroupError).join('; '));
  return {
    load: async () => {
      const r = path ? loadGroups(path) : loadGroups();
      if (!r.ok) throw failed(r.errors);
      return r.groups;
    },
    save: async (g) => {
      const r = path ? saveGroup(g, path) : saveGroup(g);
      if (!r.ok) throw failed(r.errors);
    },
  };
}

/** What the TUI's backend takes from ferry's environment (read in startTui). */
export interface BackendEnvironment extends RunEnvironment {
  /** FERRY_ALLOW, added to every plan; a bad one fails each plan, naming it */
  standingAllow: readonly string[] | Error;
}

/** The environment as startTui reads it. */
export function backendEnvironment(env: NodeJS.ProcessEnv): BackendEnvironment {
  let standing: readonly string[] | Error;
  try {
    standing = standingAllow(env);
  } catch (e) {
    standing = new Error(errorText(e));
  }
  return { ...runEnvironment(env), standingAllow: standing };
}

/** The backend over ferry's SSH pool: what the TUI does to the world goes through here. */
export function sshBackend(
  pool: SshPool,
  hosts: readonly string[],
  env: BackendEnvironment,
  opts: { configFile?: string | undefined; jump?: string | undefined; groups?: GroupStore } = {},
): Backend {
  // the SSH layer's own error for a host's last attempt: its message names a changed host key exactly
  const failures = new Map<string, TransportFailure>();
  const targets: HostTarget[] = hosts.map((name) => ({
    name,
    exec: async (argv, o) => {
      try {
        const r = await pool.exec(name, argv, o);
        failures.delete(name);
        return r;
      } catch (e) {
        if (e instanceof SshError) failures.set(name, { code: e.code, message: e.message, hint: e.hint });
        else failures.delete(name);
        throw e;
      }
    },
  }));
  // each refresh lists; the facts that do not change come once per host, after its first list
  const inventory = new Inventory(targets, { mode: 'list' });
  const groups = opts.groups ?? fileGroups();
  return {
    hosts,
    async refreshHost(host) {
      const inv = await inventory.refreshHost(host);
      return hostRefresh(inv, inv.stale ? failures.get(host) : undefined);
    },
    async plan(req) {
      try {
        const standing = env.standingAllow;
        if (standing instanceof Error) throw standing;
        const allow = withStandingAllow(req.options.allow, standing);
        return await planMigration(pool, { ...req, options: { ...req.options, allow } }, planDeps(pool));
      } catch (e) {
        const hint = e instanceof Error && 'hint' in e && typeof e.hint === 'string' ? ` (${e.hint})` : '';
        throw new Error(`${errorText(e)}${hint}`);
      }
    },
    run(plan: PlanView) {
      // the planner's own object: its estimates, models and links go to the engine too
      return runMigration(plan, {
        ...liveEffects(env),
        deadlines: env.deadlines,
        session: sessionsFor(pool),
        ...(opts.configFile ? { configFile: resolve(opts.configFile) } : {}),
        ...(opts.jump ? { jump: opts.jump } : {}),
      });
    },
    loadGroups: () => groups.load(),
    saveGroup: (g) => groups.save(g),
    close: () => pool.close(),
  };
}

/** Runs the TUI until the person quits; the exit code. */
export async function startTui(opts: TuiOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const stderr = opts.stderr ?? process.stderr;
  if (!opts.stdout.isTTY || !opts.stdin.isTTY) {
    stderr.write(
      'ferry: the terminal UI needs a terminal; for scripts use ferry migrate, ferry ps or --plan\n',
    );
    return 1;
  }
  // --hosts, else hosts: in config.yaml, else the ssh config's Host names
  const list = resolveHostList({ configFile: opts.configFile, hosts: opts.hosts });
  if (!list.ok) {
    for (const e of list.errors) stderr.write(`ferry: ${e}\n`);
    return EXIT.badConfig;
  }
  // performance.now() counts from process start: the first frame as the person sees it
  let inkFrameMs: number | null = null;
  let inventoryMs: number | null = null;
  const pool = createSshPool({
    env,
    ...(opts.configFile ? { configFile: opts.configFile } : {}),
    ...(opts.jump ? { jump: opts.jump } : {}),
  });
  const backend = sshBackend(pool, list.hosts, backendEnvironment(env), {
    configFile: opts.configFile,
    jump: opts.jump,
  });
  const store = createAppStore(backend, { version: VERSION });
  const unsubscribe = store.subscribe((s) => {
    if (inventoryMs === null && s.refreshes > 0) inventoryMs = performance.now();
  });
  const app = createElement(
    ThemeContext.Provider,
    { value: { colors: colorsWanted(env) } },
    createElement(StoreProvider, { store }, createElement(App, { refreshMs: opts.refreshMs ?? 5000 })),
  );
  // the entry's skeleton frame (if it drew one) gives way to ink's
  const skeletonAt = takeOverSkeleton(opts.stdout);
  const instance = render(app, {
    stdout: opts.stdout,
    stdin: opts.stdin,
    stderr: opts.stderr ?? process.stderr,
    // a terminal is attached (checked above): draw live even where CI=true
    // is set, which ink would take for a log and print only the last frame
    interactive: true,
    // ctrl-c is a key here: during a migration it is the safe stop
    exitOnCtrlC: false,
    alternateScreen: true,
    // over SSH, redraw only the lines that changed
    incrementalRendering: true,
    onRender: () => {
      inkFrameMs ??= performance.now();
    },
  });
  // a hang-up or kill during a migration: stop safely, let the run settle, then leave
  let leaving = false;
  const onSignal = () => {
    if (leaving) return;
    leaving = true;
    if (!store.getState().cancelRun()) {
      instance.unmount();
      return;
    }
    store.subscribe((s) => {
      if (runFinished(s.run)) instance.unmount();
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // a terminal that went away (EIO on write) is a hang-up too, not a crash in mid-migration
  opts.stdout.on('error', onSignal);
  opts.stdin.on('error', onSignal);
  let code = 0;
  try {
    await instance.waitUntilExit();
  } catch (e) {
    stderr.write(`ferry: ${errorText(e)}\n`);
    code = 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    opts.stdout.off('error', onSignal);
    opts.stdin.off('error', onSignal);
    unsubscribe();
    await backend.close();
  }
  if (env.FERRY_TIMING === '1') {
    const ms = (v: number | null) => (v === null ? 'never' : `${Math.round(v)} ms`);
    stderr.write(
      `ferry timing: first frame ${ms(skeletonAt ?? inkFrameMs)}, inventory of all hosts ${ms(inventoryMs)} (since process start), full frame ${ms(inkFrameMs)}\n`,
    );
  }
  return code;
}
