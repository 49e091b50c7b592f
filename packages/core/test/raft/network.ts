/**
 * A test cluster: RawNodes over MemoryLogStorage, wired by an in-memory message queue that
 * tests can inspect, filter, drop, duplicate and reorder. `stabilize()` runs ready loops and
 * delivers messages until nothing is left to do.
 */
import {
  bootstrapConfState,
  type ConfState,
  decodeConfChange,
  type Entry,
  MemoryLogStorage,
  type Message,
  type RaftConfig,
  RawNode,
  type ReadState,
} from '../../src/raft/index'

/** A small deterministic PRNG (mulberry32): seeds make failures reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What `fn` throws, or undefined if it returns. */
export function caught(fn: () => void): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

export const encoder = new TextEncoder()
export const decoder = new TextDecoder()

export function bytes(text: string): Uint8Array {
  return encoder.encode(text)
}

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage'>>

export interface TestNode {
  id: string
  raw: RawNode
  storage: MemoryLogStorage
  /** Every committed entry this node applied, in order (including no-ops and conf changes). */
  applied: Entry[]
  readStates: ReadState[]
  confState: ConfState
  /** Set when the node applied a snapshot; `applied` then holds only entries after it. */
  snapshotIndex: number
  /**
   * The replicated state machine: one "index:term:type:hex" line per applied entry, from index 1.
   * Snapshots carry it (encodeState), so it survives compaction and restarts.
   */
  state: string[]
}

export function entryKey(entry: Entry): string {
  let hex = ''
  for (const byte of entry.data) hex += byte.toString(16).padStart(2, '0')
  return `${entry.index}:${entry.term}:${entry.type}:${hex}`
}

export function encodeState(state: string[]): Uint8Array {
  return encoder.encode(JSON.stringify(state))
}

export function decodeState(data: Uint8Array): string[] {
  return data.byteLength === 0 ? [] : (JSON.parse(decoder.decode(data)) as string[])
}

export interface NetworkOptions {
  seed?: number
  config?: ConfigOverrides
  /** Ids that start as learners. */
  learners?: string[]
}

export function makeConfig(
  id: string,
  storage: MemoryLogStorage,
  random: () => number,
  overrides?: ConfigOverrides,
) {
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    storage,
    random,
    ...overrides,
  } satisfies RaftConfig
}

export class Network {
  readonly nodes = new Map<string, TestNode>()
  /** Messages sent and not yet delivered, in send order. */
  pending: Message[] = []
  /** Nodes that neither send nor receive. */
  readonly isolated = new Set<string>()
  /** Directed links "from->to" that drop everything. */
  readonly cutLinks = new Set<string>()
  /** Every message ever delivered, for assertions. */
  readonly delivered: Message[] = []
  recordDelivered = false
  readonly random: () => number
  private readonly options: NetworkOptions

  constructor(ids: string[], options: NetworkOptions = {}) {
    this.options = options
    this.random = seededRandom(options.seed ?? 1)
    if (ids.length === 0) return
    const confState = bootstrapConfState(
      ids.filter((id) => !options.learners?.includes(id)),
      options.learners ?? [],
    )
    for (const id of ids) this.addNode(id, new MemoryLogStorage({ confState }))
  }

  /** Adds a node over `storage` (an empty one joins as a blank replica, to be added by a conf change). */
  addNode(
    id: string,
    storage: MemoryLogStorage = new MemoryLogStorage(),
    overrides?: ConfigOverrides,
  ): TestNode {
    const raw = new RawNode(makeConfig(id, storage, this.random, { ...this.options.config, ...overrides }))
    const node: TestNode = {
      id,
      raw,
      storage,
      applied: [],
      readStates: [],
      confState: storage.initialState().confState,
      snapshotIndex: storage.snapshot().metadata.index,
      state: decodeState(storage.snapshot().data),
    }
    this.nodes.set(id, node)
    return node
  }

  /**
   * Crash and restart: a new RawNode over the same storage (only what was persisted survives).
   * The state machine is rebuilt by re-applying from the start of the log (applied = 0).
   */
  restart(id: string): void {
    const old = this.node(id)
    const raw = new RawNode(makeConfig(id, old.storage, this.random, this.options.config))
    this.nodes.set(id, {
      ...old,
      raw,
      applied: [],
      readStates: [],
      confState: old.storage.initialState().confState,
      state: decodeState(old.storage.snapshot().data),
    })
  }

  node(id: string): TestNode {
    const node = this.nodes.get(id)
    if (!node) throw new Error(`no node ${id}`)
    return node
  }

  raw(id: string): RawNode {
    return this.node(id).raw
  }

  /** Runs one ready cycle on a node: persist, queue messages, apply, advance. Returns whether there was a Ready. */
  processReady(id: string): boolean {
    const node = this.node(id)
    if (!node.raw.hasReady()) return false
    const ready = node.raw.ready()
    if (ready.snapshot) {
      node.storage.applySnapshot(ready.snapshot)
      node.snapshotIndex = ready.snapshot.metadata.index
      node.confState = ready.snapshot.metadata.confState
      node.applied = []
      node.state = decodeState(ready.snapshot.data)
    }
    node.storage.append(ready.entries)
    if (ready.hardState) node.storage.setHardState(ready.hardState)
    if (!this.isolated.has(id)) {
      for (const message of ready.messages) this.pending.push(message)
    } else {
      for (const message of ready.messages) this.reportLost(message)
    }
    for (const entry of ready.committedEntries) {
      node.applied.push(entry)
      node.state.push(entryKey(entry))
      if (entry.type === 'confChange') node.confState = node.raw.applyConfChange(decodeConfChange(entry.data))
    }
    for (const readState of ready.readStates) node.readStates.push(readState)
    node.raw.advance()
    return true
  }

  /** Ready cycles on every node until none has a Ready (bounded). Returns whether anything happened. */
  processReadies(): boolean {
    let any = false
    for (let round = 0; round < 100; round++) {
      let progressed = false
      for (const id of this.nodes.keys()) if (this.processReady(id)) progressed = true
      if (!progressed) break
      any = true
    }
    return any
  }

  canDeliver(message: Message): boolean {
    if (this.isolated.has(message.from) || this.isolated.has(message.to)) return false
    if (this.cutLinks.has(`${message.from}->${message.to}`)) return false
    return this.nodes.has(message.to)
  }

  /** Delivers one message (if the network lets it through). */
  deliver(message: Message): void {
    if (!this.canDeliver(message)) {
      this.reportLost(message)
      return
    }
    if (this.recordDelivered) this.delivered.push(message)
    this.node(message.to).raw.step(message)
    // The host reports how a snapshot send ended; without it the leader waits for it forever.
    if (message.type === 'snap') this.nodes.get(message.from)?.raw.reportSnapshot(message.to, 'finish')
  }

  /** A message that will never arrive: a lost snapshot is reported to its sender, as a host would. */
  reportLost(message: Message): void {
    if (message.type === 'snap') this.nodes.get(message.from)?.raw.reportSnapshot(message.to, 'failure')
  }

  /**
   * Snapshots the node's state machine at its applied index and compacts its log there.
   * Returns false when there is nothing new to compact.
   */
  compact(id: string): boolean {
    const node = this.node(id)
    const applied = node.raw.status().applied
    if (applied <= node.storage.snapshot().metadata.index || applied > node.storage.lastIndex()) return false
    if (node.state.length !== applied)
      throw new Error(`${id}: state has ${node.state.length} entries, applied ${applied}`)
    node.storage.createSnapshot(applied, node.confState, encodeState(node.state))
    node.storage.compact(applied)
    return true
  }

  /** Delivers everything pending now (not what those deliveries send). Returns how many were pending. */
  deliverPending(filter?: (message: Message) => boolean): number {
    const batch = this.pending
    this.pending = []
    for (const message of batch) {
      if (filter && !filter(message)) continue
      this.deliver(message)
    }
    return batch.length
  }

  /** Processes readies and delivers messages until quiet. Throws if it does not settle. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processReadies()
      if (this.pending.length === 0) return
      this.deliverPending()
    }
    throw new Error('network did not stabilize')
  }

  tick(id: string, times = 1): void {
    for (let i = 0; i < times; i++) this.raw(id).tick()
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const node of this.nodes.values()) node.raw.tick()
  }

  /** Campaigns on `id` and stabilizes. */
  elect(id: string): void {
    this.raw(id).campaign()
    this.stabilize()
  }

  isolate(id: string): void {
    this.isolated.add(id)
  }

  cut(a: string, b: string): void {
    this.cutLinks.add(`${a}->${b}`)
    this.cutLinks.add(`${b}->${a}`)
  }

  heal(): void {
    this.isolated.clear()
    this.cutLinks.clear()
  }

  leaders(): string[] {
    return [...this.nodes.values()]
      .filter((node) => node.raw.status().role === 'leader')
      .map((node) => node.id)
  }

  /** Data of applied non-empty normal entries, decoded as text. */
  appliedData(id: string): string[] {
    return this.node(id)
      .applied.filter((entry) => entry.type === 'normal' && entry.data.byteLength > 0)
      .map((entry) => decoder.decode(entry.data))
  }
}
