import { afterEach, describe, expect, it } from 'vitest'
import type { ConsumerMessage } from '../../src/index'
import { startCluster, type TestCluster, text } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

async function produceAll(
  c: TestCluster,
  topic: string,
  count: number,
  key?: (i: number) => string,
): Promise<void> {
  const producer = c.node('n1').client().producer()
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ key: key?.(i) ?? null, value: `m${i}` })),
  })
}

/** Resolves when `predicate` holds, checking after each event; fails the test after `limit` checks. */
async function until(predicate: () => boolean, limit = 2000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('condition not reached')
}

describe('consumer groups', () => {
  it('delivers every message to each of two groups independently', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n2').client()
    await client.admin().createTopic({ topic: 'orders', partitions: 3 })
    await produceAll(cluster, 'orders', 60)
    const seen = { billing: new Set<string>(), audit: new Set<string>() }
    const consumers = (['billing', 'audit'] as const).map((groupId) => {
      const consumer = client.consumer({ groupId })
      return { groupId, consumer }
    })
    for (const { groupId, consumer } of consumers) {
      await consumer.subscribe({ topic: 'orders' })
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen[groupId].add(text(message.value))
        },
      })
    }
    await until(() => seen.billing.size === 60 && seen.audit.size === 60)
    for (const { consumer } of consumers) await consumer.stop({ drain: true })
    // Acks are committed asynchronously (batched): lag drains to zero.
    let lag = -1
    await until(() => {
      void client
        .admin()
        .describeGroup({ groupId: 'billing', topic: 'orders' })
        .then((d) => {
          expect(d.partitions).toHaveLength(3)
          lag = d.lag
        })
        .catch(() => {})
      return lag === 0
    })
  })

  it('spreads messages round-robin over 3 members, each getting a share', async () => {
    cluster = await startCluster(3)
    const clients = [...cluster.nodes.values()].map((n) => n.client())
    await clients[0]!.admin().createTopic({ topic: 'jobs', partitions: 1 })
    const counts = [0, 0, 0]
    const consumers = clients.map((client) => client.consumer({ groupId: 'workers', maxInFlight: 1 }))
    for (const [i, consumer] of consumers.entries()) {
      await consumer.subscribe({ topic: 'jobs' })
      await consumer.run({
        eachMessage: async () => {
          counts[i]!++
          await new Promise((resolve) => setTimeout(resolve, 1))
        },
      })
    }
    // All three members must have joined the partition's dispatcher before producing.
    let members = 0
    await until(() => {
      void clients[0]!
        .admin()
        .describeGroup({ groupId: 'workers', topic: 'jobs' })
        .then((d) => {
          members = d.partitions[0]!.members.length
        })
        .catch(() => {})
      return members === 3
    })
    await produceAll(cluster, 'jobs', 90)
    await until(() => counts.reduce((a, b) => a + b, 0) >= 90)
    // Drain: a plain stop() nacks what a member still holds, and the others would get it again.
    for (const consumer of consumers) await consumer.stop({ drain: true })
    expect(counts.reduce((a, b) => a + b, 0)).toBe(90)
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(15)
  })

  it('redelivers what a member held when it stops without acking', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'tasks', partitions: 1 })
    await produceAll(cluster, 'tasks', 10)
    const first = client.consumer({ groupId: 'g', ackWaitMs: 60_000 })
    await first.subscribe({ topic: 'tasks' })
    const held: ConsumerMessage[] = []
    const iterator = first[Symbol.asyncIterator]()
    while (held.length < 10) held.push((await iterator.next()).value as ConsumerMessage)
    await first.stop() // leaves without acking anything
    const second = client.consumer({ groupId: 'g' })
    await second.subscribe({ topic: 'tasks' })
    const redelivered: ConsumerMessage[] = []
    await second.run({
      eachMessage: async ({ message }) => {
        redelivered.push(message)
      },
    })
    await until(() => redelivered.length >= 10)
    await second.stop()
    expect(new Set(redelivered.map((m) => m.offset))).toEqual(new Set(held.map((m) => m.offset)))
    expect(redelivered.every((m) => m.deliveryCount >= 2)).toBe(true)
  })

  it('keeps maxInFlight messages in flight: acking some of them makes room for as many new ones', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'window', partitions: 1 })
    await produceAll(cluster, 'window', 20)
    const consumer = client.consumer({ groupId: 'g', maxInFlight: 10, ackWaitMs: 60_000 })
    await consumer.subscribe({ topic: 'window' })
    const held: number[] = []
    for await (const message of consumer) {
      held.push(message.offset)
      // The first five are acked at once; the rest stay unacked (held), filling the window.
      if (message.offset < 5) message.ack()
      if (held.length === 15) break
    }
    // 5 acked + 10 held: the window of 10 is full of unacked messages, none beyond it.
    expect(held).toEqual(Array.from({ length: 15 }, (_, i) => i))
    await consumer.stop()
  })

  it('redelivers after the ack wait, and after a nack with delay', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'slow', partitions: 1 })
    await produceAll(cluster, 'slow', 2)
    const consumer = client.consumer({ groupId: 'g', ackWaitMs: 150 })
    await consumer.subscribe({ topic: 'slow' })
    const deliveries: Array<[number, number]> = []
    for await (const message of consumer) {
      deliveries.push([message.offset, message.deliveryCount])
      if (message.offset === 0 && message.deliveryCount === 1) continue // never acked: times out
      if (message.offset === 1 && message.deliveryCount === 1) {
        message.nack({ delayMs: 100 })
        continue
      }
      message.ack()
      if (deliveries.filter(([, count]) => count === 2).length === 2) break
    }
    expect(deliveries).toContainEqual([0, 2])
    expect(deliveries).toContainEqual([1, 2])
  })

  it('dead-letters a message after maxDeliveries with its headers and reason', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'in', partitions: 1 })
    await client.admin().createTopic({ topic: 'in.dlq', partitions: 1 })
    await client
      .producer()
      .send({ topic: 'in', messages: [{ key: 'k', value: 'poison', headers: { trace: 't1' } }] })
    const consumer = client.consumer({ groupId: 'g', maxDeliveries: 2, deadLetterTopic: 'in.dlq' })
    await consumer.subscribe({ topic: 'in' })
    let attempts = 0
    await consumer.run({
      eachMessage: async () => {
        attempts++
        throw new Error('cannot process')
      },
    })
    let dead: Awaited<ReturnType<typeof client.read>> = []
    await until(() => {
      void client
        .read({ topic: 'in.dlq', partition: 0, fromOffset: 0 })
        .then((r) => {
          dead = r
        })
        .catch(() => {})
      return dead.length > 0
    })
    await consumer.stop()
    expect(attempts).toBe(2)
    const [record] = dead
    expect(text(record!.value)).toBe('poison')
    expect(text(record!.key)).toBe('k')
    expect(text(record!.headers.trace)).toBe('t1')
    expect(text(record!.headers['laminar-dead-letter-reason'])).toBe('maxDeliveries')
    expect(text(record!.headers['laminar-delivery-count'])).toBe('2')
  })
})
