import { describe, expect, it } from 'vitest'
import { isLaminarError, type LaminarError } from '../../src/errors/laminar-error'
import { encodeChunk, KeyKind, LogKeys, SegmentedLog } from '../../src/log/index'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

const keys = new LogKeys('p0')
const chunkKey = (firstIndex: number) => keys.indexed(KeyKind.entry, firstIndex)
const hexKey = (key: Uint8Array) => Buffer.from(key).toString('hex')
/** A 13-byte chunk key plus four records of 33 + 16 bytes: segments [1..4] [5..8] [9..12]. */
const options = { segmentBytesMax: 13 + 4 * 49 }
/** Stored bytes of one record with 16 bytes of data. */
const RECORD_BYTES = 33 + 16

/** Entries 1..12 in one write (chunks 1, 5 and 9, one per segment), commit 4. */
async function writtenLog(): Promise<{ storage: TestMemoryStorage; log: SegmentedLog }> {
  const storage = await TestMemoryStorage.create()
  const log = await SegmentedLog.open(storage, 'p0', options)
  await log.persist({
    entries: makeEntries(1, 12, 1),
    hardState: { term: 1, vote: '', commit: 4 },
    timestampMs: 0,
  })
  return { storage, log }
}

/** Flips the last data byte of entry `index` inside the chunk that starts at `chunkFirst`. */
async function damage(storage: TestMemoryStorage, chunkFirst: number, index: number): Promise<void> {
  const value = (await storage.get(chunkKey(chunkFirst)))!
  value[(index - chunkFirst + 1) * RECORD_BYTES - 1]! ^= 1
  await storage.write([{ type: 'put', key: chunkKey(chunkFirst), value }])
}

describe('SegmentedLog recovery (in memory)', () => {
  it('removes chunks an interrupted compaction left below the log start', async () => {
    const { storage, log } = await writtenLog()
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.createSnapshot({ metadata: { index: 8, term: 1, confState }, data: new Uint8Array(0) })
    await log.compact(8)
    expect(log.firstIndex()).toBe(9)
    // As if the process died between the metadata write and the range clear.
    await storage.write([
      { type: 'put', key: chunkKey(1), value: encodeChunk(makeEntries(1, 4, 1), 0) },
      { type: 'put', key: chunkKey(5), value: encodeChunk(makeEntries(5, 8, 1), 0) },
    ])
    const reopened = await SegmentedLog.open(storage, 'p0', options)
    expect(reopened.recovery).toEqual({
      cutFromIndex: undefined,
      entriesPastTableRemoved: false,
      entriesBelowStartRemoved: true,
    })
    expect((await storage.range({ gte: keys.kindStart(KeyKind.entry), lt: chunkKey(9) })).length).toBe(0)
    expect(reopened.firstIndex()).toBe(9)
  })

  it('reports a foreign key inside the entry range as STORAGE_CORRUPT', async () => {
    const { storage } = await writtenLog()
    const foreign = chunkKey(11)
    const longer = new Uint8Array(foreign.length + 1)
    longer.set(foreign)
    await storage.write([{ type: 'put', key: longer, value: Uint8Array.of(1) }])
    expect(
      isLaminarError(await caught(() => SegmentedLog.open(storage, 'p0', options)), 'STORAGE_CORRUPT'),
    ).toBe(true)
  })

  it('reports entries stored under the wrong index as STORAGE_CORRUPT, at open and on read', async () => {
    const { storage } = await writtenLog()
    // Chunk 5 holding entries 6..9: each one sits where its predecessor belongs.
    await storage.write([{ type: 'put', key: chunkKey(5), value: encodeChunk(makeEntries(6, 9, 1), 0) }])
    const opening = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(opening.code).toBe('STORAGE_CORRUPT') // inside the verified tail, good entries after it
    expect(opening.details?.['key']).toBe(hexKey(chunkKey(5)))
    const log = await SegmentedLog.open(storage, 'p0', {
      ...options,
      entryCacheBytesMax: 100,
      recoveryVerifyEntries: 4,
    })
    const error = (await caught(() => log.readEntries(1, 7, 1 << 20))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ key: hexKey(chunkKey(5)), index: 5 })
  })

  it('reports a chunk overlapping the one before as STORAGE_CORRUPT at open', async () => {
    const { storage } = await writtenLog()
    await storage.write([{ type: 'put', key: chunkKey(10), value: encodeChunk(makeEntries(10, 12, 1), 0) }])
    const error = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(hexKey(chunkKey(10)))
  })

  it('reports a missing chunk in the middle of the log as STORAGE_CORRUPT on read', async () => {
    const { storage } = await writtenLog()
    await storage.write([{ type: 'del', key: chunkKey(5) }])
    const log = await SegmentedLog.open(storage, 'p0', {
      ...options,
      entryCacheBytesMax: 100,
      recoveryVerifyEntries: 4,
    })
    const error = (await caught(() => log.readEntries(1, 6, 1 << 20))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ index: 5 })
  })

  it('cuts a run of bad entries at the end of the last chunk, but not one followed by a good entry', async () => {
    const { storage } = await writtenLog()
    await damage(storage, 9, 11)
    await damage(storage, 9, 12)
    const log = await SegmentedLog.open(storage, 'p0', options)
    expect(log.recovery.cutFromIndex).toBe(11)
    expect(log.lastIndex()).toBe(10)
    // The last chunk keeps its good prefix.
    expect((await storage.get(chunkKey(9)))!.length).toBe(2 * RECORD_BYTES)
    await log.persist({ entries: makeEntries(11, 12, 2), timestampMs: 1 })
    await damage(storage, 9, 9)
    await damage(storage, 11, 11)
    const error = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ key: hexKey(chunkKey(9)), index: 9 })
  })

  it('reports a bad entry in the middle of a chunk as STORAGE_CORRUPT with the chunk key', async () => {
    const { storage } = await writtenLog()
    await damage(storage, 5, 6)
    const opening = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(opening.code).toBe('STORAGE_CORRUPT')
    expect(opening.details).toMatchObject({ key: hexKey(chunkKey(5)), index: 6 })
    // Outside the verified tail (only chunk 9 is walked) it is found by the read that meets it,
    // never returned.
    const log = await SegmentedLog.open(storage, 'p0', {
      ...options,
      recoveryVerifyEntries: 2,
      entryCacheBytesMax: 100,
    })
    const error = (await caught(() => log.readEntries(5, 9, 1 << 20))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ key: hexKey(chunkKey(5)), index: 6 })
    expect((await log.readEntries(5, 6, 1 << 20)).map((e) => e.index)).toEqual([5])
  })

  it('cuts a last chunk whose value was torn mid-entry', async () => {
    const { storage } = await writtenLog()
    const value = (await storage.get(chunkKey(9)))!
    // Entries 9 and 10 whole, entry 11 cut inside its header: its length cannot be read.
    await storage.write([{ type: 'put', key: chunkKey(9), value: value.slice(0, 2 * RECORD_BYTES + 6) }])
    const log = await SegmentedLog.open(storage, 'p0', options)
    expect(log.recovery.cutFromIndex).toBe(11)
    expect((await log.readEntries(8, 11, 1 << 20)).map((e) => e.index)).toEqual([8, 9, 10])
    expect((await storage.get(chunkKey(9)))!.length).toBe(2 * RECORD_BYTES)
  })

  it('refuses a log written by the older layout (no format key): STORAGE_CORRUPT, not a wrong read', async () => {
    const storage = await TestMemoryStorage.create()
    // The old layout: one value per entry, hard state beside it, no format key.
    await storage.write([
      { type: 'put', key: keys.single(KeyKind.hardState), value: new Uint8Array(24) },
      { type: 'put', key: chunkKey(1), value: new Uint8Array(45) },
    ])
    const error = (await caught(() => SegmentedLog.open(storage, 'p0'))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(hexKey(keys.single(KeyKind.format)))
  })

  it('refuses a format version it does not read, and writes its own with the first write', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p0')
    expect(storage.entries).toHaveLength(0) // opening a fresh log writes nothing
    await log.persist({ hardState: { term: 1, vote: '', commit: 0 } })
    const format = (await storage.get(keys.single(KeyKind.format)))!
    expect(format).toBeDefined()
    expect((await SegmentedLog.open(storage, 'p0')).hardState().term).toBe(1)
    const other = new Uint8Array(format)
    other[7] = 9 // version 9, and a checksum that no longer matches
    await storage.write([{ type: 'put', key: keys.single(KeyKind.format), value: other }])
    expect(isLaminarError(await caught(() => SegmentedLog.open(storage, 'p0')), 'STORAGE_CORRUPT')).toBe(true)
  })
})
