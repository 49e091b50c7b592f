import { openMemoryLevelStorage, SYNC_MARKER_KEY } from '@laminar-ts/storage-level'
import { describe, expect, it, vi } from 'vitest'
import { KeyKind, LogKeys } from '../../src/log/keys'
import { storedGroupIds } from '../../src/log/stored-group-ids'

describe('storedGroupIds', () => {
  it('lists each group once, in key order, one seek per group, paging by groupsMax', async () => {
    const storage = await openMemoryLevelStorage()
    const ids = ['controller', 'p/1/0', 'p/1/1', 'p/10/0', 'b']
    for (const id of ids) {
      const keys = new LogKeys(id)
      await storage.write([
        { type: 'put', key: keys.single(KeyKind.hardState), value: Uint8Array.of(1) },
        ...Array.from({ length: 50 }, (_, i) => ({
          type: 'put' as const,
          key: keys.indexed(KeyKind.entry, i + 1),
          value: Uint8Array.of(i),
        })),
      ])
    }
    // A storage's own reserved key sorts after every group and is not one.
    await storage.write([{ type: 'put', key: SYNC_MARKER_KEY, value: Uint8Array.of(0) }])
    const range = vi.spyOn(storage, 'range')

    const first = await storedGroupIds(storage, { groupsMax: 3 })
    expect(first.groupIds).toEqual(['b', 'p/1/0', 'p/1/1'])
    expect(first.next).toBeDefined()
    const second = await storedGroupIds(storage, { groupsMax: 3, from: first.next })
    expect(second.groupIds).toEqual(['p/10/0', 'controller'])
    expect(second.next).toBeUndefined()
    // 3 seeks for the first page, 2 plus the one that found the reserved key for the second.
    expect(range).toHaveBeenCalledTimes(6)
    for (const [options] of range.mock.calls) expect(options?.limit).toBe(1)
    await storage.close()
  })

  it('finds nothing in empty storage', async () => {
    const storage = await openMemoryLevelStorage()
    expect(await storedGroupIds(storage, { groupsMax: 10 })).toEqual({ groupIds: [], next: undefined })
    await storage.close()
  })
})
