import { describe, expect, it } from 'vitest'
import {
  decodeChunk,
  decodeEntryChunkChange,
  GroupCommit,
  KeyKind,
  LogKeys,
  SegmentedLog,
} from '../../src/log/index'
import type { Entry } from '../../src/raft/types'
import { makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

const keys = new LogKeys('p0')
/** Stored bytes of one record with 16 bytes of data. */
const RECORD_BYTES = 33 + 16

/** The stored chunks of 'p0': [first index, indexes held, terms held]. */
function storedChunks(
  storage: TestMemoryStorage,
): Array<{ first: number; indexes: number[]; terms: number[] }> {
  const start = keys.kindStart(KeyKind.entry)
  const chunks: Array<{ first: number; indexes: number[]; terms: number[] }> = []
  for (const { key, value } of storage.entries) {
    if (key.length !== start.length || key[start.length - 9] !== KeyKind.entry) continue
    const first = keys.parseIndexed(KeyKind.entry, key)
    const chunk = { first, indexes: [] as number[], terms: [] as number[] }
    decodeChunk(key, value, first, first, (entry) => {
      chunk.indexes.push(entry.index)
      chunk.terms.push(entry.term)
      return undefined
    })
    chunks.push(chunk)
  }
  return chunks
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function readAll(log: SegmentedLog, lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
  const result: Entry[] = []
  while (lo < hi) {
    const entries = await log.readEntries(lo, hi, maxBytes)
    expect(entries.length).toBeGreaterThan(0)
    result.push(...entries)
    lo += entries.length
  }
  return result
}

describe('SegmentedLog: entry chunks', () => {
  it('stores one write as chunks of at most chunkBytesMax, never across a segment', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', {
      chunkBytesMax: 3 * RECORD_BYTES,
      segmentBytesMax: 13 + 5 * RECORD_BYTES,
    })
    await log.persist({ entries: makeEntries(1, 12, 1), timestampMs: 0 })
    expect(log.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([
      [1, 5],
      [6, 10],
      [11, 12],
    ])
    expect(storedChunks(storage).map((c) => c.indexes)).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7, 8],
      [9, 10],
      [11, 12],
    ])
  })

  it('reads spanning chunks and segments, in pieces bounded by maxBytes, from storage', async () => {
    const storage = await TestMemoryStorage.create()
    const options = { chunkBytesMax: 4 * RECORD_BYTES, segmentBytesMax: 600, entryCacheBytesMax: 100 }
    const log = await SegmentedLog.open(storage, 'p0', options)
    const written: Entry[] = []
    for (const [from, to] of [
      [1, 30],
      [31, 31],
      [32, 40],
      [41, 41],
      [42, 60],
    ] as const) {
      const entries = makeEntries(from, to, 1)
      written.push(...entries)
      await log.persist({ entries, timestampMs: from })
    }
    expect(log.segments().length).toBeGreaterThan(3)
    const reopened = await SegmentedLog.open(storage, 'p0', { ...options, recoveryVerifyEntries: 1 })
    for (const maxBytes of [1, 16, 50, 16 * 7, 1 << 20]) {
      for (const lo of [1, 2, 4, 5, 30, 31, 33]) {
        expect(await readAll(reopened, lo, 61, maxBytes)).toEqual(written.slice(lo - 1))
      }
    }
    // A read stops at maxBytes inside a chunk, and the next one starts there.
    expect((await reopened.readEntries(2, 61, 16 * 3)).map((e) => e.index)).toEqual([2, 3, 4])
    expect(await reopened.firstIndexAtOrAfter(41)).toBe(41)
    expect(await reopened.firstIndexAtOrAfter(35)).toBe(41)
  })

  it('truncates inside a cached chunk by rewriting its prefix in the same write', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0')
    await log.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    await log.persist({ entries: makeEntries(11, 14, 1), timestampMs: 0 })
    const writesBefore = storage.writes
    await log.persist({ entries: makeEntries(6, 7, 2), timestampMs: 1 })
    expect(storage.writes).toBe(writesBefore + 1)
    expect(storedChunks(storage)).toEqual([
      { first: 1, indexes: range(1, 5), terms: [1, 1, 1, 1, 1] },
      { first: 6, indexes: [6, 7], terms: [2, 2] },
    ])
    const expected = [...makeEntries(1, 5, 1), ...makeEntries(6, 7, 2)]
    expect(await log.readEntries(1, 8, 1 << 20)).toEqual(expected)
    const reopened = await SegmentedLog.open(storage, 'p0', { entryCacheBytesMax: 1 })
    expect(reopened.recovery.cutFromIndex).toBeUndefined()
    expect([reopened.lastIndex(), reopened.term(5), reopened.term(6)]).toEqual([7, 1, 2])
    expect(await reopened.readEntries(1, 8, 1 << 20)).toEqual(expected)
  })

  it('truncates inside a chunk the cache no longer holds, reading it just before the write', async () => {
    const storage = await TestMemoryStorage.create()
    // The cache holds two entries: chunk 1..10 and most of chunk 11..20 leave it.
    const log = await SegmentedLog.open(storage, 'p0', { entryCacheBytesMax: 2 * (33 + 16) })
    await log.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    await log.persist({ entries: makeEntries(11, 20, 1), timestampMs: 0 })
    await log.persist({ entries: makeEntries(21, 21, 1), timestampMs: 0 })
    const groupCommit = new GroupCommit(storage)
    // Through a GroupCommit, as a node persists: the truncation, then an append behind it.
    await Promise.all([
      groupCommit.commit(log.stage({ entries: makeEntries(4, 5, 2), timestampMs: 1 })),
      groupCommit.commit(log.stage({ entries: makeEntries(6, 6, 2), timestampMs: 1 })),
    ])
    expect(groupCommit.stats.storageWrites).toBe(1)
    expect(storedChunks(storage)).toEqual([
      { first: 1, indexes: [1, 2, 3], terms: [1, 1, 1] },
      { first: 4, indexes: [4, 5], terms: [2, 2] },
      { first: 6, indexes: [6], terms: [2] },
    ])
    const expected = [...makeEntries(1, 3, 1), ...makeEntries(4, 6, 2)]
    expect(await log.readEntries(1, 7, 1 << 20)).toEqual(expected)
    // And through persist, at a chunk's first entry: the chunk goes whole.
    await log.persist({ entries: makeEntries(4, 4, 3), timestampMs: 2 })
    expect(storedChunks(storage).map((c) => c.indexes)).toEqual([[1, 2, 3], [4]])
    const reopened = await SegmentedLog.open(storage, 'p0')
    expect([reopened.lastIndex(), reopened.term(3), reopened.term(4)]).toEqual([4, 1, 3])
  })

  it('describes each chunk write as "the log from its first index on" for storage followers', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0')
    await log.persist({ entries: makeEntries(1, 6, 1), timestampMs: 0 })
    const staged = log.stage({ entries: makeEntries(4, 5, 2), timestampMs: 0 })
    const changes = staged.operations
      .map((op) => decodeEntryChunkChange(keys, op.key, op.type === 'put' ? op.value : undefined))
      .filter((change) => change !== undefined)
    expect(changes).toEqual([
      { firstIndex: 1, terms: [1, 1, 1] },
      { firstIndex: 4, terms: [2, 2] },
    ])
    expect(decodeEntryChunkChange(keys, keys.single(KeyKind.hardState), undefined)).toBeUndefined()
    expect(decodeEntryChunkChange(new LogKeys('p1'), staged.operations[0]!.key, undefined)).toBeUndefined()
  })

  it('continues a sequential read where it stopped inside a chunk, never past what storage held', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0', { entryCacheBytesMax: 1 })
    await log.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    // A truncation at 8 is staged, not written: storage still holds the old 8..10.
    const staged = log.stage({ entries: makeEntries(8, 9, 2), timestampMs: 1 })
    expect((await log.readEntries(1, 10, 16 * 3)).map((e) => e.index)).toEqual([1, 2, 3])
    const rangesBefore = storage.ranges
    expect((await log.readEntries(4, 10, 16 * 2)).map((e) => e.index)).toEqual([4, 5])
    expect(storage.ranges).toBe(rangesBefore) // from the chunk the last read stopped in
    await log.writeStaged(staged, false)
    // The read cursor's chunk still holds the old 8 and 9: they are read again from storage.
    expect(await log.readEntries(6, 10, 1 << 20)).toEqual([...makeEntries(6, 7, 1), ...makeEntries(8, 9, 2)])
  })

  it('serves a sequential reader from chunks it read ahead: one range call for many reads', async () => {
    const storage = await TestMemoryStorage.create()
    const options = { chunkBytesMax: 4 * RECORD_BYTES, entryCacheBytesMax: 1 }
    const log = await SegmentedLog.open(storage, 'p0', options)
    for (let from = 1; from <= 60; from += 12) {
      await log.persist({ entries: makeEntries(from, from + 11, 1), timestampMs: 0 })
    }
    const reader = await SegmentedLog.open(storage, 'p0', { ...options, recoveryVerifyEntries: 1 })
    const rangesBefore = storage.ranges
    const seen = await readAll(reader, 1, 61, 2 * 16)
    expect(seen).toEqual(makeEntries(1, 60, 1))
    // 30 reads: one seek for the first, then one page holds every later chunk.
    expect(storage.ranges - rangesBefore).toBe(2)
  })
})
