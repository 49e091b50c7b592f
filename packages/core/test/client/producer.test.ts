import { afterEach, describe, expect, it } from 'vitest'
import { encodeRecords, isLaminarError, type ProduceResult } from '../../src/index'
import { startCluster, type TestCluster, text } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const record = (value: string) => ({
  key: null,
  value: new TextEncoder().encode(value),
  headers: {},
  timestampMs: 1,
})

describe('producers', () => {
  it('answers a retried batch with its original offsets and writes it once', async () => {
    cluster = await startCluster(1)
    const node = cluster.node('n1')
    await node.client().admin().createTopic({ topic: 'pay', partitions: 1, replicationFactor: 1 })
    const produce = (sequence: number, value: string) =>
      node.handleRequest({
        op: 'produce',
        topic: 'pay',
        partition: 0,
        producerId: 'p-1',
        sequence,
        batch: encodeRecords([record(value)]),
      })
    const first = (await produce(0, 'a')) as ProduceResult
    const retry = (await produce(0, 'a')) as ProduceResult
    expect(retry).toEqual({ baseOffset: first.baseOffset, count: 1, duplicate: true })
    const next = (await produce(1, 'b')) as ProduceResult
    expect(next.baseOffset).toBe(first.baseOffset + 1)
    const gap = await produce(5, 'c').catch((e: unknown) => e)
    expect(isLaminarError(gap, 'OUT_OF_ORDER_SEQUENCE')).toBe(true)
    const records = await node.client().read({ topic: 'pay', partition: 0, fromOffset: 0 })
    expect(records.map((r) => text(r.value))).toEqual(['a', 'b'])
  })

  it('batches and pipelines sends, keeping per-key order, and refuses beyond its buffer', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'keys', partitions: 3 })
    const producer = client.producer({ lingerMs: 5, maxBatchBytes: 2048 })
    const sends = Array.from({ length: 300 }, (_, i) =>
      producer.send({ topic: 'keys', messages: [{ key: `k${i % 7}`, value: `${i}` }] }),
    )
    const results = (await Promise.all(sends)).map(([m]) => m!)
    for (let k = 0; k < 7; k++) {
      const mine = results.filter((_, i) => i % 7 === k)
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1)
      const offsets = mine.map((m) => m.offset)
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    }
    const small = client.producer({ bufferBytesMax: 4096 })
    await expect(
      small.send({ topic: 'keys', messages: [{ value: 'x'.repeat(5000) }] }),
    ).rejects.toMatchObject({
      code: 'BUFFER_FULL',
    })
  })

  it('refuses a message the batch format cannot hold with INVALID_ARGUMENT and goes on', async () => {
    cluster = await startCluster(1)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'h', partitions: 1, replicationFactor: 1 })
    const producer = client.producer()
    const refused = await producer
      .send({ topic: 'h', messages: [{ value: 'v', headers: { ['n'.repeat(70_000)]: 'x' } }] })
      .catch((e: unknown) => e)
    expect(isLaminarError(refused, 'INVALID_ARGUMENT')).toBe(true)
    expect(producer.bufferedBytes).toBe(0)
    const sent = await producer.send({
      topic: 'h',
      messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })),
    })
    expect(sent.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4])
    const records = await client.read({ topic: 'h', partition: 0, fromOffset: 0 })
    expect(records.map((r) => text(r.value))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
  })
})
