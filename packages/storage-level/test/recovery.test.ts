import type { Entry } from '@laminar-ts/core'
import { encodeChunk, isLaminarError, KeyKind, LaminarError, LogKeys, SegmentedLog } from '@laminar-ts/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LevelStorage, openClassicLevelStorage } from '../src/index'
import { makeTempDir } from './temp-dir'

const GROUP = 'orders/0'
const keys = new LogKeys(GROUP)
const chunkKey = (firstIndex: number) => keys.indexed(KeyKind.entry, firstIndex)
const hexKey = (firstIndex: number) => Buffer.from(chunkKey(firstIndex)).toString('hex')
/** Every entry's data is 19 bytes ("record 07 of term 1"): a record of 33 + 19 bytes. */
const RECORD_BYTES = 33 + 19
/** A chunk key: 2 + 8 ("orders/0") + 1 + 8 bytes. */
const CHUNK_KEY_BYTES = 19
/** Two writes of five entries: each segment holds [1..10], [11..20], [21..30]. */
const SEGMENT_BYTES_MAX = 2 * (CHUNK_KEY_BYTES + 5 * RECORD_BYTES)

function makeEntries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term,
    type: 'normal' as const,
    data: new TextEncoder().encode(`record ${String(from + i).padStart(2, '0')} of term ${term}`),
  }))
}

async function caught(run: () => unknown): Promise<LaminarError> {
  try {
    await run()
  } catch (error) {
    if (error instanceof LaminarError) return error
    throw error
  }
  throw new Error('expected a LaminarError')
}

describe('SegmentedLog recovery on classic-level', () => {
  let dir: { path: string; remove: () => Promise<void> }
  let storage: LevelStorage

  beforeEach(async () => {
    dir = await makeTempDir('recovery')
    storage = await openClassicLevelStorage(dir.path)
  })
  afterEach(async () => {
    await storage.close()
    await dir.remove()
  })

  /**
   * 30 entries in six writes of five (chunks 1, 6, 11, ..., 26) and three segments; entries
   * 16..30 of term 2; commit 20; synced.
   */
  async function writeLog(): Promise<void> {
    const log = await SegmentedLog.open(storage, GROUP, { segmentBytesMax: SEGMENT_BYTES_MAX })
    for (let from = 1; from <= 30; from += 5) {
      await log.persist(
        {
          entries: makeEntries(from, from + 4, from > 15 ? 2 : 1),
          hardState: { term: 2, vote: 'n1', commit: Math.min(from + 4, 20) },
          timestampMs: from * 100,
        },
        { sync: true },
      )
    }
    expect(log.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([
      [1, 10],
      [11, 20],
      [21, 30],
    ])
  }

  async function reopenStorage(): Promise<void> {
    await storage.close()
    storage = await openClassicLevelStorage(dir.path)
  }

  /** Flips the last data byte of entry `index` inside the chunk that starts at `chunkFirst`. */
  async function damage(chunkFirst: number, index: number): Promise<void> {
    const value = (await storage.get(chunkKey(chunkFirst)))!
    value[(index - chunkFirst + 1) * RECORD_BYTES - 1]! ^= 0x5a
    await storage.write([{ type: 'put', key: chunkKey(chunkFirst), value }], { sync: true })
  }

  it('cuts a torn tail (a gap, a chunk past the segment table) and works on', async () => {
    await writeLog()
    const before = await SegmentedLog.open(storage, GROUP)
    const segmentsBefore = before.segments()
    // Behind the log's back: chunk 21..25 gone (a gap before 26..30), and a chunk past the table.
    await storage.write(
      [
        { type: 'del', key: chunkKey(21) },
        { type: 'put', key: chunkKey(31), value: encodeChunk(makeEntries(31, 32, 2), 3000) },
      ],
      { sync: true },
    )
    await reopenStorage()

    const log = await SegmentedLog.open(storage, GROUP)
    expect(log.recovery).toEqual({
      cutFromIndex: 21,
      entriesPastTableRemoved: true,
      entriesBelowStartRemoved: false,
    })
    expect(log.lastIndex()).toBe(20)
    expect(log.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([
      [1, 10],
      [11, 20],
    ])
    expect(log.totalBytes()).toBe(segmentsBefore[0]!.bytes + segmentsBefore[1]!.bytes)
    expect(await storage.get(chunkKey(26))).toBeUndefined()
    expect(await storage.get(chunkKey(31))).toBeUndefined()
    expect((await log.readEntries(14, 21, 1 << 20)).map((e) => e.index)).toEqual([14, 15, 16, 17, 18, 19, 20])

    // The log works on: a new leader's entries append after the cut and survive a reopen.
    await log.persist({ entries: makeEntries(21, 23, 3), timestampMs: 4000 }, { sync: true })
    await reopenStorage()
    const again = await SegmentedLog.open(storage, GROUP)
    expect(again.recovery.cutFromIndex).toBeUndefined()
    expect([again.lastIndex(), again.term(20), again.term(21)]).toEqual([23, 2, 3])
    expect((await again.readEntries(1, 24, 1 << 20)).length).toBe(23)
  })

  it('cuts a last entry whose checksum does not match, keeping the rest of its chunk', async () => {
    await writeLog()
    await damage(26, 30)
    await reopenStorage()
    const log = await SegmentedLog.open(storage, GROUP)
    expect(log.recovery.cutFromIndex).toBe(30)
    expect(log.lastIndex()).toBe(29)
    expect((await storage.get(chunkKey(26)))!.length).toBe(4 * RECORD_BYTES)
    await log.persist({ entries: makeEntries(30, 30, 2), timestampMs: 5000 }, { sync: true })
    await reopenStorage()
    const again = await SegmentedLog.open(storage, GROUP)
    expect((await again.readEntries(25, 31, 1 << 20)).map((e) => e.index)).toEqual([25, 26, 27, 28, 29, 30])
  })

  it('cuts a last chunk torn inside an entry', async () => {
    await writeLog()
    const value = (await storage.get(chunkKey(26)))!
    await storage.write([{ type: 'put', key: chunkKey(26), value: value.slice(0, 2 * RECORD_BYTES + 20) }], {
      sync: true,
    })
    await reopenStorage()
    const log = await SegmentedLog.open(storage, GROUP)
    expect(log.recovery.cutFromIndex).toBe(28)
    expect((await log.readEntries(24, 28, 1 << 20)).map((e) => e.index)).toEqual([24, 25, 26, 27])
  })

  it('reports a bad checksum in the middle of the verified tail as STORAGE_CORRUPT with the chunk key', async () => {
    await writeLog()
    await damage(21, 23)
    await reopenStorage()
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ key: hexKey(21), index: 23 })
  })

  it('reports a bad checksum in the middle of the log on read, never a wrong entry', async () => {
    await writeLog()
    await damage(1, 5)
    await reopenStorage()
    const log = await SegmentedLog.open(storage, GROUP, {
      recoveryVerifyEntries: 10,
      entryCacheBytesMax: 400,
    })
    expect(log.recovery.cutFromIndex).toBeUndefined()
    const error = await caught(() => log.readEntries(1, 10, 1 << 20))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ key: hexKey(1), index: 5 })
    expect((await log.readEntries(3, 5, 1 << 20)).map((e) => e.index)).toEqual([3, 4])
    expect((await log.readEntries(6, 8, 1 << 20)).map((e) => e.index)).toEqual([6, 7])
    const loaded = new Promise<LaminarError | undefined>((resolve) =>
      log.onEntriesLoaded((event) => resolve(event.error)),
    )
    expect(() => log.entries(5, 8, 1 << 20)).toThrow(/loading/)
    expect((await loaded)?.code).toBe('STORAGE_CORRUPT')
  })

  it('refuses to cut committed entries: STORAGE_CORRUPT', async () => {
    await writeLog()
    await storage.write([{ type: 'del', key: chunkKey(16) }], { sync: true })
    await reopenStorage()
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ index: 16, commit: 20 })
  })

  it('refuses a log written in the older one-entry-per-value layout', async () => {
    // What the older layout left: hard state, a segment row, entries, and no format key.
    await storage.write(
      [
        { type: 'put', key: keys.single(KeyKind.hardState), value: new Uint8Array(22) },
        { type: 'put', key: keys.indexed(KeyKind.segment, 1), value: new Uint8Array(36) },
        { type: 'put', key: chunkKey(1), value: new Uint8Array(29 + 19) },
        { type: 'put', key: chunkKey(2), value: new Uint8Array(29 + 19) },
      ],
      { sync: true },
    )
    await reopenStorage()
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(Buffer.from(keys.single(KeyKind.format)).toString('hex'))
  })

  it('reports bad metadata values and a broken segment table with codes', async () => {
    await writeLog()
    const hardStateKey = keys.single(KeyKind.hardState)
    const good = (await storage.get(hardStateKey))!
    await storage.write([{ type: 'put', key: hardStateKey, value: good.subarray(0, 6) }])
    expect((await caught(() => SegmentedLog.open(storage, GROUP))).code).toBe('STORAGE_CORRUPT')
    await storage.write([{ type: 'put', key: hardStateKey, value: good }])
    const rows = await storage.range({
      gte: keys.kindStart(KeyKind.segment),
      lt: keys.kindEnd(KeyKind.segment),
    })
    expect(rows.length).toBeGreaterThan(2)
    await storage.write([{ type: 'del', key: rows[1]!.key }])
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(isLaminarError(error)).toBe(true)
  })
})
