import { afterEach, describe, expect, it, vi } from 'vitest'
import { KeyKind, LogKeys } from '../../src/log/keys'
import { storedGroupIds } from '../../src/log/stored-group-ids'
import type { Storage } from '../../src/ports/storage'
import { startCluster, type TestCluster, wipeableStorage } from './cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

async function groupIds(storage: Storage): Promise<string[]> {
  return (await storedGroupIds(storage, { groupsMax: 1000 })).groupIds
}

const partitionGroups = (ids: string[]): string[] => ids.filter((g) => g.startsWith('p/')).sort()
/** A replica log's group (`p/<topicId>/<partition>`): its epoch differs from node to node. */
const groupOf = (logId: string): string => logId.slice(0, logId.indexOf('@'))

describe('a node down while its topic was deleted', () => {
  it('clears the deleted partitions from its storage after restart and keeps the controller log', async () => {
    const { storageFor } = wipeableStorage()
    cluster = await startCluster(3, { storageFor })
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'doomed', partitions: 2, replicationFactor: 3 })
    await client.admin().createTopic({ topic: 'kept', partitions: 1, replicationFactor: 3 })
    const messages = Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 }))
    await client.producer().send({ topic: 'doomed', messages })
    await client.producer().send({ topic: 'kept', messages: [{ value: 'k', partition: 0 }] })
    await vi.waitFor(async () => {
      expect(partitionGroups(await groupIds(cluster!.storages.get('n3')!))).toHaveLength(3)
    })

    await cluster.stopNode('n3')
    await client.admin().deleteTopic({ topic: 'doomed' })
    // A partition log whose topic the controller's history no longer mentions (as after the
    // controller log is compacted past the topic's creation and deletion): replaying the
    // controller never reopens it, so only the start-up sweep can clear it.
    const orphan = new LogKeys('p/9999/0@9999')
    const downStorage = await storageFor('n3')
    await downStorage.write([
      { type: 'put', key: orphan.single(KeyKind.hardState), value: Uint8Array.of(1) },
      { type: 'put', key: orphan.indexed(KeyKind.entry, 1), value: Uint8Array.of(2) },
    ])
    await downStorage.close()
    const restarted = await cluster.restartNode('n3')
    const storage = cluster.storages.get('n3')!
    expect(restarted.state).toBe('running')

    const keptGroups = partitionGroups(await groupIds(cluster.storages.get('n1')!))
    expect(keptGroups).toHaveLength(1)
    await vi.waitFor(
      async () => {
        expect(partitionGroups(await groupIds(storage)).map(groupOf)).toEqual(keptGroups.map(groupOf))
      },
      { timeout: 5_000 },
    )
    expect(await storage.range({ gte: orphan.prefix, lt: orphan.groupEnd(), limit: 1 })).toEqual([])
    const ids = await groupIds(storage)
    expect(ids).toContain('controller')
    const controllerKeys = new LogKeys('controller')
    expect(
      await storage.range({ gte: controllerKeys.prefix, lt: controllerKeys.groupEnd(), limit: 1 }),
    ).toHaveLength(1)
    // No key at all remains under any group other than the controller's, the kept topic's and
    // the node's own facts (its storage id).
    for (const { key } of await storage.range({ limit: 100_000 })) {
      const length = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint16(0)
      if (length > 1024) continue
      const id = new TextDecoder().decode(key.subarray(2, 2 + length))
      expect(['controller', 'node-meta', ...keptGroups.map(groupOf)]).toContain(
        id.includes('@') ? groupOf(id) : id,
      )
    }
  })
})
