import { afterEach, describe, expect, it } from 'vitest'
import { connect, encodeRecords, isLaminarError } from '../../src/index'
import { startCluster, type TestCluster, text } from './cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('a 3-node cluster', () => {
  it('replicates a topic over all nodes and serves reads from followers', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n2').client()
    await client.admin().createTopic({ topic: 'events', partitions: 3, replicationFactor: 3 })
    const description = await client.admin().describeTopic({ topic: 'events' })
    expect(description.partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3])
    // Leaders are spread: each node prefers one partition.
    expect(new Set(description.partitions.map((p) => p.replicas[0])).size).toBe(3)
    const producer = client.producer()
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }))
    const sent = await producer.send({ topic: 'events', messages })
    expect(sent).toHaveLength(30)
    // Per key, offsets increase in send order on one partition.
    const byKey = new Map<string, Array<{ partition: number; offset: number }>>()
    sent.forEach((m, i) => {
      const key = `k${i % 5}`
      byKey.set(key, [...(byKey.get(key) ?? []), m])
    })
    for (const list of byKey.values()) {
      expect(new Set(list.map((m) => m.partition)).size).toBe(1)
      const offsets = list.map((m) => m.offset)
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    }
    let total = 0
    for (const node of cluster.nodes.values()) {
      // Each node reads every partition (its own replica when it hosts one).
      for (let partition = 0; partition < 3; partition++) {
        const records = await node.client().read({ topic: 'events', partition, fromOffset: 0 })
        if (node.id === 'n1') total += records.length
        for (const r of records) expect(text(r.value)).toMatch(/^v\d+$/)
      }
    }
    expect(total).toBe(30)
  })

  it('answers NOT_LEADER with a leader hint on a follower, and the client follows it', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 't', partitions: 1, replicationFactor: 3 })
    const leader = (await client.admin().describeTopic({ topic: 't' })).partitions[0]!.leader
    expect(leader).not.toBeNull()
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader)!
    const error = await follower
      .handleRequest({
        op: 'produce',
        topic: 't',
        partition: 0,
        producerId: null,
        sequence: 0,
        batch: encodeRecords([]),
      })
      .catch((e: unknown) => e)
    expect(isLaminarError(error, 'NOT_LEADER')).toBe(true)
    expect((error as { leaderHint?: string }).leaderHint).toBe(leader)
    // Through the client, a follower's client lands on the leader.
    const [meta] = await follower
      .client()
      .producer()
      .send({ topic: 't', messages: [{ value: 'x' }] })
    expect(meta!.offset).toBe(0)
  })

  it('refuses bad names, partition counts and oversized messages with stable codes', async () => {
    cluster = await startCluster(3)
    const admin = cluster.node('n1').client().admin()
    await expect(admin.createTopic({ topic: 'bad name!' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(admin.createTopic({ topic: 'x', partitions: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(admin.createTopic({ topic: 'x', partitions: 5000 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await admin.createTopic({ topic: 'x', partitions: 1, config: { maxMessageBytes: 1000 } })
    await expect(admin.createTopic({ topic: 'x' })).rejects.toMatchObject({ code: 'TOPIC_EXISTS' })
    const producer = cluster.node('n1').client().producer()
    await expect(
      producer.send({ topic: 'x', messages: [{ value: new Uint8Array(5000) }] }),
    ).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    })
    await expect(producer.send({ topic: 'nope', messages: [{ value: 'a' }] })).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    })
    await expect(
      producer.send({ topic: 'x', messages: [{ value: 'a', partition: 3 }] }),
    ).rejects.toMatchObject({
      code: 'PARTITION_NOT_FOUND',
    })
    // After a refused batch the producer keeps working on that partition.
    const [ok] = await producer.send({ topic: 'x', messages: [{ value: 'fine' }] })
    expect(ok!.offset).toBe(0)
  })
})

describe('without a quorum', () => {
  it('fails a produce with TIMEOUT after bounded retries', async () => {
    cluster = await startCluster(3)
    await cluster.node('n1').client().admin().createTopic({ topic: 'q', partitions: 1, replicationFactor: 3 })
    const remote = await connect({
      brokers: ['node-1'],
      transport: cluster.network.transport({ host: 'app' }),
      attemptsMax: 4,
      requestTimeoutMs: 300,
    })
    await remote.metadata()
    await cluster.stopNode('n2')
    await cluster.stopNode('n3')
    const error = await remote
      .producer()
      .send({ topic: 'q', messages: [{ value: 'lost?' }] })
      .catch((e: unknown) => e)
    expect(isLaminarError(error, 'TIMEOUT')).toBe(true)
    remote.close()
  })
})
