// A host session that answers scripted commands: replayed answers captured
// from the real tools on the lab (test/fixtures/migrate/capture.ts), rules a
// test adds on top (a failing restore, a full disk), and the two ends of a
// relay stream (the sender emits bytes, the receiver hashes what arrives, and
// each answers `cat DIR/send.sum` / `cat DIR/recv.sum` with its own sha256,
// as the real scripts do). Nothing runs: every command is recorded.
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { JournalRecord } from '../../src/migrate/journal.ts';
import type { HostSession } from '../../src/migrate/types.ts';
import type { Plan } from '../../src/plan/migration.ts';
import type { ExecOptions, ExecResult, RemoteProcess } from '../../src/ssh/index.ts';

export interface CapturedExec {
  argv: string[];
  /** what was written to the command's stdin ('<stream>' for a stream) */
  stdin?: string;
  result: ExecResult;
}

/** One run on the lab, as capture.ts saw it. */
export interface MigrationCapture {
  capturedAt: string;
  runId: string;
  plan: Plan;
  /** by host: each exec in the order it was answered */
  hosts: Record<string, CapturedExec[]>;
  journal: JournalRecord[];
}

type Answer = ExecResult | ((argv: string[], opts: ExecOptions) => ExecResult | Promise<ExecResult>);

interface Rule {
  match: (argv: string[]) => boolean;
  answer: Answer;
  once: boolean;
}

export const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', code: 0, signal: null });
export const fails = (stderr: string, code = 125): ExecResult => ({ stdout: '', stderr, code, signal: null });

const keyOf = (argv: readonly string[]) => argv.join('\u0000');

/**
 * Commands that make or remove ferry's own temp dirs: they answer nothing a
 * driver reads, so a capture need not hold them exactly (how many mkdirs a
 * stage makes may change without a new capture).
 */
const isPlumbing = (argv: readonly string[]) =>
  (argv[0] === 'mkdir' && argv[1] === '-p') || (argv[0] === 'rm' && argv[1] === '-rf');
const joined = (argv: readonly string[]) => argv.join(' ');

/** Bytes the sender emits: the same for a given size, not all zeros. */
function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

export class ScriptedSession implements HostSession {
  readonly host: string;
  /** every command asked, in order (argv joined by spaces) */
  readonly calls: string[] = [];
  /** commands neither scripted nor captured */
  readonly unscripted: string[] = [];
  /** bytes each relay receiver took in, by its temp dir */
  readonly received = new Map<string, Buffer>();
  private readonly rules: Rule[] = [];
  private readonly replay = new Map<string, ExecResult[]>();
  private readonly sums = new Map<string, string>();
  private fallback: ExecResult;
  /** what a relay sender emits */
  streamBytes = 256 * 1024;
  /** how a relay sender exits once it has sent its bytes (a tar that failed: 2 and its message) */
  sendExit: { code: number; stderr?: string } = { code: 0 };
  /** a relay receiver that exits at once (no space, no directory) instead of reading */
  receiveFails: { code: number; stderr: string } | undefined;

  constructor(host: string, o: { fallback?: ExecResult } = {}) {
    this.host = host;
    this.fallback = o.fallback ?? { stdout: '', stderr: 'unscripted command', code: 127, signal: null };
  }

  /** Answers each of these commands as captured, once per capture, whatever the order they come in. */
  replayAll(captured: readonly CapturedExec[]): this {
    for (const c of captured) {
      const q = this.replay.get(keyOf(c.argv)) ?? [];
      q.push(c.result);
      this.replay.set(keyOf(c.argv), q);
    }
    return this;
  }

  /** A rule before the captures: for commands matching it (a RegExp on the argv joined by spaces). */
  on(match: RegExp | ((argv: string[]) => boolean), answer: Answer, o: { once?: boolean } = {}): this {
    const m = match instanceof RegExp ? (argv: string[]) => match.test(joined(argv)) : match;
    this.rules.unshift({ match: m, answer, once: o.once ?? false });
    return this;
  }

  /** Captured answers no command asked for (plumbing aside). */
  leftover(): string[] {
    return [...this.replay.entries()]
      .flatMap(([k, q]) => q.map(() => k.split('\u0000')))
      .filter((argv) => !isPlumbing(argv))
      .map(joined);
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push(joined(argv));
    const rule = this.rules.find((r) => r.match(argv));
    if (rule) {
      if (rule.once) this.rules.splice(this.rules.indexOf(rule), 1);
      return typeof rule.answer === 'function' ? rule.answer(argv, opts) : rule.answer;
    }
    const sum = /^cat (\S+)\/(send|recv)\.sum$/.exec(joined(argv));
    const q = this.replay.get(keyOf(argv));
    if (sum && this.sums.has(`${sum[1]}/${sum[2]}`)) {
      // the stream here is not the lab's: its hash is this one's (the captured answer is used up)
      q?.shift();
      return ok(`${this.sums.get(`${sum[1]}/${sum[2]}`)} *stdin\n`);
    }
    const captured = q?.shift();
    if (captured) return captured;
    if (isPlumbing(argv)) return ok();
    this.unscripted.push(joined(argv));
    return this.fallback;
  }

  /** The two ends of a relay stream (sh -c with the send or receive script); nothing else streams. */
  async spawn(argv: string[]): Promise<RemoteProcess> {
    this.calls.push(joined(argv));
    // a channel opens after a round trip: what the other end said meanwhile has arrived
    await new Promise((r) => setImmediate(r));
    const script = argv[0] === 'sh' && argv[1] === '-c' ? (argv[2] ?? '') : '';
    const send = /rm -f (\S+)\/send\.fifo/.exec(script)?.[1];
    const recv = /rm -f (\S+)\/recv\.fifo/.exec(script)?.[1];
    if (send) return this.sender(send);
    if (recv) return this.receiver(recv);
    this.unscripted.push(joined(argv));
    throw new Error(`${this.host}: unscripted stream ${joined(argv).slice(0, 80)}`);
  }

  private process(stderrText = ''): RemoteProcess & {
    stdout: PassThrough;
    stdin: PassThrough;
    settle: (code: number | null, signal?: string) => void;
  } {
    let settle!: (code: number | null, signal?: string) => void;
    const done = new Promise<{ code: number | null; signal: string | null }>((r) => {
      settle = (code, signal) => r({ code, signal: signal ?? null });
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    stderr.end(stderrText);
    return {
      stdout,
      stderr,
      stdin,
      done,
      settle,
      kill: (signal = 'TERM') => {
        stdout.destroy();
        stdin.destroy();
        settle(null, signal);
      },
    };
  }

  private sender(dir: string): RemoteProcess {
    const p = this.process(this.sendExit.stderr);
    const bytes = payload(this.streamBytes);
    this.sums.set(`${dir}/send`, createHash('sha256').update(bytes).digest('hex'));
    p.stdin.resume();
    setImmediate(() => {
      for (let at = 0; at < bytes.length; at += 64 * 1024) p.stdout.write(bytes.subarray(at, at + 64 * 1024));
      p.stdout.end(() => p.settle(this.sendExit.code));
    });
    return p;
  }

  private receiver(dir: string): RemoteProcess {
    const fails = this.receiveFails;
    const p = this.process(fails?.stderr);
    const chunks: Buffer[] = [];
    p.stdout.end();
    if (fails) {
      p.stdin.destroy();
      p.settle(fails.code);
      return p;
    }
    p.stdin.on('data', (c: Buffer) => chunks.push(c));
    p.stdin.on('end', () => {
      const all = Buffer.concat(chunks);
      this.received.set(dir, all);
      this.sums.set(`${dir}/recv`, createHash('sha256').update(all).digest('hex'));
      p.settle(0);
    });
    return p;
  }
}

/** A scripted session per host, each replaying what capture.ts saw there. */
export function replayHosts(capture: MigrationCapture, o: { fallback?: ExecResult } = {}) {
  const hosts = new Map<string, ScriptedSession>();
  for (const [name, calls] of Object.entries(capture.hosts))
    hosts.set(name, new ScriptedSession(name, o).replayAll(calls));
  const session = (name: string): ScriptedSession => {
    let s = hosts.get(name);
    if (!s) {
      s = new ScriptedSession(name, o);
      hosts.set(name, s);
    }
    return s;
  };
  return { hosts, session };
}
