import { describe, expect, it } from 'vitest'
import { giveBatchHeadroom, takeBatchHeadroom } from '../../src/codec/record-batch'
import { encodeRecords, isLaminarError, type LaminarRecord, RecordBatch } from '../../src/index'
import {
  leaderHeadroomBytes,
  PRODUCE_FRAME_KIND,
  PRODUCE_FRAME_VERSION,
  produceHeadroomBytes,
} from '../../src/node/produce-frame'
import { type ClientRequest, decodeFrame, encodeFrame } from '../../src/node/protocol'

type ProduceRequest = Extract<ClientRequest, { op: 'produce' }>

const records: LaminarRecord[] = [
  { key: new Uint8Array([1, 2]), value: new Uint8Array(300).fill(9), headers: {}, timestampMs: 11 },
  { key: null, value: new Uint8Array(0), headers: { h: new Uint8Array([5]) }, timestampMs: 12 },
]

function request(batch: Uint8Array, producerId: string | null = 'p-abc.0'): ProduceRequest {
  return { op: 'produce', topic: 'orders', partition: 2, producerId, sequence: 41, batch }
}

function decodeProduce(frame: Uint8Array): { id: number; request: ProduceRequest } {
  const decoded = decodeFrame(frame)
  if (decoded.kind !== 'request' || decoded.request.op !== 'produce') throw new Error('not a produce request')
  return { id: decoded.id, request: decoded.request }
}

describe('produce frame', () => {
  it('carries a batch encoded with the producer headroom in place: the frame is a view of the batch buffer', () => {
    const batch = encodeRecords(records, produceHeadroomBytes('orders', 'p-abc.0'))
    const frame = encodeFrame({ kind: 'request', id: 7, request: request(batch) })
    expect(frame[0]).toBe(PRODUCE_FRAME_KIND)
    expect(frame[1]).toBe(PRODUCE_FRAME_VERSION)
    expect(frame.buffer).toBe(batch.buffer)
    expect(frame.byteOffset + frame.length).toBe(batch.byteOffset + batch.length)
    const { id, request: decoded } = decodeProduce(frame)
    expect(id).toBe(7)
    expect({ ...decoded, batch: undefined }).toEqual({ ...request(batch), batch: undefined })
    expect(decoded.batch).toEqual(batch)
    expect(decoded.batch.buffer).toBe(frame.buffer)
    expect(new RecordBatch(decoded.batch).records()[0]!.value).toEqual(records[0]!.value)
  })

  it('gives the receiver the frame bytes before the batch, enough for the leader, once', () => {
    const frame = encodeFrame({ kind: 'request', id: 1, request: request(encodeRecords(records), null) })
    const { request: decoded } = decodeProduce(frame)
    const headroom = takeBatchHeadroom(decoded.batch)
    expect(headroom).toBe(decoded.batch.byteOffset - frame.byteOffset)
    expect(headroom).toBeGreaterThanOrEqual(leaderHeadroomBytes(0))
    expect(takeBatchHeadroom(decoded.batch)).toBe(0)
    expect(decoded.producerId).toBeNull()
  })

  it('copies a batch without headroom, or whose headroom was taken, and leaves the original alone', () => {
    const bare = encodeRecords(records)
    const copied = encodeFrame({ kind: 'request', id: 2, request: request(bare) })
    expect(copied.buffer).not.toBe(bare.buffer)
    expect(decodeProduce(copied).request.batch).toEqual(bare)

    const batch = encodeRecords(records, produceHeadroomBytes('orders', 'p-abc.0'))
    const first = encodeFrame({ kind: 'request', id: 3, request: request(batch) })
    const firstBytes = first.slice()
    // A retry of the same request: the first frame (maybe adopted by a log) must stay as it was.
    const retry = encodeFrame({ kind: 'request', id: 4, request: request(batch) })
    expect(retry.buffer).not.toBe(batch.buffer)
    expect(first).toEqual(firstBytes)
    expect(decodeProduce(retry)).toMatchObject({ id: 4 })
    expect(decodeProduce(retry).request.batch).toEqual(batch)
  })

  it('refuses malformed frames with INVALID_ARGUMENT, never another error', () => {
    const batch = encodeRecords(records, produceHeadroomBytes('orders', 'p-abc.0'))
    const frame = encodeFrame({ kind: 'request', id: 5, request: request(batch) }).slice()
    const damaged: Uint8Array[] = [
      frame.subarray(0, 10),
      Uint8Array.of(PRODUCE_FRAME_KIND),
      Uint8Array.of(PRODUCE_FRAME_KIND, PRODUCE_FRAME_VERSION + 1, ...frame.subarray(2)),
    ]
    // A topic length past the end, a pad past the end, a topic that is not UTF-8.
    const longTopic = frame.slice()
    new DataView(longTopic.buffer).setUint16(6, 0xfff0)
    const longPad = frame.slice()
    const padAt = 6 + 2 + 6 + 4 + 2 + 7 + 8
    new DataView(longPad.buffer).setUint16(padAt, 0xffff)
    const badUtf8 = frame.slice()
    badUtf8[8] = 0xff
    damaged.push(longTopic, longPad, badUtf8)
    for (let cut = 0; cut < 40; cut++) damaged.push(frame.subarray(0, cut))
    for (const bytes of damaged) {
      let error: unknown
      try {
        decodeFrame(bytes)
      } catch (caught) {
        error = caught
      }
      expect(isLaminarError(error) && error.code === 'INVALID_ARGUMENT').toBe(true)
    }
  })

  it('ignores headroom the batch buffer cannot hold', () => {
    const batch = encodeRecords(records, 8)
    giveBatchHeadroom(batch, 100)
    expect(takeBatchHeadroom(batch)).toBe(8)
    const bare = encodeRecords(records)
    giveBatchHeadroom(bare, 1)
    expect(takeBatchHeadroom(bare)).toBe(0)
  })
})
