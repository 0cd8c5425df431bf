// The help text, apart from the commands: `ferry --help` and `--version` are
// answered by the entry (index.ts) without loading the rest of ferry.
import { VERSION } from './version.ts';

/** A command line ferry cannot act on: printed with a pointer to --help, exit code 1. */
export class UsageError extends Error {}

export const USAGE = `ferry ${VERSION}: live-migrate groups of containers between hosts over SSH with CRIU

Usage:
  ferry [-F file] [--hosts H,...]       open the terminal UI
  ferry --plan GROUP DEST [--json]      show what a migration would do (headless)
  ferry migrate GROUP DEST --yes        live-migrate the group (headless)
  ferry recover [--journal FILE]        settle runs interrupted by a crash or a lost link
  ferry hosts [--json]                  the hosts, reachable or not, with their runtimes
  ferry ps [--json]                     every container on every host
  ferry ssh-config resolve HOST         show how ferry resolves HOST from the ssh config
  ferry --version | --help

GROUP is one of:
  --containers H:NAME,...    host:name or host:podman/name, comma-separated
  --group NAME               a saved group ($XDG_CONFIG_HOME/ferry/groups.yaml)
  --compose-project P --host H   every container of compose project P on host H
DEST is --to HOST, and/or --map H:NAME=HOST,... for members that go elsewhere.

Options:
  -F <file>                  ssh config file, replacing ~/.ssh/config and /etc/ssh/ssh_config (as ssh -F)
  -J <[user@]host[:port],..> reach every host through these jump hosts (as ssh -J)
  --hosts H,...              the hosts to show (default: ferry's config.yaml, else the ssh config's hosts)
  --strategy S               auto | pipelined | sequential | parallel (default auto)
  --compress C               auto | none | zstd (default auto: by measured link speed)
  --restore-path P           auto | precreate | import (podman)
  --transfer T               relay (default: through ferry) | direct (the source sends with its own ssh) | auto
  --keep-source              keep the stopped source container
  --allow NAME,...           let the copy have settings that reach beyond the container (refused
                             otherwise): privileged, host-network, host-pid, host-ipc, host-uts,
                             host-userns, devices, hooks, unconfined, cap:NAME or caps,
                             bind:/PATH or binds (host system paths), option:NAME (e.g. option:log-opt)
  --consistent-cut           pause every member before checkpointing any (more downtime, no item in flight lost)
  --tcp-established          keep TCP connections to peers outside the group (they must still reach the address)
  --tcp-close                close TCP connections to peers outside the group on restore (the application reconnects)
  --new-address              a member whose address is taken on the destination takes a new one
  --events ndjson            migrate: every engine event as a JSON line on stdout
  --json                     machine-readable output (--plan, hosts, ps, ssh-config)
  --yes                      migrate: do it (refused without)
  --debug                    stack traces with errors
  -h, --help                 show this help
  -V, --version              show the version

Exit codes: 0 done, 1 error (bad input, unreachable host), 2 preflight blockers (nothing touched),
4 some containers rolled back (each runs on its source again), 5 some need attention.

Examples:
  ferry -F /var/lib/ferry-lab/ssh_config --hosts alpha,beta,gamma
  ferry --plan --compose-project wf --host alpha --to beta
  ferry --plan --containers alpha:wf-sink-1,alpha:wf-parse-1 --to beta --json | jq .predicted
  ferry migrate --group web-pipeline --yes
  ferry migrate --containers alpha:wf-sink-1 --to beta --yes --events ndjson | jq -c .
  ferry migrate --containers db1:pg --to db2 -J admin@bastion:2222 --yes
  ferry ps --json | jq -r '.containers[] | select(.state=="running") | .name'
  ferry recover -F ~/.ssh/config
`;

/** What argv alone answers, without loading ferry's commands; null for anything else. */
export function quickAnswer(argv: readonly string[]): string | null {
  if (argv.length !== 1) return null;
  const [a] = argv;
  if (a === '--version' || a === '-V') return `ferry ${VERSION}\n`;
  if (a === '--help' || a === '-h') return USAGE;
  return null;
}
