// Key presses to store actions, through the keymap. Text prompts (the filter,
// a group's name) take printable keys themselves.
import type { Key } from 'ink';
import type { AppState, AppStore } from '../store/store.ts';
import { withoutControls } from './format.ts';
import { type Command, commandFor, type KeyContext } from './keymap.ts';

export function contextOf(s: AppState): KeyContext {
  if (s.filterEditing || s.screen.kind === 'save') return 'input';
  switch (s.screen.kind) {
    case 'main':
      return 'main';
    case 'plan':
      return 'plan';
    case 'run':
      return 'run';
    default:
      return 'list';
  }
}

/** Edits a one-line text field; true when the key was one for the field. */
function editText(value: string, input: string, key: Key, set: (v: string) => void): boolean {
  if (key.backspace || key.delete) {
    set([...value].slice(0, -1).join(''));
    return true;
  }
  if (key.ctrl && input === 'u') {
    set('');
    return true;
  }
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow)
    return false;
  // printable text only (a paste may bring several characters)
  const text = withoutControls(input);
  if (!text) return false;
  set(value + text);
  return true;
}

export function handleKey(store: AppStore, input: string, key: Key, pageRows: number): void {
  const s = store.getState();
  if (s.helpOpen) {
    if (key.escape || input === '?') s.toggleHelp();
    else if (input === 'q' || (key.ctrl && input === 'c')) {
      // help over a running migration: ctrl-c still stops it
      if (!(key.ctrl && s.cancelRun())) s.quit();
    }
    return;
  }
  const context = contextOf(s);
  if (context === 'input') {
    const sc = s.screen;
    if (key.ctrl && input === 'c') {
      s.quit();
      return;
    }
    if (key.escape) {
      if (sc.kind === 'save') s.back();
      else s.endFilter(false);
      return;
    }
    if (key.return) {
      if (sc.kind === 'save') void s.submitSave();
      else s.endFilter(true);
      return;
    }
    if (sc.kind === 'save') editText(sc.input, input, key, s.setInput);
    else editText(s.filter, input, key, s.setFilter);
    return;
  }
  const command = commandFor(context, input, key);
  if (command) run(store, command, pageRows);
}

export function run(store: AppStore, command: Command, pageRows: number): void {
  const s = store.getState();
  const inList = s.screen.kind === 'destination' || s.screen.kind === 'groups' || s.screen.kind === 'plan';
  const half = Math.max(1, Math.floor(pageRows / 2));
  const actions: Record<Command, () => unknown> = {
    down: () => (inList ? s.listMove(1) : s.move(1)),
    up: () => (inList ? s.listMove(-1) : s.move(-1)),
    top: () => s.moveTo(0),
    bottom: () => s.moveTo(Number.MAX_SAFE_INTEGER),
    'half-down': () => s.move(half),
    'half-up': () => s.move(-half),
    filter: s.startFilter,
    mark: s.toggleMark,
    'mark-group': s.markGroup,
    'clear-marks': s.clearMarks,
    refresh: s.refresh,
    hosts: s.showHosts,
    'save-group': s.startSave,
    'open-groups': s.openGroups,
    migrate: s.startMigrate,
    select: () => (s.screen.kind === 'destination' ? s.pickDestination() : s.applyGroup()),
    strategy: s.cycleStrategy,
    confirm: s.confirmRun,
    // after the run, ctrl-c quits as everywhere else
    stop: () => s.cancelRun() || s.quit(),
    back: s.back,
    help: s.toggleHelp,
    quit: s.quit,
  };
  // actions that do I/O return promises; the store reports their failures itself
  void actions[command]();
}
