import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { perfectLinks } from '@laminar-ts/transport-memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  epochOfReplica,
  isLaminarError,
  type LaminarNode,
  nodeOfReplica,
  type ReadResult,
} from '../../src/index'
import { KeyKind, LogKeys } from '../../src/log/keys'
import { encodeFrame, PROTOCOL_VERSION } from '../../src/node/protocol'
import { encodeRaftFrame } from '../../src/node/raft-wire'
import { newMessage } from '../../src/raft/message'
import { startCluster, type TestCluster, text, wipeableStorage } from './cluster'
import { eventually, joinNode, sorted } from './joining-cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const GROUP_ID = 'p/1/0'

function groupOn(node: LaminarNode) {
  return node.status().groups.find((g) => g.groupId === GROUP_ID)
}

/** Cuts `host` off from every other host, both ways (frames and new connections). */
function isolate(c: TestCluster, host: string): void {
  c.network.policy = {
    frameFate: (from, to, bytes) =>
      from === host || to === host ? { drop: true } : perfectLinks.frameFate(from, to, bytes),
    connectFate: (from, to) =>
      from === host || to === host ? { refuse: true, delayMs: 0 } : perfectLinks.connectFate(from, to),
  }
}

/** Sends one Raft message to `address` over a peer connection, as another node would. */
async function sendPeerMessage(
  c: TestCluster,
  address: string,
  message: ReturnType<typeof newMessage>,
): Promise<void> {
  const connection = await c.network.transport({ host: 'stale-peer' }).connect(address)
  connection.send(
    encodeFrame({ kind: 'hello', version: PROTOCOL_VERSION, role: 'peer', nodeId: 'n2', token: '' }),
  )
  connection.send(encodeRaftFrame(new Map([[GROUP_ID, [message]]])))
}

/** The whole of partition 0 of 'hazard' as this node's own replica holds it (a stale read). */
async function readOwnReplica(node: LaminarNode): Promise<string[]> {
  const page = (await node.handleRequest({
    op: 'read',
    topic: 'hazard',
    partition: 0,
    fromOffset: 0,
    maxMessages: 1000,
    maxBytes: 1 << 20,
    stale: true,
  })) as ReadResult
  return page.records.map((r) => text(r.value))
}

async function moveAndWait(c: TestCluster, replicas: string[]): Promise<void> {
  const admin = c.node('n1').client().admin()
  await eventually(() => admin.reassignPartition({ topic: 'hazard', partition: 0, replicas }))
  await eventually(async () => {
    const partition = (await admin.describeCluster()).partitions[0]!
    expect(partition.reassigning).toBe(false)
    expect(sorted(partition.currentReplicas)).toEqual(sorted(replicas))
  })
}

describe('replica identity', () => {
  it('a replica moved off a node and back is a new Raft member: the old incarnation’s messages are dropped', async () => {
    cluster = await startCluster(3)
    const c = cluster
    const admin = c.node('n1').client().admin()
    await admin.createTopic({ topic: 'hazard', partitions: 1, replicationFactor: 3 })
    const producer = c.node('n1').client().producer()
    const acked: string[] = []
    const send = async (value: string): Promise<void> => {
      await eventually(() => producer.send({ topic: 'hazard', messages: [{ value }] }))
      acked.push(value)
    }
    for (let i = 0; i < 10; i++) await send(`a-${i}`)
    await joinNode(c, 'n4', await openMemoryLevelStorage())
    await joinNode(c, 'n5', await openMemoryLevelStorage())
    const n3First = groupOn(c.node('n3'))!.replicaId
    const n2Id = groupOn(c.node('n2'))!.replicaId
    expect(nodeOfReplica(n3First)).toBe('n3')

    // n2 is cut off from here on: it keeps the configuration at creation, {n1, n2, n3}, through
    // both moves below, as the member stuck on an old configuration does in the hazard.
    isolate(c, 'n2')
    await moveAndWait(c, ['n1', 'n3', 'n4'])
    for (let i = 0; i < 10; i++) await send(`b-${i}`)
    // n3 off (its log cleared once the move committed)...
    await moveAndWait(c, ['n1', 'n4', 'n5'])
    await eventually(() => expect(groupOn(c.node('n3'))).toBeUndefined())
    for (let i = 0; i < 10; i++) await send(`c-${i}`)
    // ...and back on: a new replica id, a new log, never the cleared incarnation's name.
    await moveAndWait(c, ['n1', 'n3', 'n4'])
    const n3Again = groupOn(c.node('n3'))!
    expect(nodeOfReplica(n3Again.replicaId)).toBe('n3')
    expect(n3Again.replicaId).not.toBe(n3First)
    expect(epochOfReplica(n3Again.replicaId)).toBeGreaterThan(epochOfReplica(n3First))
    // n2's view is still the first configuration: with the old naming, n2 and the empty n3 would
    // be a majority of it.
    expect(groupOn(c.node('n2'))?.replicaId).toBe(n2Id)

    // A message of the stuck member to n3's earlier incarnation (an append from a "leader" of a
    // later term) is dropped and counted, and changes nothing on the new incarnation.
    const n3 = c.node('n3')
    const before = { ...groupOn(n3)!, dropped: n3.status().staleReplicaMessagesDropped }
    const stale = newMessage('app', n3First, n2Id, before.term + 5)
    await sendPeerMessage(c, n3.address, stale)
    await eventually(() => expect(n3.status().staleReplicaMessagesDropped).toBe(before.dropped + 1))
    expect(groupOn(n3)!.term).toBe(before.term)
    for (let i = 0; i < 10; i++) await send(`d-${i}`)

    // n2 comes back: it learns it hosts nothing and stops; every acknowledged write is on the
    // group's replicas, n3's new incarnation included.
    c.network.policy = perfectLinks
    await eventually(() => expect(groupOn(c.node('n2'))).toBeUndefined())
    const all = await c
      .node('n4')
      .client()
      .read({ topic: 'hazard', partition: 0, fromOffset: 0, toOffset: acked.length })
    expect(all.map((r) => text(r.value))).toEqual(acked)
    await eventually(async () => expect(await readOwnReplica(n3)).toEqual(acked))

    // Control: the same kind of message addressed to the replica n3 does host is taken (the
    // path above delivers; only the name kept it out).
    const term = groupOn(n3)!.term
    await sendPeerMessage(c, n3.address, newMessage('app', n3Again.replicaId, n2Id, term + 5))
    await eventually(() => expect(groupOn(n3)!.term).toBe(term + 5))
  })

  it('a node back on a wiped disk never hosts its old replicas: they are renewed under new ids and caught up', async () => {
    const disks = wipeableStorage()
    cluster = await startCluster(3, { storageFor: disks.storageFor })
    const c = cluster
    const admin = c.node('n2').client().admin()
    await admin.createTopic({ topic: 'hazard', partitions: 1, replicationFactor: 3 })
    const producer = c.node('n2').client().producer()
    const acked: string[] = []
    const send = async (value: string): Promise<void> => {
      await eventually(() => producer.send({ topic: 'hazard', messages: [{ value }] }))
      acked.push(value)
    }
    for (let i = 0; i < 20; i++) await send(`a-${i}`)
    const lost = groupOn(c.node('n3'))!.replicaId
    await c.stopNode('n3')
    for (let i = 0; i < 5; i++) await send(`b-${i}`)
    disks.wipe('n3')
    const n3 = await c.restartNode('n3')
    const seen = new Set<string>()
    await eventually(async () => {
      const id = groupOn(n3)?.replicaId
      if (id !== undefined) seen.add(id)
      expect(id).toBeDefined()
      const partition = (await admin.describeCluster()).partitions[0]!
      expect(partition.reassigning).toBe(false)
      expect(sorted(partition.currentReplicas)).toEqual(['n1', 'n2', 'n3'])
    })
    // The lost incarnation never came back; the new one holds every acknowledged write.
    expect(seen).not.toContain(lost)
    const renewed = groupOn(n3)!.replicaId
    expect(nodeOfReplica(renewed)).toBe('n3')
    expect(epochOfReplica(renewed)).toBeGreaterThan(epochOfReplica(lost))
    for (let i = 0; i < 5; i++) await send(`c-${i}`)
    await eventually(async () => expect(await readOwnReplica(n3)).toEqual(acked))
    // The renewed replica is a voter: with n1 stopped, n2 and n3 are the group's quorum.
    await c.stopNode('n1')
    await eventually(async () => {
      const records = await c
        .node('n2')
        .client()
        .read({ topic: 'hazard', partition: 0, fromOffset: 0, toOffset: acked.length })
      expect(records.map((r) => text(r.value))).toEqual(acked)
    })
  })

  it('refuses to start on partition logs of the format before replica ids (STORAGE_CORRUPT)', async () => {
    const storage = await openMemoryLevelStorage()
    const before = new LogKeys('p/1/0')
    await storage.write([{ type: 'put', key: before.single(KeyKind.hardState), value: Uint8Array.of(1) }])
    cluster = await startCluster(1, { storageFor: async () => storage }).catch((error: unknown) => {
      expect(isLaminarError(error, 'STORAGE_CORRUPT')).toBe(true)
      expect((error as { details?: Record<string, unknown> }).details).toMatchObject({ key: 'p/1/0' })
      return undefined
    })
    expect(cluster).toBeUndefined()
  })
})
