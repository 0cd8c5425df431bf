// Compose labels, as docker compose and podman-compose put them on containers.
import type { ComposeInfo, DependsOn } from './model.ts';

export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';
export const COMPOSE_DEPENDS_ON = 'com.docker.compose.depends_on';
export const COMPOSE_WORKING_DIR = 'com.docker.compose.project.working_dir';
// podman-compose's own labels
const PODMAN_COMPOSE_PROJECT = 'io.podman.compose.project';

/**
 * Parses `com.docker.compose.depends_on`: comma-separated `service:condition:restart`
 * entries (compose v2), or bare service names (older writers). Never throws:
 * empty entries are skipped, a missing condition means service_started.
 */
export function parseDependsOn(label: string): DependsOn[] {
  const out: DependsOn[] = [];
  const seen = new Set<string>();
  for (const raw of label.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [service = '', condition = '', restart = ''] = entry.split(':').map((p) => p.trim());
    if (service === '' || seen.has(service)) continue;
    seen.add(service);
    out.push({
      service,
      condition: condition === '' ? 'service_started' : condition,
      restart: restart.toLowerCase() === 'true',
    });
  }
  return out;
}

export function formatDependsOn(deps: readonly DependsOn[]): string {
  return deps.map((d) => `${d.service}:${d.condition}:${d.restart}`).join(',');
}

export function composeFromLabels(labels: Record<string, string>): ComposeInfo | null {
  const project = labels[COMPOSE_PROJECT] ?? labels[PODMAN_COMPOSE_PROJECT];
  if (!project) return null;
  return {
    project,
    service: labels[COMPOSE_SERVICE] ?? '',
    workingDir: labels[COMPOSE_WORKING_DIR] ?? null,
    dependsOn: parseDependsOn(labels[COMPOSE_DEPENDS_ON] ?? ''),
  };
}
