/**
 * Raft core throughput: an in-memory 3-node cluster, no I/O, 1 KiB entries.
 * Run: cd packages/core && pnpm bench   (tsx --conditions=source bench/raft.bench.ts)
 *
 * - batched: proposals in batches of 64, the cluster driven until the batch commits; entries/s.
 * - single: one proposal at a time, the cluster driven until it commits; proposals/s.
 */
import { bootstrapConfState, MemoryLogStorage, type Message, RawNode } from '../src/raft/index'

const ENTRY_BYTES = 1024
const BATCH_SIZE = 64
const COMPACT_EVERY_ENTRIES = 8192

interface BenchNode {
  id: string
  raw: RawNode
  storage: MemoryLogStorage
  applied: number
}

class Cluster {
  readonly nodes: BenchNode[]
  private readonly byId = new Map<string, BenchNode>()
  private queue: Message[] = []
  committedEntries = 0

  constructor(ids: string[]) {
    const confState = bootstrapConfState(ids)
    let seed = 1
    const random = () => {
      seed = (seed * 16807) % 2147483647
      return seed / 2147483647
    }
    this.nodes = ids.map((id) => {
      const storage = new MemoryLogStorage({ confState })
      const raw = new RawNode({ id, electionTicks: 10, heartbeatTicks: 1, storage, random })
      return { id, raw, storage, applied: 0 }
    })
    for (const node of this.nodes) this.byId.set(node.id, node)
  }

  get leader(): BenchNode {
    return this.nodes[0] as BenchNode
  }

  /** Runs ready loops and delivers messages until nothing is left. */
  drive(): void {
    let active = true
    while (active) {
      active = false
      for (const node of this.nodes) {
        if (!node.raw.hasReady()) continue
        active = true
        const ready = node.raw.ready()
        if (ready.entries.length > 0) node.storage.append(ready.entries)
        if (ready.hardState) node.storage.setHardState(ready.hardState)
        for (const message of ready.messages) this.queue.push(message)
        const committed = ready.committedEntries
        if (committed.length > 0) {
          node.applied = (committed[committed.length - 1] as { index: number }).index
          if (node === this.leader) this.committedEntries += committed.length
        }
        node.raw.advance()
      }
      if (this.queue.length > 0) {
        active = true
        const batch = this.queue
        this.queue = []
        for (const message of batch) this.byId.get(message.to)?.raw.step(message)
      }
    }
  }

  /** Keeps memory flat: drops entries every node has applied. */
  maybeCompact(): void {
    let minApplied = Number.POSITIVE_INFINITY
    for (const node of this.nodes) minApplied = Math.min(minApplied, node.applied)
    for (const node of this.nodes) {
      if (minApplied - node.storage.firstIndex() >= COMPACT_EVERY_ENTRIES)
        node.storage.compact(minApplied - 1)
    }
  }
}

function setup(): Cluster {
  const cluster = new Cluster(['n1', 'n2', 'n3'])
  cluster.leader.raw.campaign()
  cluster.drive()
  if (cluster.leader.raw.status().role !== 'leader') throw new Error('no leader')
  return cluster
}

interface Rate {
  /** Per wall-clock second. */
  wall: number
  /** Per second of this process's CPU time (user + system): steadier on a shared machine. */
  cpu: number
}

function measure(count: number, run: () => void): Rate {
  const cpuStart = process.cpuUsage()
  const start = process.hrtime.bigint()
  run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const cpu = process.cpuUsage(cpuStart)
  return { wall: count / seconds, cpu: count / ((cpu.user + cpu.system) / 1e6) }
}

function benchBatched(totalEntries: number): Rate {
  const cluster = setup()
  const payload = new Uint8Array(ENTRY_BYTES)
  const leader = cluster.leader.raw
  const rate = measure(totalEntries, () => {
    for (let proposed = 0; proposed < totalEntries; proposed += BATCH_SIZE) {
      for (let i = 0; i < BATCH_SIZE; i++) leader.propose(payload)
      cluster.drive()
      cluster.maybeCompact()
    }
  })
  if (cluster.committedEntries < totalEntries) throw new Error('not everything committed')
  return rate
}

function benchSingle(totalProposals: number): Rate {
  const cluster = setup()
  const payload = new Uint8Array(ENTRY_BYTES)
  const leader = cluster.leader.raw
  return measure(totalProposals, () => {
    for (let i = 0; i < totalProposals; i++) {
      const before = cluster.committedEntries
      leader.propose(payload)
      cluster.drive()
      if (cluster.committedEntries === before) throw new Error('proposal did not commit')
      if ((i & 1023) === 0) cluster.maybeCompact()
    }
  })
}

function format(rate: number): string {
  return Math.round(rate).toLocaleString('en-US')
}

// Warm up the JIT, then measure.
benchBatched(64 * 500)
benchSingle(5_000)
const batched = benchBatched(64 * 10_000)
const single = benchSingle(100_000)
console.log(
  `raft batched: ${format(batched.wall)} entries/s committed (wall clock), ${format(batched.cpu)} per CPU-second ` +
    `(3 nodes in one process, ${ENTRY_BYTES} B entries, batches of ${BATCH_SIZE}; target >= 1,000,000)`,
)
console.log(
  `raft single:  ${format(single.wall)} proposals/s committed (wall clock), ${format(single.cpu)} per CPU-second ` +
    `(3 nodes in one process, ${ENTRY_BYTES} B entries, one at a time; target >= 100,000)`,
)
