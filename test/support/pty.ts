// A pseudo-terminal for end-to-end tests without native npm modules: python3's
// os.openpty runs the command on a real tty of a given size; its output comes
// back on a pipe, keys go in on another, and fd 3 carries resizes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Terminal } from '@xterm/headless';

const RELAY = String.raw`
import os, sys, select, struct, fcntl, termios, signal
cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
def winsize(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
master, slave = os.openpty()
winsize(slave, rows, cols)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.close(slave)
    os.closerange(3, 256)
    os.execvp(argv[0], argv)
os.close(slave)
inputs = [master, 0, 3]
ctl = b''
while True:
    r, _, _ = select.select(inputs, [], [])
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(master, data)
        else:
            inputs.remove(0)
    if 3 in r:
        data = os.read(3, 4096)
        if not data:
            inputs.remove(3)
        ctl += data
        while b'\n' in ctl:
            line, ctl = ctl.split(b'\n', 1)
            parts = line.decode().split()
            if parts[0] == 'resize':
                winsize(master, int(parts[1]), int(parts[2]))
                os.killpg(os.getpgid(pid), signal.SIGWINCH)
            elif parts[0] == 'signal':
                os.kill(pid, getattr(signal, parts[1]))
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface Pty {
  write(data: string): void;
  resize(columns: number, rows: number): void;
  signal(name: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): void;
  onData(listener: (chunk: string) => void): void;
  /** the command's exit code (128 + signal when a signal ended it) */
  exited: Promise<number>;
  child: ChildProcess;
}

export function spawnPty(
  argv: string[],
  opts: { columns?: number; rows?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Pty {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn(python, ['-c', RELAY, String(opts.columns ?? 80), String(opts.rows ?? 24), ...argv], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { TERM: 'xterm-256color', ...(opts.env ?? process.env) },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  child.stdout?.setEncoding('utf8');
  const control = child.stdio[3] as Writable;
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === null) reject(new Error(`pty relay died: ${stderr}`));
      else resolve(code);
    });
  });
  return {
    write: (data) => child.stdin?.write(data),
    resize: (columns, rows) => control.write(`resize ${rows} ${columns}\n`),
    signal: (name) => control.write(`signal ${name}\n`),
    onData: (l) => child.stdout?.on('data', l),
    exited,
    child,
  };
}

export type ScreenCheck = string | RegExp | ((text: string) => boolean);

/** What a headless xterm shows: its visible lines, and a wait until they show something. */
export function screenOf(term: Terminal) {
  const flush = () => new Promise<void>((r) => term.write('', r));
  const lines = () => {
    const b = term.buffer.active;
    return Array.from(
      { length: term.rows },
      (_, i) => b.getLine(b.viewportY + i)?.translateToString(true) ?? '',
    );
  };
  const text = () => lines().join('\n');
  return {
    flush,
    lines,
    text,
    async waitFor(what: ScreenCheck, timeoutMs: number, pollMs = 10): Promise<void> {
      const test =
        typeof what === 'function'
          ? what
          : typeof what === 'string'
            ? (t: string) => t.includes(what)
            : (t: string) => what.test(t);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await flush();
        if (test(text())) return;
        if (Date.now() > deadline)
          throw new Error(`the screen never showed ${String(what)}; it shows:\n${text()}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}
