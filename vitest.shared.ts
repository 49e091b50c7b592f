import { defineProject } from 'vitest/config'

// Tests run on src, never on dist: the `source` export condition points at the TypeScript entry.
const conditions = ['source', 'module', 'node', 'development|production']

export function projectConfig(name: string, options: { testTimeoutMs?: number } = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: options.testTimeoutMs ?? 30_000,
    },
  })
}
