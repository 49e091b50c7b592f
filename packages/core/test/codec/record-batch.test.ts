import { describe, expect, it } from 'vitest'
import { encodeRecords, type LaminarRecord, RecordBatch } from '../../src/index'

const bytes = (...values: number[]) => new Uint8Array(values)

const records: LaminarRecord[] = [
  {
    key: bytes(1, 2),
    value: bytes(3, 4, 5),
    headers: { trace: bytes(9), ünï: bytes() },
    timestampMs: 1_700_000_000_000.5,
  },
  { key: null, value: new Uint8Array(0), headers: {}, timestampMs: 7 },
  { key: new Uint8Array(0), value: new Uint8Array(3000).fill(1), headers: {}, timestampMs: 12 },
]

describe('RecordBatch', () => {
  it('round-trips records, header names and exact timestamps; the header gives count and timestamp bounds', () => {
    const batch = RecordBatch.encode(records)
    expect(batch.count).toBe(3)
    expect(batch.timestampMsMin).toBe(7)
    expect(batch.timestampMsMax).toBe(1_700_000_000_000.5)
    const decoded = new RecordBatch(batch.bytes).records()
    expect(decoded.map((r) => ({ ...r, headers: { ...r.headers } }))).toEqual(records)
    expect(batch.keys()).toEqual([bytes(1, 2), null, new Uint8Array(0)])
    // Views into the batch, not copies.
    expect(decoded[2]!.value.buffer).toBe(batch.bytes.buffer)
  })

  it('validate returns the largest record size and accepts an empty batch', () => {
    expect(RecordBatch.encode(records).validate()).toBe(3000 + 0 + 16)
    const empty = new RecordBatch(encodeRecords([]))
    expect(empty.count).toBe(0)
    expect(empty.records()).toEqual([])
    expect(empty.validate()).toBe(0)
  })

  it('refuses a header that is not a batch, and truncated or padded bytes, at construction', () => {
    const valid = RecordBatch.encode(records).bytes
    expect(() => new RecordBatch(bytes(1, 0, 0))).toThrow(TypeError)
    expect(() => new RecordBatch(Uint8Array.of(2, ...valid.subarray(1)))).toThrow(/format/)
    expect(() => new RecordBatch(valid.subarray(0, valid.length - 1))).toThrow(/length/)
    const padded = new Uint8Array(valid.length + 1)
    padded.set(valid)
    expect(() => new RecordBatch(padded)).toThrow(/length/)
  })

  it('finds malformed records when decoding or validating, with a TypeError, never a crash', () => {
    const valid = RecordBatch.encode(records).bytes
    let refused = 0
    for (let i = 1; i < valid.length; i++) {
      const copy = valid.slice()
      copy[i] = copy[i]! ^ 0xff
      let batch: RecordBatch
      try {
        batch = new RecordBatch(copy)
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError)
        refused++
        continue
      }
      try {
        batch.validate()
        batch.records()
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError)
        refused++
      }
    }
    // Every length and count field, and every timestamp byte of a header bound, is caught.
    expect(refused).toBeGreaterThan(40)
  })

  it('refuses records that cannot be encoded', () => {
    expect(() => encodeRecords([{ ...records[0]!, value: 'x' as unknown as Uint8Array }])).toThrow(TypeError)
    expect(() => encodeRecords([{ ...records[0]!, timestampMs: Number.NaN }])).toThrow(TypeError)
    expect(() => encodeRecords([{ ...records[0]!, headers: { bad: 'x' as unknown as Uint8Array } }])).toThrow(
      TypeError,
    )
  })
})

describe('RecordBatch.validate', () => {
  it('counts each record as recordBytes does, header names and values included', () => {
    const batch = RecordBatch.encode([
      { key: bytes(1, 2, 3), value: new Uint8Array(10), headers: { ab: bytes(1, 2, 3, 4) }, timestampMs: 3 },
      { key: null, value: new Uint8Array(12), headers: {}, timestampMs: 2 },
    ])
    // First: 10 + 3 + 16 + ('ab' 2 + 4) = 35; second: 12 + 16 = 28.
    expect(batch.validate()).toBe(35)
  })

  it('refuses a header name that is not UTF-8', () => {
    const batch = RecordBatch.encode([
      { key: null, value: bytes(), headers: { a: bytes(1) }, timestampMs: 1 },
    ])
    const copy = batch.bytes.slice()
    // The name byte follows [f64 ts][i32 -1][u32 0][u16 1][u16 1].
    copy[batch.bytes.length - 5 - 1] = 0xff
    expect(() => new RecordBatch(copy).validate()).toThrow(TypeError)
  })
})
