import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClassicLevelStorage } from '@laminar-ts/storage-level'
import { afterEach, describe, expect, it } from 'vitest'
import { epochOfReplica, type LaminarNode, type ReadResult } from '../../src/index'
import { startCluster, type TestCluster, text } from './cluster'
import { eventually, groupsWithKeys, joinNode, sorted } from './joining-cluster'

let cluster: TestCluster | undefined
let dir: string | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

/** Every record a replica holds, read from its own log (a follower read on that node). */
async function replicaValues(node: LaminarNode, topic: string): Promise<string[]> {
  const values: string[] = []
  let fromOffset = 0
  for (;;) {
    const page = (await node.handleRequest({
      op: 'read',
      topic,
      partition: 0,
      fromOffset,
      maxMessages: 1000,
      maxBytes: 1 << 20,
      stale: true,
    })) as ReadResult
    for (const record of page.records) values.push(text(record.value))
    if (page.records.length === 0 || page.nextOffset >= page.endOffset) return values
    fromOffset = page.nextOffset
  }
}

/** The storage log id of the replica `node` hosts of `groupId` (`<groupId>@<epoch>`). */
function replicaLogOn(node: LaminarNode, groupId: string): string {
  const group = node.status().groups.find((g) => g.groupId === groupId)
  if (group === undefined) throw new Error(`${node.id} does not host ${groupId}`)
  return `${groupId}@${epochOfReplica(group.replicaId)}`
}

describe('runtime membership', () => {
  it('moves a partition onto a joined node while producing and consuming; the new replica is a real voter', async () => {
    dir = await mkdtemp(join(tmpdir(), 'laminar-membership-'))
    const root = dir
    cluster = await startCluster(3, { storageFor: (id) => openClassicLevelStorage(join(root, id)) })
    const c = cluster
    const admin = c.node('n1').client().admin()
    await admin.createTopic({ topic: 'moving', partitions: 1, replicationFactor: 3 })
    const producer = c.node('n1').client().producer()
    const acked: string[] = []
    const send = async (value: string): Promise<void> => {
      await producer.send({ topic: 'moving', messages: [{ value }] })
      acked.push(value)
    }
    for (let i = 0; i < 40; i++) await send(`before-${i}`)

    // A 4th node joins through a seed; existing nodes learn its address from the controller.
    const n4 = await joinNode(c, 'n4', await openClassicLevelStorage(join(root, 'n4')))
    const joined = await admin.describeCluster()
    expect(sorted(joined.members.map((m) => m.id))).toEqual(['n1', 'n2', 'n3', 'n4'])
    await eventually(async () => {
      expect((await admin.describeCluster()).controllerLearners).toContain('n4')
    })

    // Production and consumption go on during the move.
    const consumed = new Set<string>()
    const consumer = c.node('n2').client().consumer({ groupId: 'readers' })
    await consumer.subscribe({ topic: 'moving' })
    void consumer.run({
      eachMessage: async ({ message }) => {
        consumed.add(text(message.value))
      },
    })
    let producing = true
    const during = (async () => {
      for (let i = 0; producing; i++) await send(`during-${i}`)
    })()

    // n1's replica incarnation, and the log it is stored under (one per placement).
    const groupId = 'p/1/0'
    const n1Log = replicaLogOn(c.node('n1'), groupId)
    expect(n1Log).toMatch(/^p\/1\/0@\d+$/)
    await admin.reassignPartition({ topic: 'moving', partition: 0, replicas: ['n2', 'n3', 'n4'] })
    const moving = (await admin.describeCluster()).partitions[0]!
    expect(moving.replicas).toEqual(['n2', 'n3', 'n4'])
    // describeTopic shows the target beside the current replicas too.
    const described = (await admin.describeTopic({ topic: 'moving' })).partitions[0]!
    expect(described.replicas).toEqual(['n2', 'n3', 'n4'])
    expect(described.currentReplicas).toHaveLength(3)
    await eventually(async () => {
      const partition = (await admin.describeCluster()).partitions[0]!
      expect(partition.reassigning).toBe(false)
      expect(sorted(partition.currentReplicas)).toEqual(['n2', 'n3', 'n4'])
    })
    producing = false
    await during
    for (let i = 0; i < 20; i++) await send(`after-${i}`)
    expect(acked.filter((v) => v.startsWith('during-')).length).toBeGreaterThan(0)

    // n4's own log holds every acknowledged message, in order.
    await eventually(async () => expect(await replicaValues(n4, 'moving')).toEqual(acked))
    // n1 no longer hosts the group, and its log keys are cleared.
    await eventually(async () => {
      expect(
        c
          .node('n1')
          .status()
          .groups.map((g) => g.groupId),
      ).not.toContain(groupId)
      expect(await groupsWithKeys(c.storages.get('n1')!)).not.toContain(n1Log)
    })
    expect(await groupsWithKeys(c.storages.get('n4')!)).toContain(replicaLogOn(n4, groupId))
    // The group's voters are the new replicas, as Raft sees them on n4.
    const onN4 = n4.status().groups.find((g) => g.groupId === groupId)
    expect(onN4).toBeDefined()

    await eventually(() => {
      for (const value of acked) expect(consumed.has(value)).toBe(true)
    })
    await consumer.stop({ drain: true })

    // Stop n2, then (after it is back) n3: each time the other two, n4 among them, are a quorum.
    const reader = n4.client()
    for (const stopped of ['n2', 'n3']) {
      await c.stopNode(stopped)
      const records = await reader.read({
        topic: 'moving',
        partition: 0,
        fromOffset: 0,
        toOffset: acked.length,
      })
      expect(records.map((r) => text(r.value))).toEqual(acked)
      await c.restartNode(stopped)
    }
  })
})
