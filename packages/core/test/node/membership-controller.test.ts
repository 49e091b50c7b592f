import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClassicLevelStorage, openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LaminarNode } from '../../src/index'
import { FAST_TUNING, startCluster, type TestCluster } from './cluster'
import { eventually, joinNode, sorted } from './joining-cluster'

let cluster: TestCluster | undefined
let dir: string | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('the controller group at run time', () => {
  it('grows to 5 voters as nodes join and shrinks back to 3 when one is removed', async () => {
    cluster = await startCluster(3)
    const c = cluster
    const admin = c.node('n1').client().admin()
    await joinNode(c, 'n4', await openMemoryLevelStorage())
    // 4 members: still 3 voters, the joined node follows as a learner.
    await eventually(async () => {
      const described = await admin.describeCluster()
      expect(sorted(described.controllerVoters)).toEqual(['n1', 'n2', 'n3'])
      expect(described.controllerLearners).toEqual(['n4'])
    })
    await joinNode(c, 'n5', await openMemoryLevelStorage(), 'node-2')
    await eventually(async () => {
      expect(sorted((await admin.describeCluster()).controllerVoters)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'])
    })
    // Every node applies the same configuration, the joined ones included.
    for (const id of ['n2', 'n4', 'n5']) {
      await eventually(async () => {
        const seen = (await c.node(id).handleRequest({ op: 'describeCluster' })) as {
          controllerVoters: string[]
        }
        expect(seen.controllerVoters).toHaveLength(5)
      })
    }

    await admin.removeNode('n5')
    await eventually(async () => {
      const described = await admin.describeCluster()
      expect(described.members.map((m) => m.id)).not.toContain('n5')
      expect(described.controllerVoters).toHaveLength(3)
      expect([...described.controllerVoters, ...described.controllerLearners]).not.toContain('n5')
    })
    // The shrunk controller still commits.
    await admin.createTopic({ topic: 'after-shrink', partitions: 1, replicationFactor: 3 })
    expect(await admin.listTopics()).toContain('after-shrink')
  })

  it('restarts a joined node from its stored admission and catches up', async () => {
    dir = await mkdtemp(join(tmpdir(), 'laminar-rejoin-'))
    cluster = await startCluster(3)
    const c = cluster
    const path = join(dir, 'n4')
    await joinNode(c, 'n4', await openClassicLevelStorage(path))
    await eventually(async () => {
      expect((await c.node('n1').client().admin().describeCluster()).controllerLearners).toContain('n4')
    })
    await c.stopNode('n4')
    await c
      .node('n1')
      .client()
      .admin()
      .createTopic({ topic: 'while-down', partitions: 1, replicationFactor: 3 })
    // It restarts from its stored admission; the seed only tells it where the members are (it
    // was stopped before its controller log held their joins).
    const restarted = new LaminarNode({
      id: 'n4',
      peers: [{ id: 'n4', address: 'node-n4' }],
      join: ['node-2'],
      transport: c.network.transport({ host: 'n4' }),
      storage: await openClassicLevelStorage(path),
      options: FAST_TUNING,
    })
    c.nodes.set('n4', restarted)
    await restarted.start()
    await eventually(async () => {
      expect(await restarted.client().admin().listTopics()).toContain('while-down')
    })
  })
})
