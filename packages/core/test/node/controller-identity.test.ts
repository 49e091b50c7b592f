import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { MemoryNetwork, perfectLinks } from '@laminar-ts/transport-memory'
import { afterEach, describe, expect, it } from 'vitest'
import { isLaminarError, LaminarNode, nodeOfReplica } from '../../src/index'
import type { ClusterMetadata } from '../../src/node/protocol'
import { FAST_TUNING, startCluster, type TestCluster, wipeableStorage } from './cluster'
import { eventually, sorted } from './joining-cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

/** Cuts `host` off from every other host, both ways (frames and new connections). */
function isolate(c: TestCluster, host: string): void {
  c.network.policy = {
    frameFate: (from, to, bytes) =>
      from === host || to === host ? { drop: true } : perfectLinks.frameFate(from, to, bytes),
    connectFate: (from, to) =>
      from === host || to === host ? { refuse: true, delayMs: 0 } : perfectLinks.connectFate(from, to),
  }
}

function controllerOf(node: LaminarNode) {
  return node.status().groups.find((g) => g.groupId === 'controller')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Creates a topic, retrying; a retry of an attempt that did commit finds it there. */
async function createTopic(node: LaminarNode, topic: string, replicationFactor: number): Promise<void> {
  await eventually(async () => {
    try {
      await node.client().admin().createTopic({ topic, partitions: 1, replicationFactor })
    } catch (error) {
      if (!isLaminarError(error, 'TOPIC_EXISTS')) throw error
    }
  })
}

describe('controller replica identity', () => {
  it('founders started one after another form the cluster under their node ids (no renewal on a first start)', async () => {
    const network = new MemoryNetwork()
    const peers = ['n1', 'n2', 'n3'].map((id) => ({ id, address: `seq-${id}` }))
    const nodes: LaminarNode[] = []
    try {
      for (const peer of peers) {
        const node = new LaminarNode({
          id: peer.id,
          peers,
          transport: network.transport({ host: peer.id }),
          storage: await openMemoryLevelStorage(),
          options: FAST_TUNING,
        })
        nodes.push(node)
        // Resolves before the others start: a founder's identity is decided while it runs.
        await node.start()
      }
      await createTopic(nodes[0]!, 'first', 3)
      await eventually(async () => {
        const description = await nodes[2]!.client().admin().describeCluster()
        expect(sorted(description.controllerVoters)).toEqual(['n1', 'n2', 'n3'])
      })
      for (const node of nodes) expect(controllerOf(node)?.replicaId).toBe(node.id)
    } finally {
      await Promise.all(nodes.map((node) => node.stop()))
    }
  })

  it('a founder back on a wiped disk never votes under its old id: it is readmitted under a new one, caught up, promoted', async () => {
    const disks = wipeableStorage()
    cluster = await startCluster(3, { storageFor: disks.storageFor })
    const c = cluster
    const leader = await eventually(() => {
      const id = c.node('n1').status().controllerLeader
      expect(id).not.toBeNull()
      return id!
    })
    const [stale, wiped] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string]
    await createTopic(c.node(leader), 'before', 3)
    // `stale` misses a committed entry: the controller leader and `wiped` are its majority.
    await c.stopNode(stale)
    await createTopic(c.node(leader), 'without-stale', 2)
    await c.stopNode(wiped)
    disks.wipe(wiped)

    // The only node holding every committed entry is cut off. With the empty `wiped` voting as
    // its old self, `stale` would win an election and the committed 'without-stale' would be lost.
    isolate(c, leader)
    await c.restartNode(stale)
    const renewed = await c.restartNode(wiped)
    for (let waitedMs = 0; waitedMs < 1_500; waitedMs += 50) {
      expect(controllerOf(c.node(stale))?.role).not.toBe('leader')
      // It runs (listening) but waits to be readmitted: no controller replica under its old id.
      expect(controllerOf(renewed)).toBeUndefined()
      await sleep(50)
    }

    c.network.policy = perfectLinks
    const renewedId = await eventually(() => {
      const id = controllerOf(renewed)?.replicaId
      expect(id).toBeDefined()
      return id!
    })
    expect(renewedId).not.toBe(wiped)
    expect(nodeOfReplica(renewedId)).toBe(wiped)
    // Learner first, then one joint change promotes it and removes the old id.
    await eventually(async () => {
      const cluster = await renewed.client().admin().describeCluster()
      expect(sorted(cluster.controllerVoters)).toEqual(sorted([leader, stale, renewedId]))
      expect(cluster.controllerLearners).toEqual([])
    })
    // Every committed topic is there, on the renewed node's own controller state too.
    await eventually(async () =>
      expect(sorted(await renewed.client().admin().listTopics())).toEqual(['before', 'without-stale']),
    )
    // A full voter again: with `stale` stopped, the controller's quorum is the leader and it.
    await c.stopNode(stale)
    await createTopic(renewed, 'after', 2)
    expect(controllerOf(renewed)?.replicaId).toBe(renewedId)
  })

  it('a majority of controller voters on wiped disks fails closed (CONTROLLER_UNAVAILABLE), never re-bootstraps', async () => {
    const disks = wipeableStorage()
    // Short requests: the wiped nodes give up after a bounded number of readmission rounds.
    cluster = await startCluster(3, { storageFor: disks.storageFor, tuning: { requestTimeoutMs: 500 } })
    const c = cluster
    await createTopic(c.node('n1'), 'kept', 1)
    await Promise.all([c.stopNode('n2'), c.stopNode('n3')])
    disks.wipe('n2')
    disks.wipe('n3')
    const restarted = await Promise.all(['n2', 'n3'].map((id) => c.restartNode(id)))
    // They run, but refuse every request once their readmission failed: nobody admits them.
    for (const node of restarted) {
      await eventually(async () => {
        const error = await node.handleRequest({ op: 'metadata' }).then(
          () => undefined,
          (rejected: unknown) => rejected,
        )
        expect(isLaminarError(error, 'CONTROLLER_UNAVAILABLE')).toBe(true)
      }, 40_000)
      expect(controllerOf(node)).toBeUndefined()
    }
    // No leader was made from the two empty nodes: the survivor keeps its state, leaderless.
    expect(controllerOf(c.node('n1'))?.role).not.toBe('leader')
    const metadata = (await c.node('n1').handleRequest({ op: 'metadata' })) as ClusterMetadata
    expect(metadata.topics.map((t) => t.name)).toEqual(['kept'])
  }, 60_000)
})
