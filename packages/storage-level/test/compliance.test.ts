import { join } from 'node:path'
import { storageComplianceSuite } from '@laminar-ts/core/testing'
import { ClassicLevel } from 'classic-level'
import { afterAll, beforeAll } from 'vitest'
import { LevelStorage, openMemoryLevelStorage } from '../src/index'
import { makeTempDir } from './temp-dir'

let root: { path: string; remove: () => Promise<void> }
let counter = 0
beforeAll(async () => {
  root = await makeTempDir('compliance')
})
afterAll(async () => {
  await root.remove()
})

storageComplianceSuite({
  name: 'classic-level',
  // Unopened on purpose, so the suite also checks STORAGE_NOT_OPEN.
  factory: (location) =>
    new LevelStorage(
      new ClassicLevel<Uint8Array, Uint8Array>(join(root.path, location ?? `db-${counter++}`), {
        keyEncoding: 'view',
        valueEncoding: 'view',
      }),
      { supports: { persistent: true, sync: true } },
    ),
})

storageComplianceSuite({ name: 'memory-level', factory: () => openMemoryLevelStorage() })
