// Containers for plan tests: the inventory's shape, with defaults.
import { composeFromLabels } from '../../../src/inventory/compose.ts';
import type { Container } from '../../../src/inventory/model.ts';

export function mk(
  name: string,
  over: Partial<Container> & { labels?: Record<string, string> } = {},
): Container {
  const labels = over.labels ?? {};
  return {
    host: 'h1',
    runtime: 'podman',
    id: `${name.replace(/[^a-z0-9]/g, '')}${'0'.repeat(64)}`.slice(0, 64),
    name,
    image: { name: 'localhost/img:latest', id: 'a'.repeat(64), digest: null },
    state: 'running',
    pid: 100,
    created: '2026-01-01T00:00:00Z',
    restartPolicy: { name: 'no', maxRetries: 0 },
    ports: [],
    networkMode: 'bridge',
    networks: [],
    mounts: [],
    devices: [],
    gpus: false,
    privileged: false,
    pod: null,
    memoryBytes: 64 * 1024 * 1024,
    dependencies: [],
    ...over,
    labels,
    compose: over.compose !== undefined ? over.compose : composeFromLabels(labels),
  };
}

/** A compose service container: project p, service s, depends_on "a,b". */
export function svc(
  project: string,
  service: string,
  dependsOn = '',
  over: Partial<Container> = {},
): Container {
  const labels: Record<string, string> = {
    'com.docker.compose.project': project,
    'com.docker.compose.service': service,
  };
  if (dependsOn) labels['com.docker.compose.depends_on'] = dependsOn;
  return mk(`${project}-${service}-1`, { ...over, labels });
}
