// The common face of container runtimes. An adapter contributes sections to
// the host's batched probe script and turns their output into facts and
// inventory; it never runs anything itself, so a refresh of a host with both
// runtimes is still one round trip.
import type {
  Container,
  HostProblem,
  Image,
  Network,
  Pod,
  RuntimeFacts,
  RuntimeKind,
  Volume,
} from '../inventory/model.ts';
import type { Section, SectionResult } from './script.ts';

export interface RuntimeData {
  containers: Container[];
  images: Image[];
  networks: Network[];
  volumes: Volume[];
  pods: Pod[];
}

export interface RuntimeProbe {
  facts: RuntimeFacts;
  /**
   * null when the container list could not be read (the problems say why);
   * otherwise the data, possibly partial (then a warning says what is missing)
   */
  data: RuntimeData | null;
  problems: HostProblem[];
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /** the command as invoked on the host ('podman', or a configured path) */
  readonly binary: string;
  /** sections of the host's probe script that read this runtime's facts and inventory */
  probeSections(): Section[];
  /** turns the results of those sections into facts, inventory and problems */
  parseProbe(results: ReadonlyMap<string, SectionResult>, host: string): RuntimeProbe;
  /** sections of the fast probe: the runtime's own list command only */
  listSections(): Section[];
  /** containers (detail 'list') from those sections, memory by container id from the cgroups */
  parseList(
    results: ReadonlyMap<string, SectionResult>,
    host: string,
    memory: ReadonlyMap<string, number>,
  ): RuntimeProbe;
  /** sh snippet printing the host pid of a container's init process (0 when not running) */
  pidScript(idOrName: string): string;
}

export interface RuntimeOptions {
  /** the runtime's command on the host (default: its name, found on PATH) */
  binary?: string;
  /** a missing binary is an error, not a runtime the host simply does not have */
  required?: boolean;
}

export function emptyFacts(kind: RuntimeKind, status: RuntimeFacts['status'], reason: string): RuntimeFacts {
  return {
    kind,
    status,
    version: null,
    clientVersion: null,
    apiVersion: null,
    rootless: null,
    ociRuntime: null,
    experimental: null,
    dataRoot: null,
    checkpoint: { supported: false, reason },
  };
}
