// Authentication in OpenSSH's order: the agent, the identity files (asking
// for a passphrase, or SSH_ASKPASS when headless), then keyboard-interactive
// and password when a person is there; the failure names what was tried.
import { spawn as spawnProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { AnyAuthMethod, AuthenticationType, ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';
import { SshError } from './errors.ts';
import type { HostSettings, Prompter } from './settings.ts';

const { utils } = ssh2;

/** OpenSSH's order: agent, identity files, then keyboard-interactive and password when a person is there. */
export class AuthSequence {
  private readonly steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  private readonly notes: string[] = [];

  private readonly s: HostSettings;
  private readonly prompter: Prompter | undefined;

  constructor(s: HostSettings, prompter: Prompter | undefined, env: NodeJS.ProcessEnv) {
    this.s = s;
    this.prompter = prompter;
    const user = s.user;
    const agent = env.SSH_AUTH_SOCK;
    if (agent && !s.identitiesOnly) {
      this.steps.push(async () => {
        this.notes.push('ssh-agent');
        return { type: 'agent', username: user, agent };
      });
    }
    for (const file of s.identityFiles) {
      this.steps.push(async () => this.keyFile(file, env));
    }
    if (prompter && !s.batchMode) {
      this.steps.push(async () => {
        this.notes.push('keyboard-interactive');
        return {
          type: 'keyboard-interactive',
          username: user,
          prompt: (name, instructions, _lang, prompts, finish) => {
            prompter
              .keyboardInteractive({
                host: s.alias,
                name,
                instructions,
                prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo ?? false })),
              })
              .then((answers) => finish(answers ?? []))
              .catch(() => finish([]));
          },
        };
      });
      this.steps.push(async () => {
        const password = await prompter.password({ host: s.alias, user });
        if (password === undefined) return undefined;
        this.notes.push('password');
        return { type: 'password', username: user, password };
      });
    }
  }

  async next(_methodsLeft: AuthenticationType[] | null): Promise<AnyAuthMethod | false> {
    while (this.steps.length > 0) {
      const step = this.steps.shift();
      const method = await step?.();
      if (method) return method;
    }
    return false;
  }

  failure(): SshError {
    const tried = this.notes.length > 0 ? this.notes.join(', ') : 'nothing (no agent, no usable key)';
    return new SshError(
      'AUTH_FAILED',
      this.s.alias,
      `permission denied for ${this.s.user}@${this.s.hostName}; tried: ${tried}`,
      {
        hint: 'check IdentityFile and the server authorized_keys, or load the key into ssh-agent',
      },
    );
  }

  private async keyFile(file: string, env: NodeJS.ProcessEnv): Promise<AnyAuthMethod | undefined> {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      return undefined; // ssh skips identity files that do not exist
    }
    let parsed = utils.parseKey(data);
    if (parsed instanceof Error && /encrypted|passphrase/i.test(parsed.message)) {
      const passphrase = await this.passphraseFor(file, env);
      if (passphrase === undefined) {
        this.notes.push(
          `${file} (encrypted; no passphrase: interactive prompt, ssh-agent, or SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force)`,
        );
        return undefined;
      }
      parsed = utils.parseKey(data, passphrase);
      if (parsed instanceof Error) {
        this.notes.push(`${file} (wrong passphrase)`);
        return undefined;
      }
    }
    if (parsed instanceof Error) {
      this.notes.push(`${file} (unreadable key: ${parsed.message})`);
      return undefined;
    }
    const key: ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key) return undefined;
    this.notes.push(file);
    return { type: 'publickey', username: this.s.user, key };
  }

  private async passphraseFor(file: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
    if (this.prompter && !this.s.batchMode)
      return this.prompter.passphrase({ host: this.s.alias, keyFile: file });
    // headless: OpenSSH's own non-interactive route
    if (env.SSH_ASKPASS && env.SSH_ASKPASS_REQUIRE === 'force')
      return askpass(env.SSH_ASKPASS, `Enter passphrase for key '${file}': `);
    return undefined;
  }
}

function askpass(program: string, prompt: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawnProcess(program, [prompt], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) =>
      resolve(
        code === 0
          ? Buffer.concat(out)
              .toString('utf8')
              .replace(/\r?\n$/, '')
          : undefined,
      ),
    );
  });
}
