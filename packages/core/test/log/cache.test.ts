import { describe, expect, it } from 'vitest'
import { isLaminarError } from '../../src/errors/laminar-error'
import { type EntriesLoadedEvent, SegmentedLog } from '../../src/log/index'
import { RaftLogError } from '../../src/raft/types'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

/** 100 bytes of data + the 33-byte record header per cached entry. */
const CACHED_ENTRY_BYTES = 133

function nextLoad(log: SegmentedLog): Promise<EntriesLoadedEvent> {
  return new Promise((resolve) => {
    const off = log.onEntriesLoaded((event) => {
      off()
      resolve(event)
    })
  })
}

function raftError(run: () => unknown): RaftLogError {
  try {
    run()
  } catch (error) {
    if (error instanceof RaftLogError) return error
    throw error
  }
  throw new Error('expected a RaftLogError')
}

describe('SegmentedLog: entry cache', () => {
  it('keeps the cache under entryCacheBytesMax once writes land', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      entryCacheBytesMax: CACHED_ENTRY_BYTES * 10,
    })
    await log.persist({ entries: makeEntries(1, 50, 1, 100), timestampMs: 0 })
    expect(log.cachedBytes()).toBeLessThanOrEqual(CACHED_ENTRY_BYTES * 10)
    expect(log.entries(41, 51, 1 << 20).map((e) => e.index)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50])
  })

  it('keeps entries from retainFrom on past entryCacheBytesMax, up to entryCacheRetainedBytesMax', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      entryCacheBytesMax: CACHED_ENTRY_BYTES * 10,
      entryCacheRetainedBytesMax: CACHED_ENTRY_BYTES * 30,
    })
    // Applied through 20: 21..50 are still to be applied, 30 entries, within the retained bound.
    log.retainFrom(21)
    await log.persist({ entries: makeEntries(1, 50, 1, 100), timestampMs: 0 })
    expect(log.cachedBytes()).toBe(CACHED_ENTRY_BYTES * 30)
    expect(log.entries(21, 51, 1 << 20).map((e) => e.index)).toEqual(
      Array.from({ length: 30 }, (_, i) => 21 + i),
    )
    // Apply moves on: the cache shrinks back to its bound at once.
    log.retainFrom(46)
    expect(log.cachedBytes()).toBe(CACHED_ENTRY_BYTES * 10)
    expect(log.entries(41, 51, 1 << 20).length).toBe(10)
    // More unapplied entries than the retained bound: the oldest go anyway, the bound holds.
    log.retainFrom(1)
    await log.persist({ entries: makeEntries(51, 100, 1, 100), timestampMs: 0 })
    expect(log.cachedBytes()).toBe(CACHED_ENTRY_BYTES * 30)
    expect(log.entries(71, 101, 1 << 20).length).toBe(30)
  })

  it('throws temporarilyUnavailable on a miss, loads in the background and then serves', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      entryCacheBytesMax: CACHED_ENTRY_BYTES * 10,
    })
    await log.persist({ entries: makeEntries(1, 50, 1, 100), timestampMs: 0 })
    const loaded = nextLoad(log)
    expect(raftError(() => log.entries(3, 51, 1000)).kind).toBe('temporarilyUnavailable')
    // A second miss on the same range does not start a second load.
    expect(raftError(() => log.entries(4, 51, 1000)).kind).toBe('temporarilyUnavailable')
    const event = await loaded
    expect(event).toMatchObject({ groupId: 'p0', lo: 3 })
    expect(event.error).toBeUndefined()
    expect(event.hi).toBeGreaterThan(3)
    expect(log.entries(3, 51, 1000)[0]).toEqual(makeEntries(3, 3, 1, 100)[0])
    // A lagging follower catches up load by load, as Raft retries after each wake-up.
    const seen: number[] = []
    let next = 3
    while (next <= 50) {
      try {
        const entries = log.entries(next, 51, 1000)
        for (const entry of entries) seen.push(entry.index)
        next += entries.length
      } catch (error) {
        expect((error as RaftLogError).kind).toBe('temporarilyUnavailable')
        expect((await nextLoad(log)).error).toBeUndefined()
      }
      expect(log.cachedBytes()).toBeLessThanOrEqual(CACHED_ENTRY_BYTES * 10)
    }
    expect(seen).toEqual(Array.from({ length: 48 }, (_, i) => i + 3))
  })

  it('reports a corrupt entry found by a load as STORAGE_CORRUPT', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { entryCacheBytesMax: CACHED_ENTRY_BYTES * 2 })
    await log.persist({ entries: makeEntries(1, 10, 1, 100), timestampMs: 0 })
    // One chunk holds entries 1..10: damage the data of entry 1 (its record's bytes 33..132).
    const chunk = storage.entries.find((e) => e.value.length === 10 * CACHED_ENTRY_BYTES)!
    chunk.value[60]! ^= 0xff
    const loaded = nextLoad(log)
    expect(raftError(() => log.entries(1, 3, 1000)).kind).toBe('temporarilyUnavailable')
    const event = await loaded
    expect(event.error?.code).toBe('STORAGE_CORRUPT')
    expect(event.error?.details?.['key']).toMatch(/^[0-9a-f]+$/)
    expect(isLaminarError(await caught(() => log.readEntries(1, 3, 1000)), 'STORAGE_CORRUPT')).toBe(true)
  })

  it('serves staged entries from memory before their write lands, and never evicts them', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { entryCacheBytesMax: CACHED_ENTRY_BYTES })
    const staged = log.stage({ entries: makeEntries(1, 20, 1, 100), timestampMs: 0 })
    expect(log.lastIndex()).toBe(20)
    expect(log.entries(1, 21, 1 << 20)).toHaveLength(20)
    expect((await log.readEntries(1, 21, 1 << 20)).length).toBe(20)
    expect(storage.writes).toBe(0)
    await log.writeStaged(staged, false)
    expect(log.cachedBytes()).toBeLessThanOrEqual(CACHED_ENTRY_BYTES)
    expect((await log.readEntries(1, 21, 1 << 20)).map((e) => e.index)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    )
  })

  it('discards a load that a truncation made stale', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      entryCacheBytesMax: CACHED_ENTRY_BYTES * 2,
    })
    await log.persist({ entries: makeEntries(1, 10, 1, 100), timestampMs: 0 })
    const loaded = nextLoad(log)
    expect(raftError(() => log.entries(5, 11, 1 << 20)).kind).toBe('temporarilyUnavailable')
    await log.persist({ entries: makeEntries(5, 5, 2, 100), timestampMs: 1 })
    expect(await loaded).toMatchObject({ lo: 5, hi: 5 })
    expect(log.entries(5, 6, 1000)).toEqual(makeEntries(5, 5, 2, 100))
  })
})
