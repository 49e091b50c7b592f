import { vi } from 'vitest'
import { LaminarNode } from '../../src/index'
import type { Storage } from '../../src/ports/storage'
import { FAST_TUNING, type TestCluster } from './cluster'

/** Starts a node that joins `cluster` at run time through `seed`, and adds it to the cluster's maps. */
export async function joinNode(
  cluster: TestCluster,
  id: string,
  storage: Storage,
  seed = cluster.peers[0]!.address,
): Promise<LaminarNode> {
  const node = new LaminarNode({
    id,
    peers: [{ id, address: `node-${id}` }],
    join: [seed],
    transport: cluster.network.transport({ host: id }),
    storage,
    options: FAST_TUNING,
  })
  cluster.nodes.set(id, node)
  cluster.storages.set(id, storage)
  await node.start()
  return node
}

/** Polls until `check` stops throwing (membership changes take a few election rounds). */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 20 })
}

/** The group ids that own at least one key in `storage` (keys start `u16 length | utf-8 id`). */
export async function groupsWithKeys(storage: Storage): Promise<Set<string>> {
  const groups = new Set<string>()
  for (const { key } of await storage.range()) {
    const length = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint16(0)
    groups.add(new TextDecoder().decode(key.subarray(2, 2 + length)))
  }
  return groups
}

/** Sorted, for comparing replica sets. */
export const sorted = (ids: readonly string[]): string[] => [...ids].sort()
