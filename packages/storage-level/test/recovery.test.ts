import type { Entry } from '@laminar-ts/core'
import { encodeEntry, isLaminarError, KeyKind, LaminarError, LogKeys, SegmentedLog } from '@laminar-ts/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LevelStorage, openClassicLevelStorage } from '../src/index'
import { makeTempDir } from './temp-dir'

const GROUP = 'orders/0'
const keys = new LogKeys(GROUP)
const entryKey = (index: number) => keys.indexed(KeyKind.entry, index)
const hexKey = (index: number) => Buffer.from(entryKey(index)).toString('hex')

function makeEntries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term,
    type: 'normal' as const,
    data: new TextEncoder().encode(`record ${from + i} of term ${term}`),
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

  /** 30 entries in segments of about 10, commit 20, synced; then the store is closed. */
  async function writeLog(options: { recoveryVerifyEntries?: number } = {}): Promise<void> {
    const log = await SegmentedLog.open(storage, GROUP, { segmentBytesMax: 10 * 75, ...options })
    await log.persist({ entries: makeEntries(1, 15, 1), timestampMs: 1000 }, { sync: true })
    await log.persist(
      { entries: makeEntries(16, 30, 2), hardState: { term: 2, vote: 'n1', commit: 20 }, timestampMs: 2000 },
      { sync: true },
    )
    expect(log.segments().length).toBeGreaterThan(2)
  }

  async function reopenStorage(): Promise<void> {
    await storage.close()
    storage = await openClassicLevelStorage(dir.path)
  }

  async function corrupt(index: number): Promise<void> {
    const value = (await storage.get(entryKey(index)))!
    value[value.length - 1]! ^= 0x5a
    await storage.write([{ type: 'put', key: entryKey(index), value }], { sync: true })
  }

  it('cuts a torn tail (a gap, entries past the segment table) and works on', async () => {
    await writeLog()
    const before = await SegmentedLog.open(storage, GROUP)
    const segmentsBefore = before.segments()
    // Behind the log's back: a hole at 27, and two entries past the table.
    await storage.write(
      [
        { type: 'del', key: entryKey(27) },
        { type: 'put', key: entryKey(31), value: encodeEntry(makeEntries(31, 31, 2)[0]!, 3000) },
        { type: 'put', key: entryKey(32), value: encodeEntry(makeEntries(32, 32, 2)[0]!, 3000) },
      ],
      { sync: true },
    )
    await reopenStorage()

    const log = await SegmentedLog.open(storage, GROUP)
    expect(log.recovery).toEqual({
      cutFromIndex: 27,
      entriesPastTableRemoved: true,
      entriesBelowStartRemoved: false,
    })
    expect(log.lastIndex()).toBe(26)
    expect(log.segments().at(-1)!.lastIndex).toBe(26)
    expect(log.segments().at(-1)!.bytes).toBeLessThan(segmentsBefore.at(-1)!.bytes)
    expect(await storage.get(entryKey(28))).toBeUndefined()
    expect(await storage.get(entryKey(31))).toBeUndefined()
    expect((await log.readEntries(20, 27, 1 << 20)).map((e) => e.index)).toEqual([20, 21, 22, 23, 24, 25, 26])

    // The log works on: a new leader's entries append after the cut and survive a reopen.
    await log.persist({ entries: makeEntries(27, 29, 3), timestampMs: 4000 }, { sync: true })
    await reopenStorage()
    const again = await SegmentedLog.open(storage, GROUP)
    expect(again.recovery.cutFromIndex).toBeUndefined()
    expect([again.lastIndex(), again.term(26), again.term(27)]).toEqual([29, 2, 3])
    expect((await again.readEntries(1, 30, 1 << 20)).length).toBe(29)
  })

  it('cuts a last entry whose checksum does not match', async () => {
    await writeLog()
    await corrupt(30)
    await reopenStorage()
    const log = await SegmentedLog.open(storage, GROUP)
    expect(log.recovery.cutFromIndex).toBe(30)
    expect(log.lastIndex()).toBe(29)
    expect(await storage.get(entryKey(30))).toBeUndefined()
    await log.persist({ entries: makeEntries(30, 30, 2), timestampMs: 5000 }, { sync: true })
    expect((await log.readEntries(29, 31, 1 << 20)).map((e) => e.index)).toEqual([29, 30])
  })

  it('reports a bad checksum in the middle of the verified tail as STORAGE_CORRUPT', async () => {
    await writeLog()
    await corrupt(25)
    await reopenStorage()
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(hexKey(25))
  })

  it('reports a bad checksum in the middle of the log on read, never a wrong entry', async () => {
    await writeLog()
    await corrupt(5)
    await reopenStorage()
    const log = await SegmentedLog.open(storage, GROUP, {
      recoveryVerifyEntries: 10,
      entryCacheBytesMax: 400,
    })
    expect(log.recovery.cutFromIndex).toBeUndefined()
    const error = await caught(() => log.readEntries(1, 10, 1 << 20))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(hexKey(5))
    expect((await log.readEntries(6, 8, 1 << 20)).map((e) => e.index)).toEqual([6, 7])
    const loaded = new Promise<LaminarError | undefined>((resolve) =>
      log.onEntriesLoaded((event) => resolve(event.error)),
    )
    expect(() => log.entries(5, 8, 1 << 20)).toThrow(/loading/)
    expect((await loaded)?.code).toBe('STORAGE_CORRUPT')
  })

  it('refuses to cut committed entries: STORAGE_CORRUPT', async () => {
    await writeLog()
    await storage.write([{ type: 'del', key: entryKey(18) }], { sync: true })
    await reopenStorage()
    const error = await caught(() => SegmentedLog.open(storage, GROUP))
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ index: 18, commit: 20 })
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
