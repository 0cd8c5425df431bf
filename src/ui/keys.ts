// Key presses to store actions, through the keymap. Text prompts (the filter,
// a group's name) take printable keys themselves.
import type { Key } from 'ink';
import type { AppState, AppStore } from '../store/store.ts';
import { withoutControls } from '../text/sanitize.ts';
import { type Command, commandFor, type KeyContext } from './keymap.ts';

export function contextOf(s: AppState): KeyContext {
  if (s.helpOpen) return 'help';
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

/** A key press with nothing but a character (or enter, or tab): how each key of a typed-ahead burst is read. */
function plainKey(key: Key, char: string): Key {
  const none = Object.fromEntries(Object.keys(key).map((k) => [k, false])) as unknown as Key;
  return { ...none, shift: /[A-Z]/.test(char), return: char === '\r' || char === '\n', tab: char === '\t' };
}

/**
 * A key press, or several: over a slow link a person types ahead, and the
 * terminal delivers `/mysql` (or `/mysql` and enter) as one chunk. Each key
 * is read against the state the one before it left (not against what is on
 * screen), so the keys after `/` go to the filter even before its prompt is
 * drawn.
 */
export function handleKey(store: AppStore, input: string, key: Key, pageRows: number): void {
  const chars = [...input];
  if (chars.length > 1 && !key.ctrl && !key.meta && !input.includes('\x1b')) {
    for (let i = 0; i < chars.length; ) {
      const c = chars[i] as string;
      const s = store.getState();
      if (withoutControls(c) === c && contextOf(s) === 'input') {
        // a prompt takes the text up to the next enter at once, as a paste
        let j = i;
        while (j < chars.length && withoutControls(chars[j] as string) === chars[j]) j++;
        handleOne(store, chars.slice(i, j).join(''), plainKey(key, ''), pageRows);
        i = j;
        continue;
      }
      if (withoutControls(c) === c || c === '\r' || c === '\n' || c === '\t')
        handleOne(store, withoutControls(c), plainKey(key, c), pageRows);
      i++;
    }
    return;
  }
  handleOne(store, input, key, pageRows);
}

function handleOne(store: AppStore, input: string, key: Key, pageRows: number): void {
  const s = store.getState();
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
    tcp: s.cycleTcp,
    confirm: s.confirmRun,
    details: s.togglePlanDetails,
    // after the run, ctrl-c quits as everywhere else
    stop: () => s.cancelRun() || s.quit(),
    back: s.back,
    help: s.toggleHelp,
    'close-help': s.toggleHelp,
    quit: s.quit,
  };
  // actions that do I/O return promises; the store reports their failures itself
  void actions[command]();
}
