import { describe, expect, it } from 'vitest'
import { isLaminarError } from '../../src/errors/laminar-error'
import { decodeChunk, KeyKind, LogKeys, SegmentedLog } from '../../src/log/index'
import { RaftLogError } from '../../src/raft/types'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

/** A chunk's key under group 'p0': 2+2+1+8 bytes. */
const CHUNK_KEY_BYTES = 13
/** Stored bytes of one entry record with 16 bytes of data: a 33-byte header + data. */
const ENTRY_RECORD_BYTES = 33 + 16
/** An entry written alone: its own chunk. */
const ENTRY_STORED_BYTES = CHUNK_KEY_BYTES + ENTRY_RECORD_BYTES
/** Stored bytes of `count` entries written in one chunk. */
const chunkBytes = (count: number) => CHUNK_KEY_BYTES + count * ENTRY_RECORD_BYTES

/** The indexes of the entries stored in the chunks of `groupId`. */
function entryKeysIn(storage: TestMemoryStorage, groupId: string): number[] {
  const keys = new LogKeys(groupId)
  const start = keys.kindStart(KeyKind.entry)
  const indexes: number[] = []
  for (const { key, value } of storage.entries) {
    if (key.length !== start.length || key[start.length - 9] !== KeyKind.entry) continue
    const first = keys.parseIndexed(KeyKind.entry, key)
    decodeChunk(key, value, first, first, (entry) => {
      indexes.push(entry.index)
      return undefined
    })
  }
  return indexes
}

describe('SegmentedLog: segments', () => {
  it('rolls a segment at segmentBytesMax and lists it in the persisted table', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: ENTRY_STORED_BYTES * 4 })
    for (let i = 1; i <= 10; i++) await log.persist({ entries: makeEntries(i, i, 1), timestampMs: 100 + i })
    expect(log.segments()).toEqual([
      {
        baseIndex: 1,
        lastIndex: 4,
        bytes: 4 * ENTRY_STORED_BYTES,
        firstTimestampMs: 101,
        lastTimestampMs: 104,
      },
      {
        baseIndex: 5,
        lastIndex: 8,
        bytes: 4 * ENTRY_STORED_BYTES,
        firstTimestampMs: 105,
        lastTimestampMs: 108,
      },
      {
        baseIndex: 9,
        lastIndex: 10,
        bytes: 2 * ENTRY_STORED_BYTES,
        firstTimestampMs: 109,
        lastTimestampMs: 110,
      },
    ])
    expect(log.totalBytes()).toBe(10 * ENTRY_STORED_BYTES)
    const reopened = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: ENTRY_STORED_BYTES * 4 })
    expect(reopened.segments()).toEqual(log.segments())
  })

  it('rolls a segment at segmentAgeMsMax, and a single batch may span segments', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      segmentAgeMsMax: 1000,
      segmentBytesMax: chunkBytes(3),
    })
    await log.persist({ entries: makeEntries(1, 7, 1), timestampMs: 0 })
    await log.persist({ entries: makeEntries(8, 8, 1), timestampMs: 999 })
    await log.persist({ entries: makeEntries(9, 9, 1), timestampMs: 1000 })
    expect(log.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([
      [1, 3],
      [4, 6],
      [7, 8],
      [9, 9],
    ])
  })

  it('clamps timestamps so they never decrease along the log', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    await log.persist({ entries: makeEntries(1, 1, 1), timestampMs: 500 })
    await log.persist({ entries: makeEntries(2, 2, 1), timestampMs: 400 })
    expect(log.segments()[0]).toMatchObject({ firstTimestampMs: 500, lastTimestampMs: 500 })
  })

  it('retention by bytes drops whole oldest segments with one clear, keeping retainFromIndexMin', async () => {
    const storage = await TestMemoryStorage.create()
    const options = { segmentBytesMax: chunkBytes(4), retentionBytesMax: chunkBytes(4) * 1.5 }
    const log = await SegmentedLog.open(storage, 'p0', options)
    await log.persist({ entries: [...makeEntries(1, 6, 1), ...makeEntries(7, 12, 2)], timestampMs: 0 })
    // 12 entries in segments [1..4] [5..8] [9..12]; only [9..12] fits the bytes bound.
    const limited = await log.applyRetention({ nowMs: 0, retainFromIndexMin: 6 })
    expect(limited).toEqual({ segmentsDropped: 1, bytesDropped: chunkBytes(4), firstIndex: 5 })
    const clearsBefore = storage.entries.length
    const result = await log.applyRetention({ nowMs: 0, retainFromIndexMin: 13 })
    expect(result).toEqual({ segmentsDropped: 1, bytesDropped: chunkBytes(4), firstIndex: 9 })
    expect(storage.entries.length).toBeLessThan(clearsBefore)
    expect(log.firstIndex()).toBe(9)
    expect(log.term(8)).toBe(2)
    expect(() => log.term(7)).toThrow(RaftLogError)
    expect(entryKeysIn(storage, 'p0')).toEqual([9, 10, 11, 12])
    expect(isLaminarError(await caught(() => log.readEntries(8, 10, 1000)), 'LOG_COMPACTED')).toBe(true)
    const reopened = await SegmentedLog.open(storage, 'p0', options)
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(8), reopened.term(12)]).toEqual([
      9, 12, 2, 2,
    ])
    expect(reopened.recovery.entriesBelowStartRemoved).toBe(false)
  })

  it('retention by age drops segments whose newest entry is older, never the active one', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      segmentBytesMax: ENTRY_STORED_BYTES * 2,
      retentionAgeMsMax: 1000,
    })
    for (let i = 1; i <= 6; i++) await log.persist({ entries: makeEntries(i, i, 1), timestampMs: i * 100 })
    // Segments [1,2]@200 [3,4]@400 [5,6]@600.
    expect((await log.applyRetention({ nowMs: 1300, retainFromIndexMin: 100 })).segmentsDropped).toBe(1)
    expect(log.firstIndex()).toBe(3)
    expect((await log.applyRetention({ nowMs: 100_000, retainFromIndexMin: 100 })).segmentsDropped).toBe(1)
    expect(log.firstIndex()).toBe(5)
    expect(log.segments()).toHaveLength(1)
    expect((await log.readEntries(5, 7, 1000)).map((e) => e.index)).toEqual([5, 6])
    // No snapshot covers the dropped entries: Raft must not send the stale (empty) one.
    expect(() => log.snapshot()).toThrow(RaftLogError)
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.createSnapshot({ metadata: { index: 5, term: 1, confState }, data: new Uint8Array(0) })
    expect(log.snapshot().metadata.index).toBe(5)
  })

  it('compact drops whole segments covered by the snapshot only', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: chunkBytes(3) })
    await log.persist({ entries: makeEntries(1, 9, 1), timestampMs: 0 })
    expect(await log.compact(9)).toBe(1) // no snapshot yet: nothing covered
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.createSnapshot({ metadata: { index: 7, term: 1, confState }, data: Uint8Array.of(1, 2) })
    expect(await log.compact(9)).toBe(7) // segments [1..3] and [4..6]; [7..9] is active
    expect(log.term(6)).toBe(1)
    const reopened = await SegmentedLog.open(storage, 'p0')
    expect(reopened.snapshot().metadata).toEqual({ index: 7, term: 1, confState })
    expect(reopened.initialState().confState).toEqual(confState)
    expect(reopened.firstIndex()).toBe(7)
    expect(
      isLaminarError(await caught(() => log.createSnapshot(reopened.snapshot())), 'INVALID_ARGUMENT'),
    ).toBe(true)
  })

  it('bad snapshot or retention input is INVALID_ARGUMENT and leaves the log as it was', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: chunkBytes(3) })
    await log.persist({ entries: makeEntries(1, 9, 2), timestampMs: 0 })
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    const snapshotAt = (index: number, term: number, data: unknown = new Uint8Array(0)) =>
      ({ metadata: { index, term, confState }, data }) as Parameters<SegmentedLog['createSnapshot']>[0]
    const invalid = async (run: () => unknown) => isLaminarError(await caught(run), 'INVALID_ARGUMENT')
    expect(await invalid(() => log.createSnapshot(snapshotAt(4, 2, 'not bytes')))).toBe(true)
    expect(await invalid(() => log.createSnapshot(snapshotAt(10, 2)))).toBe(true) // past lastIndex
    expect(await invalid(() => log.createSnapshot(snapshotAt(4, 1)))).toBe(true) // entry 4 has term 2
    expect(await invalid(() => log.applyRetention({ nowMs: 'soon', retainFromIndexMin: 1 } as never))).toBe(
      true,
    )
    expect(await invalid(() => log.stageRetention(undefined as never))).toBe(true)
    expect(log.latestSnapshot().metadata.index).toBe(0)
    expect(log.segments().map((segment) => segment.baseIndex)).toEqual([1, 4, 7])
    await log.createSnapshot(snapshotAt(4, 2))
    expect(await log.compact(9)).toBe(4)
  })

  it('a received snapshot replaces the log, and entries after it append', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { segmentBytesMax: ENTRY_STORED_BYTES * 3 })
    await log.persist({ entries: makeEntries(1, 8, 1), timestampMs: 0 })
    const confState = {
      voters: ['a', 'b'],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    }
    await log.persist({
      snapshot: { metadata: { index: 20, term: 3, confState }, data: Uint8Array.of(7) },
      entries: makeEntries(21, 22, 3),
      hardState: { term: 3, vote: '', commit: 20 },
      timestampMs: 5,
    })
    expect([log.firstIndex(), log.lastIndex(), log.term(20), log.term(22)]).toEqual([21, 22, 3, 3])
    expect(entryKeysIn(storage, 'p0')).toEqual([21, 22])
    const reopened = await SegmentedLog.open(storage, 'p0')
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(20)]).toEqual([21, 22, 3])
    expect(reopened.snapshot().data).toEqual(Uint8Array.of(7))
    expect(reopened.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([[21, 22]])
  })

  it('a snapshot inside the log keeps nothing of the old log above it', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0')
    await log.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.persist({ snapshot: { metadata: { index: 5, term: 2, confState }, data: new Uint8Array(0) } })
    expect([log.firstIndex(), log.lastIndex()]).toEqual([6, 5])
    expect(entryKeysIn(storage, 'p0')).toEqual([])
    expect(log.segments()).toEqual([])
  })
})

describe('SegmentedLog: reads racing compaction', () => {
  it('answers LOG_COMPACTED, not STORAGE_CORRUPT, when a compaction clears entries under a read', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', {
      segmentBytesMax: chunkBytes(500),
      entryCacheBytesMax: 50,
    })
    await log.persist({ entries: makeEntries(1, 3000, 1), timestampMs: 0 })
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.createSnapshot({ metadata: { index: 2500, term: 1, confState }, data: new Uint8Array(0) })
    // The read pages through storage (1024 entries a page); the compaction's clear lands between pages.
    const read = log.readEntries(1, 3001, 1 << 30)
    const compaction = log.compact(2500)
    const error = await caught(() => read)
    expect(await compaction).toBe(2501)
    expect(isLaminarError(error, 'LOG_COMPACTED')).toBe(true)
  })
})
