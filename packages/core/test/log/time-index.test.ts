import { describe, expect, it } from 'vitest'
import { SegmentedLog } from '../../src/log/index'
import { makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

describe('SegmentedLog: time index', () => {
  it('finds the first index at or after a timestamp across segments and sparse points', async () => {
    const storage = await TestMemoryStorage.create()
    const options = { segmentBytesMax: 58 * 40, timeIndexIntervalEntries: 8, entryCacheBytesMax: 100 }
    const log = await SegmentedLog.open(storage, 'p0', options)
    // Entry i is appended at 10*i ms.
    for (let i = 1; i <= 100; i++) await log.persist({ entries: makeEntries(i, i, 1), timestampMs: i * 10 })
    expect(log.segments().length).toBeGreaterThan(2)
    for (const log2 of [log, await SegmentedLog.open(storage, 'p0', options)]) {
      expect(await log2.firstIndexAtOrAfter(0)).toBe(1)
      expect(await log2.firstIndexAtOrAfter(10)).toBe(1)
      expect(await log2.firstIndexAtOrAfter(11)).toBe(2)
      expect(await log2.firstIndexAtOrAfter(405)).toBe(41)
      expect(await log2.firstIndexAtOrAfter(410)).toBe(41)
      expect(await log2.firstIndexAtOrAfter(777)).toBe(78)
      expect(await log2.firstIndexAtOrAfter(1000)).toBe(100)
      expect(await log2.firstIndexAtOrAfter(1001)).toBeUndefined()
    }
  })

  it('answers for every timestamp like a linear scan, with equal timestamps in batches', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', {
      segmentBytesMax: 58 * 13,
      timeIndexIntervalEntries: 3,
    })
    const timestamps: number[] = []
    let index = 1
    for (let batch = 0; batch < 30; batch++) {
      const size = 1 + (batch % 4)
      const timestampMs = batch * 7 + (batch % 3)
      await log.persist({ entries: makeEntries(index, index + size - 1, 1), timestampMs })
      for (let i = 0; i < size; i++) timestamps.push(timestampMs)
      index += size
    }
    for (let t = -1; t <= 30 * 7 + 3; t++) {
      const expected = timestamps.findIndex((ts) => ts >= t)
      expect(await log.firstIndexAtOrAfter(t)).toBe(expected < 0 ? undefined : expected + 1)
    }
  })

  it('answers for staged entries not yet written', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0')
    await log.persist({ entries: makeEntries(1, 5, 1), timestampMs: 100 })
    const staged = log.stage({ entries: makeEntries(6, 9, 1), timestampMs: 200 })
    expect(await log.firstIndexAtOrAfter(150)).toBe(6)
    await log.writeStaged(staged, false)
    expect(await log.firstIndexAtOrAfter(150)).toBe(6)
  })

  it('stays exact when a truncation leaves a segment whose newest timestamp was cut', async () => {
    const log = await SegmentedLog.open(await TestMemoryStorage.create(), 'p0', { segmentAgeMsMax: 1000 })
    await log.persist({ entries: makeEntries(1, 3, 1), timestampMs: 100 })
    await log.persist({ entries: makeEntries(4, 5, 1), timestampMs: 150 })
    // A new leader overwrites 4..5 much later: the entries roll into a new segment by age.
    await log.persist({ entries: makeEntries(4, 4, 2), timestampMs: 2000 })
    expect(log.segments().map((s) => [s.baseIndex, s.lastIndex])).toEqual([
      [1, 3],
      [4, 4],
    ])
    expect(await log.firstIndexAtOrAfter(120)).toBe(4)
    expect(await log.firstIndexAtOrAfter(100)).toBe(1)
    expect(await log.firstIndexAtOrAfter(2001)).toBeUndefined()
  })
})
