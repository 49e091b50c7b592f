import { describe, expect, it } from 'vitest'
import { RecordBatch } from '../../src/index'
import { RecentRecords } from '../../src/node/recent-records'

/** A batch of `count` records whose one-byte values are their offsets (from `baseOffset`). */
function batch(baseOffset: number, count: number, valueBytes = 1): RecordBatch {
  return RecordBatch.encode(
    Array.from({ length: count }, (_, i) => ({
      key: null,
      value: new Uint8Array(valueBytes).fill((baseOffset + i) & 0xff),
      headers: {},
      timestampMs: 1,
    })),
  )
}

const valueAt = (recent: RecentRecords, offset: number) => recent.get(offset)?.value[0]

describe('RecentRecords', () => {
  it('finds every offset across batch boundaries and reads ranges bounded by count', () => {
    const recent = new RecentRecords(1 << 20)
    recent.append(0, batch(0, 3))
    recent.append(3, batch(3, 1))
    recent.append(4, batch(4, 5))
    expect([recent.firstOffset, recent.endOffset]).toEqual([0, 9])
    for (let offset = 0; offset < 9; offset++) expect(valueAt(recent, offset)).toBe(offset)
    // Out of order too (the decoded-batch cache must not return the wrong batch).
    expect([8, 0, 4, 2, 3].map((offset) => valueAt(recent, offset))).toEqual([8, 0, 4, 2, 3])
    expect(recent.get(9)).toBeUndefined()
    const read = recent.read(2, 5, 1 << 20)
    expect(read.map((r) => [r.offset, r.value[0]])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ])
  })

  it('drops whole oldest batches past its byte bound, keeps the newest, and restarts at a gap', () => {
    const oneBatchBytes = batch(0, 4, 100).bytes.length
    const recent = new RecentRecords(oneBatchBytes * 2)
    for (let b = 0; b < 5; b++) recent.append(b * 4, batch(b * 4, 4, 100))
    expect([recent.firstOffset, recent.endOffset]).toEqual([12, 20])
    expect(recent.get(11)).toBeUndefined()
    expect(valueAt(recent, 12)).toBe(12)
    // A batch larger than the bound is still kept (consumers at the head read it next).
    recent.append(20, batch(20, 50, 100))
    expect([recent.firstOffset, recent.endOffset]).toEqual([20, 70])
    // A gap: what was held cannot be dense with what follows, so the window restarts.
    recent.append(100, batch(100, 2))
    expect([recent.firstOffset, recent.endOffset]).toEqual([100, 102])
    expect(recent.get(69)).toBeUndefined()
    // Reads stop at the byte bound but always return at least one record.
    expect(recent.read(100, 10, 1)).toHaveLength(1)
  })
})
