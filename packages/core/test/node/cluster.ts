import { LevelStorage, openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { MemoryNetwork } from '@laminar-ts/transport-memory'
import { LaminarNode, type NodeTuning, type PeerConfig } from '../../src/index'
import type { Storage } from '../../src/ports/storage'

/** Fast ticks so elections take tens of milliseconds in tests. */
export const FAST_TUNING: Partial<NodeTuning> = {
  tickIntervalMs: 5,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 3_000,
  memberSessionTimeoutMs: 1_000,
}

export interface TestCluster {
  network: MemoryNetwork
  peers: PeerConfig[]
  nodes: Map<string, LaminarNode>
  storages: Map<string, Storage>
  node(id: string): LaminarNode
  /** Stops a node gracefully (keeps its storage for a restart when persistent). */
  stopNode(id: string): Promise<void>
  /** Starts a stopped node again on fresh storage from `storageFor`. */
  restartNode(id: string): Promise<LaminarNode>
  close(): Promise<void>
}

/** n in-process nodes on one MemoryNetwork with memory-level storage, started. */
export async function startCluster(
  size: number,
  options: { tuning?: Partial<NodeTuning>; storageFor?: (id: string) => Promise<Storage> } = {},
): Promise<TestCluster> {
  const network = new MemoryNetwork()
  const peers = Array.from({ length: size }, (_, i) => ({ id: `n${i + 1}`, address: `node-${i + 1}` }))
  const nodes = new Map<string, LaminarNode>()
  const storages = new Map<string, Storage>()
  const storageFor = options.storageFor ?? (() => openMemoryLevelStorage())
  const make = async (id: string): Promise<LaminarNode> => {
    const storage = await storageFor(id)
    storages.set(id, storage)
    const node = new LaminarNode({
      id,
      peers,
      transport: network.transport({ host: id }),
      storage,
      options: { ...FAST_TUNING, ...options.tuning },
    })
    nodes.set(id, node)
    return node
  }
  for (const peer of peers) await make(peer.id)
  await Promise.all([...nodes.values()].map((n) => n.start()))
  return {
    network,
    peers,
    nodes,
    storages,
    node: (id) => nodes.get(id)!,
    stopNode: async (id) => {
      await nodes.get(id)!.stop()
    },
    restartNode: async (id) => {
      const node = await make(id)
      await node.start()
      return node
    },
    close: async () => {
      await Promise.all([...nodes.values()].map((n) => n.stop()))
    },
  }
}

export const text = (bytes: Uint8Array | null | undefined): string =>
  bytes === null || bytes === undefined ? '' : new TextDecoder().decode(bytes)

/**
 * Memory-level storage that survives a node's restarts (a memory-level database keeps its data
 * across close and reopen, so a restarted node gets a new Storage over the same database),
 * except for a node whose disk the test wipes.
 */
export function wipeableStorage(): {
  storageFor: (id: string) => Promise<Storage>
  wipe: (id: string) => void
} {
  const databases = new Map<string, LevelStorage['db']>()
  const wiped = new Set<string>()
  return {
    wipe: (id) => wiped.add(id),
    storageFor: async (id) => {
      const db = databases.get(id)
      if (db === undefined || wiped.delete(id)) {
        const storage = await openMemoryLevelStorage()
        databases.set(id, storage.db)
        return storage
      }
      const storage = new LevelStorage(db, {
        supports: { persistent: false, sync: false },
        sharesBuffers: true,
      })
      await storage.open()
      return storage
    },
  }
}
