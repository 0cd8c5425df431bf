import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/unit/**/*.test.tsx'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // the lab's workloads run with --network host (the lab host's network namespace): the
          // operator allows it, as a user of such a stack would (test/integration/hostile.test.ts
          // runs without it and sees the refusal)
          env: { FERRY_ALLOW: 'host-network' },
          globalSetup: ['test/integration/global-setup.ts'],
          // lab hosts are shared state: one file at a time
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env: { FERRY_ALLOW: 'host-network' },
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'teardown',
          include: ['test/teardown/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
        },
      },
    ],
  },
});
