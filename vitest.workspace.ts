import { defineConfig } from 'vitest/config'

// The root Vitest config: every package is a project. Run with
// `vitest run --config vitest.workspace.ts` (Vitest 4 no longer reads this file by name).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
})
