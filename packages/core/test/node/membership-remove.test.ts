import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { afterEach, describe, expect, it } from 'vitest'
import { isLaminarError } from '../../src/index'
import { startCluster, type TestCluster, text } from './cluster'
import { eventually, joinNode, sorted } from './joining-cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return isLaminarError(error) ? error.code : `no LaminarError: ${String(error)}`
}

describe('removing a node', () => {
  it('moves every replica off it, keeps a controller quorum, and lets it join again', async () => {
    cluster = await startCluster(4)
    const c = cluster
    const admin = c.node('n2').client().admin()
    await admin.createTopic({ topic: 'kept', partitions: 4, replicationFactor: 3 })
    const producer = c.node('n2').client().producer()
    const values = Array.from({ length: 40 }, (_, i) => ({ value: `m${i}`, partition: i % 4 }))
    await producer.send({ topic: 'kept', messages: values })
    const before = await admin.describeCluster()
    expect(sorted(before.controllerVoters)).toEqual(['n1', 'n2', 'n3'])
    expect(before.partitions.filter((p) => p.replicas.includes('n1')).length).toBeGreaterThan(0)

    await admin.removeNode('n1')
    const leaving = await admin.describeCluster()
    expect(leaving.members.find((m) => m.id === 'n1')?.leaving).toBe(true)
    for (const p of leaving.partitions) expect(p.replicas).not.toContain('n1')
    // Every move completes, the member is forgotten, and n4 replaced n1 as a controller voter.
    await eventually(async () => {
      const after = await admin.describeCluster()
      expect(after.members.map((m) => m.id)).not.toContain('n1')
      for (const p of after.partitions) {
        expect(p.reassigning).toBe(false)
        expect(p.currentReplicas).not.toContain('n1')
        expect(p.currentReplicas).toHaveLength(3)
      }
      expect(sorted(after.controllerVoters)).toEqual(['n2', 'n3', 'n4'])
    })
    await eventually(() => {
      expect(
        c
          .node('n1')
          .status()
          .groups.map((g) => g.groupId),
      ).toEqual(['controller'])
    })

    // The removed node goes away; the cluster keeps working on the rest.
    await c.stopNode('n1')
    await admin.createTopic({ topic: 'after', partitions: 2, replicationFactor: 3 })
    for (let partition = 0; partition < 4; partition++) {
      const records = await c.node('n3').client().read({ topic: 'kept', partition, fromOffset: 0 })
      expect(records.map((r) => text(r.value))).toEqual(
        values.filter((v) => v.partition === partition).map((v) => v.value),
      )
    }

    // n1 comes back with fresh storage by joining; the controller admits it again.
    const n1 = await joinNode(c, 'n1', await openMemoryLevelStorage(), 'node-2')
    await eventually(async () => {
      const again = await admin.describeCluster()
      expect(again.members.find((m) => m.id === 'n1')?.leaving).toBe(false)
      expect(again.controllerLearners).toContain('n1')
    })
    // New topics may land on it, and it serves them.
    await admin.reassignPartition({ topic: 'after', partition: 0, replicas: ['n1', 'n2', 'n3'] })
    await eventually(async () => {
      expect((await admin.describeCluster()).partitions.find((p) => p.topic === 'after')?.reassigning).toBe(
        false,
      )
    })
    await producer.send({ topic: 'after', messages: [{ value: 'back', partition: 0 }] })
    const read = await n1.client().read({ topic: 'after', partition: 0, fromOffset: 0 })
    expect(read.map((r) => text(r.value))).toEqual(['back'])
  })

  it('refuses bad membership requests with stable codes', async () => {
    cluster = await startCluster(3)
    const admin = cluster.node('n1').client().admin()
    await admin.createTopic({ topic: 't', partitions: 1, replicationFactor: 3 })
    expect(await codeOf(admin.removeNode('n9'))).toBe('NODE_NOT_FOUND')
    // Three members, replication factor 3: nobody could take n2's replica.
    expect(await codeOf(admin.removeNode('n2'))).toBe('INVALID_ARGUMENT')
    const move = (replicas: string[]) => admin.reassignPartition({ topic: 't', partition: 0, replicas })
    expect(await codeOf(move(['n1', 'n2']))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(move(['n1', 'n2', 'n2']))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(move(['n1', 'n2', 'n9']))).toBe('NODE_NOT_FOUND')
    expect(await codeOf(admin.reassignPartition({ topic: 'nope', partition: 0, replicas: ['n1'] }))).toBe(
      'TOPIC_NOT_FOUND',
    )
    expect(await codeOf(admin.reassignPartition({ topic: 't', partition: 3, replicas: ['n1'] }))).toBe(
      'PARTITION_NOT_FOUND',
    )
    // A second move before the first completed: the first targets a stopped node, so it cannot finish.
    await admin.createTopic({ topic: 'u', partitions: 1, replicationFactor: 1 })
    const owner = (await admin.describeCluster()).partitions.find((p) => p.topic === 'u')!.replicas[0]!
    const [down, other] = ['n2', 'n3', 'n1'].filter((id) => id !== owner) as [string, string]
    await cluster.stopNode(down)
    await admin.reassignPartition({ topic: 'u', partition: 0, replicas: [down] })
    expect(await codeOf(admin.reassignPartition({ topic: 'u', partition: 0, replicas: [other] }))).toBe(
      'REASSIGNMENT_IN_PROGRESS',
    )
    const stuck = (await admin.describeCluster()).partitions.find((p) => p.topic === 'u')!
    expect(stuck).toMatchObject({ replicas: [down], currentReplicas: [owner], reassigning: true })
  })

  it('unsticks a move onto a node that died for good by removing that node', async () => {
    cluster = await startCluster(4)
    const c = cluster
    await c.node('n1').client().admin().createTopic({ topic: 'p', partitions: 1, replicationFactor: 2 })
    const { replicas } = (await c.node('n1').client().admin().describeCluster()).partitions[0]!
    const dead = ['n4', 'n3', 'n2'].find((id) => !replicas.includes(id))!
    const admin = c
      .node(['n1', 'n2', 'n3', 'n4'].find((id) => id !== dead && id !== 'n1') ?? 'n1')
      .client()
      .admin()
    await c
      .node('n1')
      .client()
      .producer()
      .send({ topic: 'p', messages: [{ value: 'kept' }] })
    await c.stopNode(dead)
    await admin.reassignPartition({ topic: 'p', partition: 0, replicas: [replicas[0]!, dead] })
    // The dead target never catches up: the move cannot complete, and cannot be replaced.
    expect(await codeOf(admin.reassignPartition({ topic: 'p', partition: 0, replicas }))).toBe(
      'REASSIGNMENT_IN_PROGRESS',
    )
    await admin.removeNode(dead)
    await eventually(async () => {
      const described = await admin.describeCluster()
      const partition = described.partitions[0]!
      expect(partition.reassigning).toBe(false)
      expect(partition.currentReplicas).not.toContain(dead)
      expect(partition.currentReplicas).toHaveLength(2)
      expect(described.members.map((m) => m.id)).not.toContain(dead)
    })
    const records = await admin
      .describeCluster()
      .then(() => c.node(replicas[0]!).client().read({ topic: 'p', partition: 0, fromOffset: 0 }))
    expect(records.map((r) => text(r.value))).toEqual(['kept'])
  })

  it('refuses to remove the last member', async () => {
    cluster = await startCluster(1)
    const admin = cluster.node('n1').client().admin()
    await admin.createTopic({ topic: 'solo', partitions: 1, replicationFactor: 1 })
    expect(await codeOf(admin.removeNode('n1'))).toBe('INVALID_ARGUMENT')
    expect((await admin.describeCluster()).members.map((m) => m.id)).toEqual(['n1'])
  })
})
