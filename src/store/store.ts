// The TUI's state and every action on it, in one vanilla zustand store. All
// I/O goes through the injected Backend; components only read and call actions.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { parseMemberSpec } from '../config/member-spec.ts';
import { DEFAULT_OPTIONS } from '../plan/migration.ts';
import { STRATEGIES } from '../plan/schedule.ts';
import { errorText } from '../text/error.ts';
import { formatMem } from '../text/numbers.ts';
import { keyed, type MessageText } from './commands.ts';
import { initialRun, type RunState, reduceRun, runFinished } from './run.ts';
import type {
  Backend,
  ContainerRow,
  HostStatus,
  MemberSpec,
  PlanView,
  RunHandle,
  SavedGroup,
  Strategy,
} from './types.ts';

/**
 * TCP connections to peers outside the group: keep them (--tcp-established;
 * works only if the peer still reaches the address) or close them
 * (--tcp-close; the application reconnects). null: not chosen, which the plan
 * refuses when there are such connections.
 */
export type OutsideTcp = 'keep' | 'close' | null;

/** The choice as the planner takes it: the same options the command-line flags set. */
export function tcpOptions(tcp: OutsideTcp): { tcpEstablished: boolean; tcpClose: boolean } {
  return { tcpEstablished: tcp === 'keep', tcpClose: tcp === 'close' };
}

export type Screen =
  | { kind: 'main' }
  | { kind: 'hosts' }
  | { kind: 'save'; input: string }
  | { kind: 'groups'; loading: boolean; groups: SavedGroup[]; cursor: number; error: string | null }
  | { kind: 'destination'; candidates: string[]; cursor: number; strategy: Strategy; tcp?: OutsideTcp }
  | {
      kind: 'plan';
      to: string;
      /** the first item shown, when the plan is longer than the screen */
      offset: number;
      /** each member's create command in place of the estimates and findings */
      details?: boolean;
      strategy: Strategy;
      tcp: OutsideTcp;
      status: 'planning' | 'ready' | 'error';
      plan: PlanView | null;
      error: string | null;
    }
  | { kind: 'run' };

export interface Message {
  /** the commands it names show as their keys (src/ui/keymap.ts) */
  text: MessageText;
  level: 'info' | 'warning' | 'error';
}

export interface AppState {
  version: string;
  hostOrder: readonly string[];
  hosts: Record<string, HostStatus>;
  /** every host's containers, sorted by host order, runtime, name */
  containers: ContainerRow[];
  /** hosts with a refresh in flight */
  refreshing: string[];
  /** full refreshes finished */
  refreshes: number;
  /** index into the visible rows */
  cursor: number;
  /** the row under the cursor, kept across refreshes and filtering */
  cursorKey: string | null;
  filter: string;
  filterEditing: boolean;
  marked: ReadonlySet<string>;
  screen: Screen;
  helpOpen: boolean;
  message: Message | null;
  run: RunState | null;
  quitRequested: boolean;

  /** every host at once, each shown as it answers; while one runs, calling again joins it */
  refresh(): Promise<void>;
  /**
   * Refreshes now, then again `ms` after each refresh has finished (so one never
   * overlaps the previous), skipping while a plan or a run has the hosts'
   * attention. Returns the stop function.
   */
  autoRefresh(ms: number): () => void;
  move(delta: number): void;
  moveTo(index: number): void;
  startFilter(): void;
  setFilter(text: string): void;
  /** keep: leave the filter applied (enter); otherwise clear it (esc) */
  endFilter(keep: boolean): void;
  toggleMark(): void;
  markGroup(): void;
  clearMarks(): void;
  toggleHelp(): void;
  showHosts(): void;
  startSave(): void;
  setInput(text: string): void;
  submitSave(): Promise<void>;
  openGroups(): Promise<void>;
  applyGroup(): void;
  startMigrate(): void;
  /** in a list screen (destination, groups): move the list cursor */
  listMove(delta: number): void;
  cycleStrategy(): void;
  /** on the plan: connections to peers outside the group, keep then close (plans again) */
  cycleTcp(): void;
  pickDestination(): void;
  confirmRun(): void;
  /** on the plan: what each destination creates, or the plan again */
  togglePlanDetails(): void;
  /** ctrl-c: safe stop of a running migration; false when there is none */
  cancelRun(): boolean;
  back(): void;
  quit(): void;
  say(text: MessageText, level?: Message['level']): void;
}

export type AppStore = StoreApi<AppState>;

export interface StoreOptions {
  version: string;
  now?: () => number;
}

const rowText = (r: ContainerRow) =>
  `${r.host} ${r.runtime} ${r.name} ${r.image} ${r.state} ${r.group ?? ''} ${formatMem(r.memoryBytes)}`.toLowerCase();

// one filtered list per (rows, filter): every render asks for it
const visibleCache = new WeakMap<ContainerRow[], { filter: string; rows: ContainerRow[] }>();

/** The rows the table shows: every container, or those matching each word of the filter. */
export function visibleRows(s: Pick<AppState, 'containers' | 'filter'>): ContainerRow[] {
  const hit = visibleCache.get(s.containers);
  if (hit && hit.filter === s.filter) return hit.rows;
  const words = s.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const rows =
    words.length === 0
      ? s.containers
      : s.containers.filter((r) => {
          const t = rowText(r);
          return words.every((w) => t.includes(w));
        });
  visibleCache.set(s.containers, { filter: s.filter, rows });
  return rows;
}

export function currentRow(s: AppState): ContainerRow | undefined {
  return visibleRows(s)[s.cursor];
}

export function markedRows(s: Pick<AppState, 'containers' | 'marked'>): ContainerRow[] {
  return s.containers.filter((r) => s.marked.has(r.key));
}

const memberOf = (r: ContainerRow): MemberSpec => ({ host: r.host, runtime: r.runtime, name: r.name });

export function createAppStore(backend: Backend, opts: StoreOptions): AppStore {
  const now = opts.now ?? Date.now;
  let handle: RunHandle | null = null;
  // a plan answer that arrives after the person moved on is dropped, and its probes stopped
  let planToken = 0;
  let planAbort: AbortController | null = null;
  // the refresh in flight: a second call joins it instead of starting another
  let cycle: Promise<void> | null = null;
  const dropPlan = () => {
    planToken++;
    planAbort?.abort();
    planAbort = null;
  };
  const hostOrder = [...backend.hosts];
  const orderOf = new Map(hostOrder.map((h, i) => [h, i]));
  const hosts: Record<string, HostStatus> = {};
  for (const h of hostOrder)
    hosts[h] = {
      host: h,
      state: 'connecting',
      reason: null,
      hint: null,
      warnings: [],
      containers: 0,
      refreshedAt: null,
      durationMs: null,
    };

  return createStore<AppState>()((set, get) => {
    /** Sets the cursor on the same row as before if it is still visible, else clamps it. */
    const placeCursor = (s: Pick<AppState, 'containers' | 'filter' | 'cursor' | 'cursorKey'>) => {
      const rows = visibleRows(s);
      let cursor = s.cursorKey ? rows.findIndex((r) => r.key === s.cursorKey) : -1;
      if (cursor < 0) cursor = Math.max(0, Math.min(s.cursor, rows.length - 1));
      return { cursor, cursorKey: rows[cursor]?.key ?? null };
    };
    const sortRows = (rows: ContainerRow[]) =>
      rows.sort(
        (a, b) =>
          (orderOf.get(a.host) ?? 1e9) - (orderOf.get(b.host) ?? 1e9) ||
          a.host.localeCompare(b.host) ||
          a.runtime.localeCompare(b.runtime) ||
          a.name.localeCompare(b.name),
      );
    const say = (text: MessageText, level: Message['level'] = 'info') => set({ message: { text, level } });

    const refreshHost = async (host: string) => {
      let result: Awaited<ReturnType<Backend['refreshHost']>>;
      try {
        result = await backend.refreshHost(host);
      } catch (e) {
        // the backend should not reject; if it does, the host shows why
        const prev = get().hosts[host];
        result = {
          status: {
            host,
            state: prev?.refreshedAt ? 'stale' : 'unreachable',
            reason: errorText(e),
            hint: null,
            warnings: [],
            containers: prev?.containers ?? 0,
            refreshedAt: prev?.refreshedAt ?? null,
            durationMs: null,
          },
          containers: get().containers.filter((r) => r.host === host),
        };
      }
      set((s) => {
        const containers = sortRows([...s.containers.filter((r) => r.host !== host), ...result.containers]);
        return {
          hosts: { ...s.hosts, [host]: result.status },
          containers,
          refreshing: s.refreshing.filter((h) => h !== host),
          ...placeCursor({ ...s, containers }),
        };
      });
    };

    return {
      version: opts.version,
      hostOrder,
      hosts,
      containers: [],
      refreshing: [],
      refreshes: 0,
      cursor: 0,
      cursorKey: null,
      filter: '',
      filterEditing: false,
      marked: new Set(),
      screen: { kind: 'main' },
      helpOpen: false,
      message: null,
      run: null,
      quitRequested: false,

      refresh() {
        if (cycle) return cycle;
        const todo = get().hostOrder;
        set({ refreshing: [...todo] });
        cycle = Promise.all(todo.map(refreshHost)).then(() => {
          cycle = null;
          set((s) => ({ refreshes: s.refreshes + 1 }));
        });
        return cycle;
      },
      autoRefresh(ms) {
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const round = async () => {
          // no background traffic while a plan or a run has the hosts' attention
          const kind = get().screen.kind;
          if (kind !== 'plan' && kind !== 'run') await get().refresh();
          if (!stopped && ms > 0) timer = setTimeout(round, ms);
        };
        void round();
        return () => {
          stopped = true;
          clearTimeout(timer);
        };
      },

      move(delta) {
        get().moveTo(get().cursor + delta);
      },
      moveTo(index) {
        const rows = visibleRows(get());
        const cursor = Math.max(0, Math.min(index, rows.length - 1));
        set({ cursor, cursorKey: rows[cursor]?.key ?? null });
      },

      startFilter() {
        set({ filterEditing: true });
      },
      setFilter(text) {
        set((s) => ({ filter: text, ...placeCursor({ ...s, filter: text }) }));
      },
      endFilter(keep) {
        if (keep) set({ filterEditing: false });
        else set((s) => ({ filterEditing: false, filter: '', ...placeCursor({ ...s, filter: '' }) }));
      },

      toggleMark() {
        const row = currentRow(get());
        if (!row) return;
        const marked = new Set(get().marked);
        if (marked.has(row.key)) marked.delete(row.key);
        else marked.add(row.key);
        set({ marked });
        get().move(1);
      },
      markGroup() {
        const row = currentRow(get());
        if (!row) return;
        if (!row.group) {
          say(`${row.name} is not part of a compose project`, 'warning');
          return;
        }
        const members = get().containers.filter(
          (r) => r.host === row.host && r.runtime === row.runtime && r.group === row.group,
        );
        set({ marked: new Set([...get().marked, ...members.map((r) => r.key)]) });
        say(`marked ${members.length} containers of ${row.group} on ${row.host}`);
      },
      clearMarks() {
        set({ marked: new Set() });
      },

      toggleHelp() {
        set((s) => ({ helpOpen: !s.helpOpen }));
      },
      showHosts() {
        set({ screen: { kind: 'hosts' } });
      },

      startSave() {
        if (get().marked.size === 0) {
          say(keyed`nothing marked: mark containers with ${'mark'} or ${'mark-group'} first`, 'warning');
          return;
        }
        set({ screen: { kind: 'save', input: '' } });
      },
      setInput(text) {
        const sc = get().screen;
        if (sc.kind === 'save') set({ screen: { ...sc, input: text } });
      },
      async submitSave() {
        const sc = get().screen;
        if (sc.kind !== 'save') return;
        const name = sc.input.trim();
        if (!name) {
          say('a group needs a name', 'warning');
          return;
        }
        const members = markedRows(get()).map((r) => `${r.host}:${r.runtime}/${r.name}`);
        set({ screen: { kind: 'main' } });
        try {
          await backend.saveGroup({ name, members });
          say(`saved group ${name} (${members.length} containers)`);
        } catch (e) {
          say(`could not save group ${name}: ${errorText(e)}`, 'error');
        }
      },

      async openGroups() {
        set({ screen: { kind: 'groups', loading: true, groups: [], cursor: 0, error: null } });
        let groups: SavedGroup[] = [];
        let error: string | null = null;
        try {
          groups = await backend.loadGroups();
        } catch (e) {
          error = errorText(e);
        }
        if (get().screen.kind === 'groups')
          set({ screen: { kind: 'groups', loading: false, groups, cursor: 0, error } });
      },
      applyGroup() {
        const sc = get().screen;
        if (sc.kind !== 'groups') return;
        const g = sc.groups[sc.cursor];
        if (!g) return;
        const keys: string[] = [];
        const missing: string[] = [];
        for (const spec of g.members) {
          const m = parseMemberSpec(spec);
          const found = m
            ? get().containers.filter(
                (r) => r.host === m.host && r.name === m.name && (!m.runtime || r.runtime === m.runtime),
              )
            : [];
          if (found.length === 0) missing.push(spec);
          keys.push(...found.map((r) => r.key));
        }
        set({ marked: new Set(keys), screen: { kind: 'main' } });
        if (missing.length > 0)
          say(`group ${g.name}: marked ${keys.length}; not found: ${missing.join(', ')}`, 'warning');
        else say(`group ${g.name}: marked ${keys.length} containers`);
      },

      startMigrate() {
        let rows = markedRows(get());
        if (rows.length === 0) {
          const row = currentRow(get());
          if (!row) {
            say('no container to migrate', 'warning');
            return;
          }
          rows = [row];
        }
        const sources = new Set(rows.map((r) => r.host));
        const candidates = get().hostOrder.filter((h) => !sources.has(h));
        if (candidates.length === 0) {
          say('no other host to migrate to', 'warning');
          return;
        }
        // a reachable host first
        const cursor = Math.max(
          0,
          candidates.findIndex((h) => get().hosts[h]?.state === 'ok'),
        );
        set({
          screen: { kind: 'destination', candidates, cursor, strategy: DEFAULT_OPTIONS.strategy },
          message: null,
        });
      },
      listMove(delta) {
        const sc = get().screen;
        const clamp = (i: number, n: number) => Math.max(0, Math.min(i, n - 1));
        if (sc.kind === 'destination')
          set({ screen: { ...sc, cursor: clamp(sc.cursor + delta, sc.candidates.length) } });
        else if (sc.kind === 'groups')
          set({ screen: { ...sc, cursor: clamp(sc.cursor + delta, sc.groups.length) } });
        else if (sc.kind === 'plan' && sc.plan)
          set({ screen: { ...sc, offset: clamp(sc.offset + delta, sc.plan.items.length) } });
      },
      cycleStrategy() {
        const sc = get().screen;
        if (sc.kind !== 'destination' && sc.kind !== 'plan') return;
        const next = STRATEGIES[(STRATEGIES.indexOf(sc.strategy) + 1) % STRATEGIES.length] as Strategy;
        if (sc.kind === 'destination') set({ screen: { ...sc, strategy: next } });
        else planFor(sc.to, next, sc.tcp);
      },
      cycleTcp() {
        const sc = get().screen;
        if (sc.kind !== 'plan') return;
        planFor(sc.to, sc.strategy, sc.tcp === 'keep' ? 'close' : 'keep');
      },
      pickDestination() {
        const sc = get().screen;
        if (sc.kind !== 'destination') return;
        const to = sc.candidates[sc.cursor];
        if (to) planFor(to, sc.strategy, sc.tcp ?? null);
      },
      togglePlanDetails() {
        const sc = get().screen;
        if (sc.kind === 'plan' && sc.plan) set({ screen: { ...sc, details: !sc.details } });
      },
      confirmRun() {
        const sc = get().screen;
        if (sc.kind !== 'plan' || sc.status !== 'ready' || !sc.plan) return;
        if (sc.plan.blocked) {
          say(
            'migration refused: the plan has blockers (in red); fix them or unmark those containers',
            'error',
          );
          return;
        }
        const plan = sc.plan;
        const run = initialRun(plan, now());
        set({ screen: { kind: 'run' }, run, message: null });
        try {
          handle = backend.run(plan);
        } catch (e) {
          set({ run: { ...run, failure: errorText(e) } });
          return;
        }
        // fold into the current state: cancelRun changes it between events
        const fold = (f: (r: RunState) => RunState) => {
          const cur = get().run;
          if (cur) set({ run: f(cur) });
        };
        handle.on((e) => fold((r) => reduceRun(r, e)));
        handle.done.then(
          (summary) => fold((r) => (r.summary ? r : { ...r, summary })),
          (e) => fold((r) => ({ ...r, failure: errorText(e) })),
        );
      },
      cancelRun() {
        const r = get().run;
        if (get().screen.kind !== 'run' || !handle || !r || runFinished(r)) return false;
        if (!r.cancelling) {
          handle.cancel();
          // cancel() may have emitted events already: build on the state as it is now
          set((cur) => ({
            run: cur.run ? { ...cur.run, cancelling: true } : cur.run,
            message: {
              text: 'stopping safely: nothing new is frozen; containers in flight finish or roll back',
              level: 'warning',
            },
          }));
        } else say('already stopping: waiting for the containers in flight', 'warning');
        return true;
      },

      back() {
        const s = get();
        if (s.helpOpen) {
          set({ helpOpen: false });
          return;
        }
        const sc = s.screen;
        switch (sc.kind) {
          case 'main':
            if (s.filter) get().endFilter(false);
            else if (s.message) set({ message: null });
            return;
          case 'plan':
            dropPlan();
            set({
              screen: {
                kind: 'destination',
                candidates: s.hostOrder.filter((h) => !markedOrCurrentSources(s).has(h)),
                cursor: 0,
                strategy: sc.strategy,
                tcp: sc.tcp,
              },
            });
            return;
          case 'run': {
            if (!runFinished(s.run)) {
              say(keyed`a migration is running: ${'stop'} stops it safely`, 'warning');
              return;
            }
            // the migrated containers live elsewhere now: their marks no longer name anything
            handle = null;
            set({ screen: { kind: 'main' }, run: null, marked: new Set(), message: null });
            void get().refresh();
            return;
          }
          default:
            set({ screen: { kind: 'main' } });
        }
      },
      quit() {
        const s = get();
        if (s.screen.kind === 'run' && !runFinished(s.run)) {
          say(
            keyed`a migration is running: ${'stop'} stops it safely, then ${'back'} and ${'quit'}`,
            'warning',
          );
          return;
        }
        set({ quitRequested: true });
      },
      say,
    };

    function markedOrCurrentSources(s: AppState): Set<string> {
      const rows = markedRows(s);
      const cur = currentRow(s);
      return new Set((rows.length > 0 ? rows : cur ? [cur] : []).map((r) => r.host));
    }

    function planFor(to: string, strategy: Strategy, tcp: OutsideTcp) {
      const s = get();
      const rows = markedRows(s);
      const cur = currentRow(s);
      const members = (rows.length > 0 ? rows : cur ? [cur] : []).map(memberOf);
      dropPlan();
      const token = planToken;
      planAbort = new AbortController();
      set({
        screen: { kind: 'plan', to, strategy, tcp, offset: 0, status: 'planning', plan: null, error: null },
      });
      const options = { ...DEFAULT_OPTIONS, strategy, ...tcpOptions(tcp) };
      backend.plan({ members, to, options, signal: planAbort.signal }).then(
        (plan) => {
          if (token === planToken)
            set({
              screen: { kind: 'plan', to, strategy, tcp, offset: 0, status: 'ready', plan, error: null },
            });
        },
        (e) => {
          if (token === planToken)
            set({
              screen: {
                kind: 'plan',
                to,
                strategy,
                tcp,
                offset: 0,
                status: 'error',
                plan: null,
                error: errorText(e),
              },
            });
        },
      );
    }
  });
}
