#!/usr/bin/env node
// Counts a Vitest JSON report as `N passed, M failed`. A test file that failed to load (so has no
// failed test of its own) counts as one failure, so a broken import can never read as green.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export function summarize(reportPath) {
  if (!existsSync(reportPath)) return { passed: 0, failed: 1 }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'))
  let failed = report.numFailedTests ?? 0
  for (const file of report.testResults ?? []) {
    const failedInFile = (file.assertionResults ?? []).filter((a) => a.status === 'failed').length
    if (file.status === 'failed' && failedInFile === 0) failed++
  }
  return { passed: report.numPassedTests ?? 0, failed }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { passed, failed } = summarize(process.argv[2] ?? '.ci/vitest-report.json')
  console.log(`${passed} passed, ${failed} failed`)
}
