import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const exampleDir = resolve(import.meta.dirname, '..')
const tsx = resolve(exampleDir, '../../node_modules/.bin/tsx')

let dataDir: string | undefined
afterAll(async () => {
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
})

async function demo(dir: string): Promise<string> {
  const { stdout } = await run(tsx, ['--conditions=source', 'src/main.ts', '--data', dir], {
    cwd: exampleDir,
    env: { ...process.env, DEMO_MESSAGES_PER_PHASE: '1000' },
    timeout: 90_000,
  })
  return stdout
}

describe('the embedded-cluster demo', () => {
  it('survives a leader stop and restart, consumes every acknowledged message, and finds its data on a second run', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'laminar-demo-'))
    const first = await demo(dataDir) // execFile rejects on a non-zero exit
    expect(first).toContain('(fresh)')
    expect(first).toMatch(/stopping n\d, the leader of partition 0/)
    expect(first).toContain('OK: every acknowledged message (3000) was consumed')
    const second = await demo(dataDir)
    expect(second).toContain('found data from a previous run on disk: topic "demo" holds 3000 messages')
    expect(second).toContain('OK: every acknowledged message (3000) was consumed')
  })
})
