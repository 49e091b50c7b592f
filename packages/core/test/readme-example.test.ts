import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { MemoryNetwork } from '@laminar-ts/transport-memory'
import { describe, expect, it } from 'vitest'
import { LaminarNode, type PeerConfig } from '../src/index'

// The example in packages/core/README.md, kept runnable: if this changes, change the README.
describe('core README example', () => {
  it('runs a 3-node embedded cluster: create, send, consume, read', async () => {
    const network = new MemoryNetwork()
    const peers: PeerConfig[] = [
      { id: 'n1', address: 'n1' },
      { id: 'n2', address: 'n2' },
      { id: 'n3', address: 'n3' },
    ]
    const nodes = await Promise.all(
      peers.map(async (peer) => {
        const node = new LaminarNode({
          id: peer.id,
          peers,
          transport: network.transport({ host: peer.id }),
          storage: await openMemoryLevelStorage(),
          options: { tickIntervalMs: 10 },
        })
        await node.start()
        return node
      }),
    )

    const client = nodes[0]!.client()
    await client.admin().createTopic({ topic: 'orders', partitions: 3, replicationFactor: 3 })

    const producer = client.producer()
    const sent = await producer.send({ topic: 'orders', messages: [{ key: 'customer-1', value: 'hello' }] })

    const received: string[] = []
    const consumer = client.consumer({ groupId: 'billing' })
    await consumer.subscribe({ topic: 'orders' })
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(new TextDecoder().decode(message.value))
      },
    })
    while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))

    const records = await client.read({
      topic: 'orders',
      partition: sent[0]!.partition,
      fromOffset: 0,
      maxMessages: 10,
    })

    await consumer.stop()
    for (const node of nodes) await node.stop()

    expect(received).toEqual(['hello'])
    expect(records.map((r) => new TextDecoder().decode(r.value))).toEqual(['hello'])
    expect(sent[0]!.offset).toBe(0)
  })
})
