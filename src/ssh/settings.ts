// What the SSH layer knows of a host before connecting, as `ssh -G` resolves
// it, and the questions only a person at the terminal can answer.

/** What the connection layer needs to know of a host, as `ssh -G` resolves it. */
export interface HostSettings {
  /** the name the user gave: an alias, or user@host:port of a jump */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** jump hosts in order, as written in ProxyJump; empty for none */
  proxyJump: string[];
  proxyCommand: string | undefined;
  connectTimeoutSec: number | undefined;
  serverAliveIntervalSec: number;
  serverAliveCountMax: number;
  connectionAttempts: number;
  strictHostKeyChecking: 'yes' | 'no' | 'ask' | 'accept-new' | 'off';
  hostKeyAlias: string | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hashKnownHosts: boolean;
  batchMode: boolean;
}

/** Resolves a host the way ssh would, including a jump spec like user@host:port. */
export type HostResolver = (spec: string) => Promise<HostSettings>;

/** Questions only an interactive session can answer. Absent in headless runs. */
export interface Prompter {
  confirmHostKey(q: { host: string; keyType: string; fingerprint: string }): Promise<boolean>;
  passphrase(q: { host: string; keyFile: string }): Promise<string | undefined>;
  password(q: { host: string; user: string }): Promise<string | undefined>;
  keyboardInteractive(q: {
    host: string;
    name: string;
    instructions: string;
    prompts: { prompt: string; echo: boolean }[];
  }): Promise<string[] | undefined>;
}
