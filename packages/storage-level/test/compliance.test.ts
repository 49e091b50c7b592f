import { join } from 'node:path'
import { storageComplianceSuite } from '@laminar-ts/core/testing'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
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

// Any abstract-level database will do, a sublevel included (its keys live under a prefix).
storageComplianceSuite({
  name: 'memory-level sublevel',
  factory: () => {
    const parent = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
    const sublevel = parent.sublevel<Uint8Array, Uint8Array>('laminar', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    })
    return new LevelStorage(sublevel, { supports: { persistent: false, sync: false }, sharesBuffers: true })
  },
})
