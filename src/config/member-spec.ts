// How a person names a container on the command line and in groups.yaml:
// `host:name`, or `host:runtime/name` when both runtimes on the host have a
// container of that name. One parser for --containers and saved groups.
import type { RuntimeKind } from '../inventory/model.ts';

export interface MemberSpec {
  host: string;
  /** absent: whichever runtime has the container (found when it is used) */
  runtime?: RuntimeKind;
  name: string;
}

const MEMBER_RE = /^([^:]+):(?:(podman|docker)\/)?(.+)$/;

/** `host:name` or `host:runtime/name`; null when the text is neither. */
export function parseMemberSpec(spec: string): MemberSpec | null {
  const m = MEMBER_RE.exec(spec);
  if (!m) return null;
  const [, host = '', runtime, name = ''] = m;
  return runtime === undefined ? { host, name } : { host, runtime: runtime as RuntimeKind, name };
}

export function formatMemberSpec(m: MemberSpec): string {
  return `${m.host}:${m.runtime ? `${m.runtime}/` : ''}${m.name}`;
}

/** Whether two specs can name the same container: a spec without a runtime matches either. */
export function sameMember(a: MemberSpec, b: MemberSpec): boolean {
  return a.host === b.host && a.name === b.name && (!a.runtime || !b.runtime || a.runtime === b.runtime);
}
