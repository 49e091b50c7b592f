import { afterEach, describe, expect, it } from 'vitest'
import { isLaminarError, type ReadResult } from '../../src/index'
import { startCluster, type TestCluster, text } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('stream reads', () => {
  it('reads offset ranges and seeks by time', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n3').client()
    await client.admin().createTopic({ topic: 'ticks', partitions: 1 })
    const messages = Array.from({ length: 50 }, (_, i) => ({ value: `t${i}`, timestampMs: 1_000 * (i + 1) }))
    await client.producer().send({ topic: 'ticks', messages })
    const middle = await client.read({ topic: 'ticks', partition: 0, fromOffset: 10, toOffset: 15 })
    expect(middle.map((r) => [r.offset, text(r.value)])).toEqual([
      [10, 't10'],
      [11, 't11'],
      [12, 't12'],
      [13, 't13'],
      [14, 't14'],
    ])
    const limited = await client.read({ topic: 'ticks', partition: 0, fromOffset: 45, maxMessages: 100 })
    expect(limited.map((r) => r.offset)).toEqual([45, 46, 47, 48, 49])
    expect(await client.seek({ topic: 'ticks', partition: 0, timestampMs: 5_500 })).toBe(5)
    expect(await client.seek({ topic: 'ticks', partition: 0, timestampMs: 0 })).toBe(0)
    expect(await client.seek({ topic: 'ticks', partition: 0, timestampMs: 999_999 })).toBe(50)
  })

  it('drops old segments by retention and reports OFFSET_OUT_OF_RANGE below the log start', async () => {
    cluster = await startCluster(3, { tuning: { retentionCheckIntervalMs: 20 } })
    const client = cluster.node('n1').client()
    await client.admin().createTopic({
      topic: 'short',
      partitions: 1,
      config: { segmentBytes: 4096, retentionBytes: 16_384 },
    })
    const producer = client.producer()
    const value = 'x'.repeat(500)
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'short', messages: Array.from({ length: 10 }, () => ({ value })) })
    }
    let result: ReadResult | undefined
    for (let attempt = 0; attempt < 500; attempt++) {
      result = (await cluster
        .node('n1')
        .handleRequest({
          op: 'read',
          topic: 'short',
          stale: true,
          partition: 0,
          fromOffset: 199,
          maxMessages: 1,
          maxBytes: 4096,
        })
        .catch(() => undefined)) as ReadResult | undefined
      if (result !== undefined && result.logStartOffset > 0 && result.records.length === 1) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(result!.logStartOffset).toBeGreaterThan(0)
    expect(result!.logStartOffset).toBeLessThan(199)
    expect(result!.records.map((r) => r.offset)).toEqual([199])
    const error = await cluster
      .node('n1')
      .handleRequest({
        op: 'read',
        topic: 'short',
        stale: true,
        partition: 0,
        fromOffset: 0,
        maxMessages: 1,
        maxBytes: 4096,
      })
      .catch((e: unknown) => e)
    expect(isLaminarError(error, 'OFFSET_OUT_OF_RANGE')).toBe(true)
    // The retained tail is intact: everything from the log start to the end reads back.
    const tail = await cluster.node('n1').handleRequest({
      op: 'read',
      topic: 'short',
      stale: true,
      partition: 0,
      fromOffset: result!.logStartOffset,
      maxMessages: 1000,
      maxBytes: 1 << 20,
    })
    const offsets = (tail as ReadResult).records.map((r) => r.offset)
    expect(offsets[0]).toBe(result!.logStartOffset)
    expect(offsets[offsets.length - 1]).toBe(199)
  })
})
