import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { afterEach, describe, expect, it } from 'vitest'
import { connect, type LaminarClient } from '../../src/index'
import { PRODUCE_FRAME_KIND } from '../../src/node/produce-frame'
import type { Storage, StorageOperation } from '../../src/ports/storage'
import type { Connection, Transport } from '../../src/ports/transport'
import { startCluster, type TestCluster } from './cluster'

let cluster: TestCluster | undefined
let client: LaminarClient | undefined

afterEach(async () => {
  client?.close()
  client = undefined
  await cluster?.close()
  cluster = undefined
})

/** A node's storage that remembers the buffers of every value it was asked to put. */
async function recordingStorage(buffers: Set<ArrayBufferLike>): Promise<Storage> {
  const storage = await openMemoryLevelStorage()
  const write = storage.write.bind(storage)
  storage.write = (operations: readonly StorageOperation[], options) => {
    for (const op of operations) if (op.type === 'put') buffers.add(op.value.buffer)
    return write(operations, options)
  }
  return storage
}

/** A transport whose connections remember the buffers of the produce frames sent over them. */
function recordingTransport(inner: Transport, produceFrames: Set<ArrayBufferLike>): Transport {
  return {
    listen: (address, onConnection) => inner.listen(address, onConnection),
    async connect(address) {
      const connection: Connection = await inner.connect(address)
      const send = connection.send.bind(connection)
      connection.send = (frame: Uint8Array) => {
        if (frame[0] === PRODUCE_FRAME_KIND) produceFrames.add(frame.buffer)
        return send(frame)
      }
      return connection
    },
  }
}

describe('produce in place', () => {
  it("over a byte transport, the leader's log stores the produce frame's buffer: the batch the producer encoded", async () => {
    const stored = new Set<ArrayBufferLike>()
    cluster = await startCluster(3, { storageFor: () => recordingStorage(stored) })
    await cluster.node('n1').client().admin().createTopic({ topic: 't', partitions: 3, replicationFactor: 3 })
    const sent = new Set<ArrayBufferLike>()
    client = await connect({
      brokers: ['node-1'],
      transport: recordingTransport(cluster.network.transport({ host: 'app' }), sent),
    })
    const value = new Uint8Array(2000).fill(3)
    const results = await client
      .producer()
      .send({ topic: 't', messages: Array.from({ length: 30 }, () => ({ value })) })
    expect(new Set(results.map((r) => r.partition)).size).toBe(3)
    expect(sent.size).toBeGreaterThanOrEqual(3)
    // Every produce frame sent is a buffer some leader stored as it was (no copy on the way).
    for (const buffer of sent) expect(stored.has(buffer)).toBe(true)
    const read = await client.read({ topic: 't', partition: 0, fromOffset: 0, toOffset: 10 })
    expect(read.length).toBe(10)
    expect(read.every((record) => record.value.length === 2000 && record.value[1999] === 3)).toBe(true)
  })
})
