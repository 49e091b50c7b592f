import { isLaminarError, type LaminarError, SegmentedLog } from '@laminar-ts/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openClassicLevelStorage, openMemoryLevelStorage, SYNC_MARKER_KEY } from '../src/index'
import { makeTempDir } from './temp-dir'

describe('LevelStorage', () => {
  let dir: { path: string; remove: () => Promise<void> }
  beforeEach(async () => {
    dir = await makeTempDir('level')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('reports a database locked by another store as STORAGE_FAILED with the level code', async () => {
    const first = await openClassicLevelStorage(dir.path)
    try {
      const error = (await openClassicLevelStorage(dir.path).catch((e: unknown) => e)) as LaminarError
      expect(isLaminarError(error, 'STORAGE_FAILED')).toBe(true)
      expect(error.details?.['levelCode']).toBe('LEVEL_DATABASE_NOT_OPEN')
      expect(error.cause).toBeInstanceOf(Error)
    } finally {
      await first.close()
    }
  })

  it('an empty synced write leaves no key behind', async () => {
    const storage = await openClassicLevelStorage(dir.path)
    await storage.write([], { sync: true })
    expect(await storage.range()).toEqual([])
    expect(await storage.get(SYNC_MARKER_KEY)).toBeUndefined()
    await storage.close()
  })

  it('runs the README example', async () => {
    const storage = await openClassicLevelStorage(dir.path)
    await storage.write(
      [
        { type: 'put', key: Uint8Array.of(1, 0), value: Uint8Array.of(42) },
        { type: 'put', key: Uint8Array.of(1, 1), value: Uint8Array.of(43) },
      ],
      { sync: true },
    )
    const rows = await storage.range({ gte: Uint8Array.of(1), lt: Uint8Array.of(2), limit: 10 })
    expect(rows.length).toBe(2)
    const log = await SegmentedLog.open(storage, 'orders/0')
    await log.persist(
      {
        entries: [{ index: 1, term: 1, type: 'normal', data: new TextEncoder().encode('hello') }],
        hardState: { term: 1, vote: 'n1', commit: 1 },
        timestampMs: Date.now(),
      },
      { sync: true },
    )
    expect(log.lastIndex()).toBe(1)
    await storage.close()
  })

  it('memory-level backs a SegmentedLog too', async () => {
    const storage = await openMemoryLevelStorage()
    const log = await SegmentedLog.open(storage, 'p')
    await log.persist({
      entries: [{ index: 1, term: 1, type: 'normal', data: Uint8Array.of(1) }],
      timestampMs: 0,
    })
    const reopened = await SegmentedLog.open(storage, 'p')
    expect(await reopened.readEntries(1, 2, 100)).toEqual([
      { index: 1, term: 1, type: 'normal', data: Uint8Array.of(1) },
    ])
    await storage.close()
  })

  it('memory-level copies what it is given unless the write adopts it', async () => {
    const storage = await openMemoryLevelStorage()
    const copied = Uint8Array.of(1, 2, 3)
    const adopted = Uint8Array.of(4, 5, 6)
    await storage.write([{ type: 'put', key: Uint8Array.of(1), value: copied }])
    await storage.write([{ type: 'put', key: Uint8Array.of(2), value: adopted }], { adopt: true })
    copied.fill(0)
    expect(await storage.get(Uint8Array.of(1))).toEqual(Uint8Array.of(1, 2, 3))
    expect(await storage.get(Uint8Array.of(2))).toEqual(Uint8Array.of(4, 5, 6))
    // Adopted bytes are the database's own now (no private copy): a caller that broke the
    // contract and wrote into them would be seen, which is why the log encodes into fresh buffers.
    adopted.fill(9)
    expect(await storage.get(Uint8Array.of(2))).toEqual(Uint8Array.of(9, 9, 9))
    await storage.close()
  })

  it('memory-level hands a borrowing range its own arrays and a plain range copies', async () => {
    const storage = await openMemoryLevelStorage()
    const stored = Uint8Array.of(4, 5, 6)
    await storage.write([{ type: 'put', key: Uint8Array.of(2), value: stored }], { adopt: true })
    const [borrowed] = await storage.range({ borrow: true, limit: 1 })
    const [plain] = await storage.range({ limit: 1 })
    expect(borrowed!.value.buffer).toBe(stored.buffer)
    expect(plain!.value.buffer).not.toBe(stored.buffer)
    expect(plain!.value).toEqual(Uint8Array.of(4, 5, 6))
    await storage.close()
  })
})
