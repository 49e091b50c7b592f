import { afterEach, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster, text } from './cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('a single-node cluster', () => {
  it('creates a topic, produces and reads back by offset', async () => {
    cluster = await startCluster(1)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'orders', partitions: 2, replicationFactor: 1 })
    expect(await client.admin().listTopics()).toEqual(['orders'])
    const producer = client.producer()
    const sent = await producer.send({
      topic: 'orders',
      messages: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
        { value: 'c', partition: 1 },
      ],
    })
    expect(sent).toEqual([
      { topic: 'orders', partition: 0, offset: 0 },
      { topic: 'orders', partition: 0, offset: 1 },
      { topic: 'orders', partition: 1, offset: 0 },
    ])
    const records = await client.read({ topic: 'orders', partition: 0, fromOffset: 0, toOffset: 2 })
    expect(records.map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'a'],
      [1, 'b'],
    ])
  })
})
