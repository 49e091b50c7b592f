#!/usr/bin/env node
// Runs every Vitest project once, with the default reporter for people and the JSON
// reporter for CI, then prints the plain closing line CI reads: `N passed, M failed`.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarize } from './test-summary.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const reportPath = join(root, '.ci', 'vitest-report.json')
mkdirSync(dirname(reportPath), { recursive: true })
rmSync(reportPath, { force: true })

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const result = spawnSync(
  process.execPath,
  [
    vitest,
    'run',
    '--config',
    'vitest.workspace.ts',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportPath}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
)

let { passed, failed } = summarize(reportPath)
if (result.status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1)
