import { afterEach, describe, expect, it } from 'vitest'
import type { ConsumerMessage } from '../../src/index'
import { startCluster, type TestCluster } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

/** Resolves when `predicate` holds, checking every 5 ms; fails the test after `limit` checks. */
async function until(predicate: () => Promise<boolean>, limit = 1000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('condition not reached')
}

describe('consumer settles', () => {
  it('sends acks held back for a batch even when the consumer stops pulling', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'tasks', partitions: 1 })
    const producer = client.producer()
    await producer.send({
      topic: 'tasks',
      messages: Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })),
    })
    // maxInFlight 64: acks are batched by 16 while received messages wait to be handed out.
    const consumer = client.consumer({ groupId: 'g', maxInFlight: 64, ackWaitMs: 60_000 })
    await consumer.subscribe({ topic: 'tasks' })
    const iterator = consumer[Symbol.asyncIterator]()
    const held: ConsumerMessage[] = []
    while (held.length < 10) held.push((await iterator.next()).value as ConsumerMessage)
    for (const message of held) message.ack()
    // Fewer acks than a batch and more messages received: nothing pulls again, yet the acks
    // reach the leader and commit.
    await until(async () => {
      const group = await client.admin().describeGroup({ groupId: 'g', topic: 'tasks' })
      return group.partitions[0]!.ackFloor >= 10
    })
    await consumer.stop()
    const second = client.consumer({ groupId: 'g' })
    await second.subscribe({ topic: 'tasks' })
    const offsets = new Set<number>()
    await second.run({
      eachMessage: async ({ message }) => {
        offsets.add(message.offset)
      },
    })
    await until(async () => offsets.size >= 90)
    await second.stop()
    expect(Math.min(...offsets)).toBe(10)
    expect(offsets.size).toBe(90)
  })
})
