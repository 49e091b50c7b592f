import { afterEach, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster, text } from '../node/cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const encoder = new TextEncoder()

/**
 * An in-process client reads the node's log without encoding. Bytes it hands the application
 * are the application's: changing them in place must not change the log for anyone else.
 */
describe('records handed to an in-process application are its own', () => {
  it('a read or a delivery changed in place leaves the log as it was', async () => {
    cluster = await startCluster(1)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 't', partitions: 1 })
    await client.producer().send({
      topic: 't',
      messages: [{ key: 'k', value: 'hello', headers: { h: encoder.encode('header') } }],
    })

    const [read] = await client.read({ topic: 't', partition: 0, fromOffset: 0, toOffset: 1 })
    read!.value.fill(0x58)
    read!.key!.fill(0x58)
    read!.headers['h']!.fill(0x58)

    const consumer = client.consumer({ groupId: 'g' })
    await consumer.subscribe({ topic: 't' })
    const seen: string[] = []
    for await (const message of consumer) {
      seen.push(text(message.value), text(message.key!), text(message.headers['h']!))
      message.value.fill(0x59)
      await message.ack()
      break
    }
    await consumer.stop()
    expect(seen).toEqual(['hello', 'k', 'header'])

    const [again] = await client.read({ topic: 't', partition: 0, fromOffset: 0, toOffset: 1 })
    expect([text(again!.value), text(again!.key!), text(again!.headers['h']!)]).toEqual([
      'hello',
      'k',
      'header',
    ])
  })
})
