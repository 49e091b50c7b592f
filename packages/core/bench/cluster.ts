/**
 * The benchmarks' in-process cluster: three LaminarNodes (n1..n3) on one MemoryNetwork, each
 * with its own memory-level storage, started. Nodes added later (a joiner) use the same network.
 */
import { openMemoryLevelStorage } from '@laminar-ts/storage-level'
import { MemoryNetwork } from '@laminar-ts/transport-memory'
import { LaminarNode, type NodeTuning } from '../src/index'

export interface BenchCluster {
  network: MemoryNetwork
  nodes: LaminarNode[]
  /** A node joining the running cluster through n1 (started). */
  join(id: string): Promise<LaminarNode>
}

export async function startBenchCluster(options: Partial<NodeTuning>): Promise<BenchCluster> {
  const network = new MemoryNetwork()
  const peers = [1, 2, 3].map((i) => ({ id: `n${i}`, address: `bench-${i}` }))
  const nodes = await Promise.all(
    peers.map(
      async (p) =>
        new LaminarNode({
          id: p.id,
          peers,
          transport: network.transport({ host: p.id }),
          storage: await openMemoryLevelStorage(),
          options,
        }),
    ),
  )
  await Promise.all(nodes.map((n) => n.start()))
  return {
    network,
    nodes,
    async join(id) {
      const node = new LaminarNode({
        id,
        peers: [{ id, address: `bench-${id}` }],
        join: ['bench-1'],
        transport: network.transport({ host: id }),
        storage: await openMemoryLevelStorage(),
        options,
      })
      await node.start()
      return node
    },
  }
}

/** Process CPU microseconds (user + system) since `since`. */
export function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

/** Minor page faults of the process so far: on this VM touching fresh memory costs more than copying it. */
export function pageFaults(): number {
  return process.resourceUsage().minorPageFault
}
