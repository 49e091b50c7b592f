#!/usr/bin/env node
// publint and @arethetypeswrong/cli over every built package; exits non-zero on any problem.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
let failures = 0
for (const dir of readdirSync(join(root, 'packages'))) {
  const cwd = join(root, 'packages', dir)
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
  ]) {
    console.log(`\n== ${tool} ${dir}`)
    const result = spawnSync(bin(tool), args, { cwd, stdio: 'inherit' })
    if (result.status !== 0) failures++
  }
}
console.log(failures === 0 ? '\ncheck:packages: no problems' : `\ncheck:packages: ${failures} failed`)
process.exit(failures === 0 ? 0 : 1)
