import { projectConfig } from '../../vitest.shared'

export default projectConfig('example-embedded-cluster', { testTimeoutMs: 120_000 })
