import { describe, expect, it } from 'vitest'
import { isLaminarError } from '../../src/errors/laminar-error'
import { SegmentedLog } from '../../src/log/index'
import { RaftLogError } from '../../src/raft/types'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

describe('SegmentedLog: append, read, term', () => {
  it('starts empty with firstIndex 1 and lastIndex 0', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    expect(log.firstIndex()).toBe(1)
    expect(log.lastIndex()).toBe(0)
    expect(log.term(0)).toBe(0)
    expect(log.initialState().hardState).toEqual({ term: 0, vote: '', commit: 0 })
    expect(log.snapshot().metadata.index).toBe(0)
    expect(log.entries(1, 1, 100)).toEqual([])
  })

  it('appends, reads entries and terms back, and survives reopen', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0')
    await log.persist({ entries: [...makeEntries(1, 5, 1), ...makeEntries(6, 10, 2)], timestampMs: 1000 })
    await log.persist({ hardState: { term: 2, vote: 'n1', commit: 7 } })
    expect(log.lastIndex()).toBe(10)
    expect(log.term(5)).toBe(1)
    expect(log.term(6)).toBe(2)
    expect(log.entries(3, 8, 1 << 20).map((e) => e.index)).toEqual([3, 4, 5, 6, 7])
    expect(log.entries(3, 8, 1 << 20)[0]).toEqual(makeEntries(3, 3, 1)[0])

    const reopened = await SegmentedLog.open(storage, 'p0')
    expect(reopened.lastIndex()).toBe(10)
    expect(reopened.term(10)).toBe(2)
    expect(reopened.hardState()).toEqual({ term: 2, vote: 'n1', commit: 7 })
    expect(await reopened.readEntries(1, 11, 1 << 20)).toEqual([
      ...makeEntries(1, 5, 1),
      ...makeEntries(6, 10, 2),
    ])
    expect(reopened.recovery.cutFromIndex).toBeUndefined()
  })

  it('limits entries by maxBytes but always returns at least one', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    await log.persist({ entries: makeEntries(1, 10, 1, 100), timestampMs: 0 })
    expect(log.entries(1, 11, 250).length).toBe(2)
    expect(log.entries(1, 11, 0).length).toBe(1)
    expect((await log.readEntries(1, 11, 250)).length).toBe(2)
  })

  it('throws raft log errors outside the log and LaminarError codes for readers', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    await log.persist({ entries: makeEntries(1, 3, 1), timestampMs: 0 })
    expect(() => log.term(4)).toThrow(RaftLogError)
    expect((caughtSync(() => log.entries(2, 5, 10)) as RaftLogError).kind).toBe('unavailable')
    expect(isLaminarError(await caught(() => log.readEntries(2, 5, 10)), 'LOG_UNAVAILABLE')).toBe(true)
    expect(isLaminarError(await caught(() => log.readEntries(0, 2, 10)), 'LOG_COMPACTED')).toBe(true)
    expect(isLaminarError(await caught(() => log.readEntries(3, 2, 10)), 'INVALID_ARGUMENT')).toBe(true)
  })

  it('rejects bad writes with INVALID_ARGUMENT and leaves the log unchanged', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    await log.persist({ entries: makeEntries(1, 3, 2), timestampMs: 0 })
    const bad = [
      { entries: makeEntries(5, 6, 2), timestampMs: 0 }, // gap
      { entries: makeEntries(4, 5, 2) }, // no timestamp
      { entries: makeEntries(4, 4, 1), timestampMs: 0 }, // term goes down
      { entries: [...makeEntries(4, 4, 2), ...makeEntries(6, 6, 2)], timestampMs: 0 }, // not contiguous
      { hardState: { term: -1, vote: '', commit: 0 } },
    ]
    for (const write of bad) {
      expect(isLaminarError(await caught(() => log.persist(write)), 'INVALID_ARGUMENT')).toBe(true)
    }
    expect(log.lastIndex()).toBe(3)
    expect(isLaminarError(await caught(() => SegmentedLog.open(log.storage, '')), 'INVALID_ARGUMENT')).toBe(
      true,
    )
    expect(
      isLaminarError(
        await caught(() => SegmentedLog.open(log.storage, 'x', { segmentBytesMax: 0 })),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true)
  })

  it('truncates a conflicting suffix (raft semantics) in memory and in storage', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: 200 })
    await log.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    await log.persist({ entries: makeEntries(6, 7, 2), timestampMs: 1 })
    expect(log.lastIndex()).toBe(7)
    expect(log.term(5)).toBe(1)
    expect(log.term(6)).toBe(2)
    expect(log.segments().at(-1)?.lastIndex).toBe(7)
    const reopened = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: 200 })
    expect(reopened.lastIndex()).toBe(7)
    expect(reopened.recovery).toEqual({
      cutFromIndex: undefined,
      entriesPastTableRemoved: false,
      entriesBelowStartRemoved: false,
    })
    expect((await reopened.readEntries(5, 8, 1 << 20)).map((e) => [e.index, e.term])).toEqual([
      [5, 1],
      [6, 2],
      [7, 2],
    ])
    expect(reopened.segments()).toEqual(log.segments())
  })

  it('bounds writes queued behind each other with BUFFER_FULL, before staging anything', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    const results = await Promise.allSettled(
      Array.from({ length: 1030 }, (_, i) =>
        log.persist({ entries: makeEntries(i + 1, i + 1, 1), timestampMs: 0 }),
      ),
    )
    const rejected = results.filter((r) => r.status === 'rejected')
    expect(rejected).toHaveLength(6)
    expect(rejected.every((r) => isLaminarError((r as PromiseRejectedResult).reason, 'BUFFER_FULL'))).toBe(
      true,
    )
    expect(log.lastIndex()).toBe(1024)
    await log.persist({ entries: makeEntries(1025, 1025, 1), timestampMs: 0 })
    expect((await log.readEntries(1, 1026, 1 << 20)).length).toBe(1025)
  })

  it('keeps groups apart in one storage, including ids that are prefixes of each other', async () => {
    const storage = await TestMemoryStorage.create()
    const a = await SegmentedLog.open(storage, 'topic-1')
    const b = await SegmentedLog.open(storage, 'topic-10')
    await a.persist({ entries: makeEntries(1, 3, 1), timestampMs: 0 })
    await b.persist({ entries: makeEntries(1, 5, 7), timestampMs: 0 })
    const a2 = await SegmentedLog.open(storage, 'topic-1')
    const b2 = await SegmentedLog.open(storage, 'topic-10')
    expect([a2.lastIndex(), a2.term(3), b2.lastIndex(), b2.term(5)]).toEqual([3, 1, 5, 7])
  })
})

function caughtSync(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

describe('SegmentedLog: destroy', () => {
  it('clears every key of its group and none of another group, then refuses writes', async () => {
    const storage = await TestMemoryStorage.create()
    const doomed = await SegmentedLog.open(storage, 'p1', { segmentBytesMax: 256 })
    const neighbour = await SegmentedLog.open(storage, 'p10')
    await doomed.persist({
      entries: makeEntries(1, 20, 1),
      hardState: { term: 1, vote: 'n1', commit: 20 },
      timestampMs: 1,
    })
    await doomed.createSnapshot({
      data: new Uint8Array([1]),
      metadata: {
        index: 10,
        term: 1,
        confState: { voters: ['n1'], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
    })
    await neighbour.persist({ entries: makeEntries(1, 3, 1), timestampMs: 1 })
    const keysBefore = (await storage.range()).length

    await doomed.destroy()
    const reopened = await SegmentedLog.open(storage, 'p1')
    expect(reopened.lastIndex()).toBe(0)
    expect(reopened.snapshot().metadata.index).toBe(0)
    expect(reopened.hardState()).toEqual({ term: 0, vote: '', commit: 0 })
    expect((await storage.range()).length).toBeLessThan(keysBefore)
    expect(await SegmentedLog.open(storage, 'p10').then((log) => log.readEntries(1, 4, 1 << 20))).toEqual(
      makeEntries(1, 3, 1),
    )
    const refused = await caught(() => doomed.persist({ entries: makeEntries(21, 21, 1), timestampMs: 2 }))
    expect(isLaminarError(refused, 'STORAGE_CLOSED')).toBe(true)
    // Nothing of 'p1' is left: a range over its prefix is empty.
    const prefix = new Uint8Array([0, 2, 0x70, 0x31])
    const end = new Uint8Array([0, 2, 0x70, 0x31, 0xff])
    expect(await storage.range({ gte: prefix, lt: end })).toEqual([])
  })
})
