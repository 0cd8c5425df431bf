// What a person can ask of the TUI, by name. The UI's keymap binds keys to
// these (src/ui/keymap.ts); the store names them in its messages, and the UI
// shows their keys there, so a message cannot name a key the keymap lacks.

export type Command =
  | 'down'
  | 'up'
  | 'top'
  | 'bottom'
  | 'half-down'
  | 'half-up'
  | 'filter'
  | 'mark'
  | 'mark-group'
  | 'clear-marks'
  | 'refresh'
  | 'hosts'
  | 'save-group'
  | 'open-groups'
  | 'migrate'
  | 'help'
  | 'quit'
  | 'select'
  | 'back'
  | 'strategy'
  | 'tcp'
  | 'confirm'
  | 'details'
  | 'stop'
  | 'close-help';

/** A command named in a message: the UI shows its key. */
export interface KeyOf {
  key: Command;
}

/** A message's text: plain, or text and the commands whose keys it names. */
export type MessageText = string | readonly (string | KeyOf)[];

/** Text naming the keys of commands: keyed`press ${'stop'} to stop` */
export function keyed(parts: TemplateStringsArray, ...commands: Command[]): MessageText {
  return parts.flatMap((p, i) => {
    const c = commands[i];
    return c === undefined ? [p] : [p, { key: c }];
  });
}
