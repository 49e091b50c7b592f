import { describe, expect, it } from 'vitest'
import { isLaminarError, type LaminarError } from '../../src/errors/laminar-error'
import { encodeEntry, KeyKind, LogKeys, SegmentedLog } from '../../src/log/index'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

const keys = new LogKeys('p0')
const options = { segmentBytesMax: 58 * 4 }

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

describe('SegmentedLog recovery (in memory)', () => {
  it('removes entries an interrupted compaction left below the log start', async () => {
    const { storage, log } = await writtenLog()
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    await log.createSnapshot({ metadata: { index: 8, term: 1, confState }, data: new Uint8Array(0) })
    await log.compact(8)
    expect(log.firstIndex()).toBe(9)
    // As if the process died between the metadata write and the range clear.
    await storage.write(
      makeEntries(3, 8, 1).map((entry) => ({
        type: 'put' as const,
        key: keys.indexed(KeyKind.entry, entry.index),
        value: encodeEntry(entry, 0),
      })),
    )
    const reopened = await SegmentedLog.open(storage, 'p0', options)
    expect(reopened.recovery).toEqual({
      cutFromIndex: undefined,
      entriesPastTableRemoved: false,
      entriesBelowStartRemoved: true,
    })
    expect(
      (await storage.range({ gte: keys.kindStart(KeyKind.entry), lt: keys.indexed(KeyKind.entry, 9) }))
        .length,
    ).toBe(0)
    expect(reopened.firstIndex()).toBe(9)
  })

  it('reports a foreign key inside the entry range as STORAGE_CORRUPT', async () => {
    const { storage } = await writtenLog()
    const foreign = keys.indexed(KeyKind.entry, 11)
    const longer = new Uint8Array(foreign.length + 1)
    longer.set(foreign)
    await storage.write([{ type: 'put', key: longer, value: Uint8Array.of(1) }])
    expect(
      isLaminarError(await caught(() => SegmentedLog.open(storage, 'p0', options)), 'STORAGE_CORRUPT'),
    ).toBe(true)
  })

  it('reports an entry stored under the wrong index as STORAGE_CORRUPT on read', async () => {
    const { storage } = await writtenLog()
    await storage.write([
      { type: 'put', key: keys.indexed(KeyKind.entry, 2), value: encodeEntry(makeEntries(3, 3, 1)[0]!, 0) },
    ])
    const opening = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(opening.code).toBe('STORAGE_CORRUPT') // inside the verified tail: found at open
    const log = await SegmentedLog.open(storage, 'p0', {
      ...options,
      entryCacheBytesMax: 100,
      recoveryVerifyEntries: 4,
    })
    const error = (await caught(() => log.readEntries(1, 4, 1 << 20))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(Buffer.from(keys.indexed(KeyKind.entry, 2)).toString('hex'))
  })

  it('reports a missing entry in the middle of the log as STORAGE_CORRUPT on read', async () => {
    const { storage } = await writtenLog()
    await storage.write([{ type: 'del', key: keys.indexed(KeyKind.entry, 3) }])
    const log = await SegmentedLog.open(storage, 'p0', {
      ...options,
      entryCacheBytesMax: 100,
      recoveryVerifyEntries: 4,
    })
    const error = (await caught(() => log.readEntries(1, 6, 1 << 20))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details).toMatchObject({ index: 3 })
  })

  it('cuts a run of bad entries at the very end, but not one followed by a good entry', async () => {
    const { storage } = await writtenLog()
    const flip = async (index: number) => {
      const key = keys.indexed(KeyKind.entry, index)
      const value = (await storage.get(key))!
      value[value.length - 1]! ^= 1
      await storage.write([{ type: 'put', key, value }])
    }
    await flip(11)
    await flip(12)
    const log = await SegmentedLog.open(storage, 'p0', options)
    expect(log.recovery.cutFromIndex).toBe(11)
    expect(log.lastIndex()).toBe(10)
    await log.persist({ entries: makeEntries(11, 12, 2), timestampMs: 1 })
    await flip(9)
    await flip(11)
    const error = (await caught(() => SegmentedLog.open(storage, 'p0', options))) as LaminarError
    expect(error.code).toBe('STORAGE_CORRUPT')
    expect(error.details?.['key']).toBe(Buffer.from(keys.indexed(KeyKind.entry, 9)).toString('hex'))
  })
})
