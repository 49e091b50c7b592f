import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClassicLevelStorage } from '@laminar-ts/storage-level'
import { afterEach, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster, text } from './cluster'

let cluster: TestCluster | undefined
let dir: string | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('failover', () => {
  it('loses no acknowledged message when a partition leader stops, and the node restarts from disk', async () => {
    dir = await mkdtemp(join(tmpdir(), 'laminar-failover-'))
    const root = dir
    cluster = await startCluster(3, { storageFor: (id) => openClassicLevelStorage(join(root, id)) })
    const c = cluster
    const admin = c.node('n1').client().admin()
    await admin.createTopic({ topic: 'ledger', partitions: 1, replicationFactor: 3 })
    const leader = (await admin.describeTopic({ topic: 'ledger' })).partitions[0]!.leader!
    const survivor = [...c.nodes.values()].find((n) => n.id !== leader)!
    const producer = survivor.client().producer()
    const acked: number[] = []
    const send = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const [meta] = await producer.send({ topic: 'ledger', messages: [{ value: `m${i}` }] })
        acked.push(meta!.offset)
      }
    }
    await send(0, 20)
    await c.stopNode(leader)
    await send(20, 40)
    const restarted = await c.restartNode(leader)
    // Its Raft state came back from disk: the controller's commit index is known before any traffic.
    const controller = restarted.status().groups.find((g) => g.groupId === 'controller')!
    expect(controller.commit).toBeGreaterThan(0)
    await send(40, 60)
    expect(acked).toEqual(Array.from({ length: 60 }, (_, i) => i))
    // Every acknowledged message is there, once, in order: read from the survivor.
    const records = await survivor
      .client()
      .read({ topic: 'ledger', partition: 0, fromOffset: 0, toOffset: 60 })
    expect(records.map((r) => text(r.value))).toEqual(Array.from({ length: 60 }, (_, i) => `m${i}`))
    // The restarted node recovered its log from disk and caught up: it serves the same records.
    let replica: typeof records = []
    for (let attempt = 0; attempt < 400 && replica.length < 60; attempt++) {
      replica = await restarted
        .handleRequest({
          op: 'read',
          topic: 'ledger',
          stale: true,
          partition: 0,
          fromOffset: 0,
          maxMessages: 100,
          maxBytes: 1 << 20,
        })
        .then(
          (r) => (r as { records: typeof records }).records,
          () => [],
        )
      if (replica.length < 60) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(replica.map((r) => text(r.value))).toEqual(records.map((r) => text(r.value)))
  })
})
