import { afterEach, describe, expect, it } from 'vitest'
import { connect, isLaminarError } from '../../src/index'
import { startCluster, type TestCluster, text } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

async function until(predicate: () => boolean, limit = 2000): Promise<void> {
  for (let i = 0; i < limit && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  if (!predicate()) throw new Error('condition not reached')
}

describe('per-key ordering', () => {
  it('never has one key in flight to two members, and delivers each key in offset order', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'accounts', partitions: 1 })
    const inFlight = new Map<string, number>()
    const seen = new Map<string, number[]>()
    let overlaps = 0
    let handled = 0
    const consumers = [...cluster.nodes.values()].map((n) =>
      n.client().consumer({ groupId: 'ledger', perKeyOrdering: true, maxInFlight: 8 }),
    )
    for (const [i, consumer] of consumers.entries()) {
      await consumer.subscribe({ topic: 'accounts' })
      await consumer.run({
        eachMessage: async ({ message }) => {
          const key = text(message.key)
          const now = (inFlight.get(key) ?? 0) + 1
          inFlight.set(key, now)
          if (now > 1) overlaps++
          seen.set(key, [...(seen.get(key) ?? []), message.offset])
          await new Promise((resolve) => setTimeout(resolve, 1 + ((message.offset + i) % 3)))
          inFlight.set(key, (inFlight.get(key) ?? 1) - 1)
          handled++
        },
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    await client.producer().send({
      topic: 'accounts',
      messages: Array.from({ length: 60 }, (_, i) => ({ key: `acct-${i % 4}`, value: `${i}` })),
    })
    await until(() => handled >= 60)
    // Drain, so no member's stop hands a message it still holds to the others again.
    for (const consumer of consumers) await consumer.stop({ drain: true })
    expect(overlaps).toBe(0)
    for (const offsets of seen.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    expect([...seen.values()].reduce((sum, o) => sum + o.length, 0)).toBe(60)
  })
})

describe('clients over a transport', () => {
  it('connect() finds the leaders from any broker; closing the connection redelivers what its member held', async () => {
    cluster = await startCluster(3)
    await cluster.node('n1').client().admin().createTopic({ topic: 'remote', partitions: 1 })
    const remote = await connect({
      brokers: ['node-3'],
      transport: cluster.network.transport({ host: 'app' }),
    })
    await remote.producer().send({ topic: 'remote', messages: [{ value: 'r0' }, { value: 'r1' }] })
    const holder = remote.consumer({ groupId: 'g', ackWaitMs: 60_000 })
    await holder.subscribe({ topic: 'remote' })
    const iterator = holder[Symbol.asyncIterator]()
    const first = (await iterator.next()).value!
    const second = (await iterator.next()).value!
    expect([text(first.value), text(second.value)].sort()).toEqual(['r0', 'r1'])
    remote.close() // the connection drops: the member is lost without acking
    const other = cluster.node('n2').client().consumer({ groupId: 'g' })
    await other.subscribe({ topic: 'remote' })
    const again: string[] = []
    await other.run({
      eachMessage: async ({ message }) => {
        again.push(text(message.value))
      },
    })
    await until(() => again.length >= 2)
    await other.stop()
    expect(again.sort()).toEqual(['r0', 'r1'])
  })

  it('refuses a client with the wrong token with UNAUTHORIZED', async () => {
    cluster = await startCluster(1, { tuning: { token: 'secret' } })
    const error = await connect({
      brokers: ['node-1'],
      transport: cluster.network.transport({ host: 'intruder' }),
      token: 'wrong',
    }).catch((e: unknown) => e)
    expect(isLaminarError(error, 'UNAUTHORIZED')).toBe(true)
    const ok = await connect({
      brokers: ['node-1'],
      transport: cluster.network.transport({ host: 'app' }),
      token: 'secret',
    })
    expect((await ok.metadata()).nodes).toHaveLength(1)
    ok.close()
  })
})

describe('a 5-node cluster', () => {
  it('spreads partition leaders over all nodes and serves produce and consume', async () => {
    cluster = await startCluster(5)
    const client = cluster.node('n4').client()
    await client.admin().createTopic({ topic: 'wide', partitions: 5, replicationFactor: 3 })
    const description = await client.admin().describeTopic({ topic: 'wide' })
    expect(new Set(description.partitions.map((p) => p.replicas[0])).size).toBe(5)
    const controller = cluster
      .node('n5')
      .status()
      .groups.find((g) => g.groupId === 'controller')!
    expect(controller.leader).not.toBe('')
    await client
      .producer()
      .send({ topic: 'wide', messages: Array.from({ length: 50 }, (_, i) => ({ value: `w${i}` })) })
    const consumer = cluster.node('n5').client().consumer({ groupId: 'g5' })
    await consumer.subscribe({ topic: 'wide' })
    const values = new Set<string>()
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.add(text(message.value))
      },
    })
    await until(() => values.size === 50)
    await consumer.stop()
  })
})
