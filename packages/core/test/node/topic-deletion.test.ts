import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Storage } from '../../src/ports/storage'
import { startCluster, type TestCluster } from './cluster'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

/** The group ids that own at least one key in `storage` (keys start `u16 length | utf-8 id`). */
async function groupsWithKeys(storage: Storage): Promise<Set<string>> {
  const groups = new Set<string>()
  for (const { key } of await storage.range()) {
    const length = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint16(0)
    groups.add(new TextDecoder().decode(key.subarray(2, 2 + length)))
  }
  return groups
}

const partitionGroups = (groups: Set<string>): string[] =>
  [...groups].filter((g) => g.startsWith('p/')).sort()

describe('deleting a topic', () => {
  it('clears its partition logs from every replica, and a re-created topic starts empty', async () => {
    cluster = await startCluster(3)
    const client = cluster.node('n1').client()
    await client.admin().createTopic({ topic: 'doomed', partitions: 2, replicationFactor: 3 })
    const messages = Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 }))
    await client.producer().send({ topic: 'doomed', messages })
    // Every replica wrote both partitions' logs.
    await vi.waitFor(async () => {
      for (const storage of cluster!.storages.values()) {
        expect(partitionGroups(await groupsWithKeys(storage))).toHaveLength(2)
      }
    })
    const doomedGroups = partitionGroups(await groupsWithKeys(cluster.storages.get('n1')!))

    await client.admin().deleteTopic({ topic: 'doomed' })
    await vi.waitFor(async () => {
      for (const storage of cluster!.storages.values()) {
        expect(partitionGroups(await groupsWithKeys(storage))).toEqual([])
      }
    })
    // The controller's own log is untouched.
    for (const storage of cluster.storages.values()) {
      expect((await groupsWithKeys(storage)).size).toBeGreaterThan(0)
    }

    await client.admin().createTopic({ topic: 'doomed', partitions: 2, replicationFactor: 3 })
    for (let partition = 0; partition < 2; partition++) {
      expect(await client.read({ topic: 'doomed', partition, fromOffset: 0 })).toEqual([])
    }
    const [first] = await client
      .producer()
      .send({ topic: 'doomed', messages: [{ value: 'again', partition: 0 }] })
    expect(first!.offset).toBe(0)
    const reread = await client.read({ topic: 'doomed', partition: 0, fromOffset: 0 })
    expect(reread.map((r) => new TextDecoder().decode(r.value ?? undefined))).toEqual(['again'])
    // The re-created topic's groups are new ones, not the deleted ones revived.
    const now = partitionGroups(await groupsWithKeys(cluster.storages.get('n1')!))
    for (const group of now) expect(doomedGroups).not.toContain(group)
  })
})
