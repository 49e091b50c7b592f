import { type Clock, LaminarError } from '@laminar-ts/core'
import { MemoryNetwork } from '../network/memory-network'
import type { MemoryTransport } from '../network/memory-transport'
import { checkQueueHistory } from './checkers/queue-checkers'
import { RAFT_CHECKERS } from './checkers/raft-checkers'
import type { Checker, Violation } from './checkers/violation'
import { SimHistory } from './history'
import { CALM_LINKS, type LinkFaultSettings, SimulatedLinks } from './link-faults'
import { Prng } from './prng'
import type { ProcessContext, ProcessFactory, SimPeer, SimProcess } from './process'
import { RaftDiskObserver } from './raft/raft-disk-observer'
import { raftProcessFactory } from './raft/raft-process'
import { SimulatedDisk, SimulatedStorage, type StorageLatency } from './simulated-storage'
import type { CheckResult, NodeSlot, NodeState, SimulationOptions } from './simulation-options'
import { SortedMemoryStorage } from './sorted-memory-storage'
import { TraceHash } from './trace-hash'
import { ProcessClock, VirtualTime } from './virtual-clock'

/**
 * A deterministic world for a cluster: virtual time, an in-memory network with seeded faults,
 * disks that lose unsynced writes on crash, and processes (Raft processes by default, or any
 * {@link ProcessFactory}, such as one creating LaminarNodes). Same seed, same history.
 *
 * ```ts
 * const sim = new Simulation({ seed: 42, nodes: 3 })
 * sim.partition(['n1'], ['n2', 'n3'])
 * await sim.runFor(5_000)
 * sim.heal()
 * sim.crash('n2')
 * sim.restart('n2')
 * await sim.runFor(5_000)
 * expect(sim.check().violations).toEqual([])
 * ```
 */
export class Simulation<P extends SimProcess = SimProcess> {
  readonly seed: number
  readonly time = new VirtualTime()
  readonly network: MemoryNetwork
  readonly links: SimulatedLinks
  readonly history = new SimHistory()
  readonly peers: SimPeer[]
  /** The Raft view of every node's disk (fed by the simulated disks). */
  readonly disks: RaftDiskObserver
  /** Randomness for tests and workloads driving this simulation (its own stream). */
  readonly random: Prng
  readonly #trace = new TraceHash()
  readonly #factory: ProcessFactory<P>
  readonly #nodes = new Map<string, NodeSlot<P>>()
  readonly #faultRandom: Prng
  readonly #storageLatency: StorageLatency | undefined
  readonly #checkers: ReadonlyArray<{ name: string; check: Checker }>
  readonly #eventsPerRunMax: number
  #started = false
  #eventsRun = 0

  constructor(options: SimulationOptions<P>) {
    if (!Number.isInteger(options.seed)) throw new LaminarError('INVALID_ARGUMENT', 'seed must be an integer')
    const nodeCount = options.nodes ?? 3
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 64) {
      throw new LaminarError('INVALID_ARGUMENT', 'nodes must be an integer in [1, 64]')
    }
    this.seed = options.seed
    const root = new Prng(options.seed)
    this.links = new SimulatedLinks(root.fork(), { ...CALM_LINKS, ...options.links })
    this.#faultRandom = root.fork()
    this.random = root.fork()
    const globalClock: Clock = {
      now: () => this.time.nowMs,
      setTimer: (callback, delayMs) => this.time.schedule(delayMs, callback),
      clearTimer: (handle) => {
        if (handle !== undefined)
          this.time.queue.cancel(handle as Parameters<typeof this.time.queue.cancel>[0])
      },
    }
    // copyFrames: the simulated Raft processes pack every frame into one reused scratch buffer.
    this.network = new MemoryNetwork({ clock: globalClock, policy: this.links, copyFrames: true })
    // Every frame sent goes into the trace: two runs of a seed agree on every message.
    this.network.tap = (fromHost, toHost, frame) => {
      this.#trace.text(`${this.time.nowMs} ${fromHost}>${toHost} ${frame.byteLength} `)
      // The head of a frame names the message and its position; hashing it keeps the trace cheap.
      this.#trace.bytes(
        frame.byteLength <= TRACED_FRAME_BYTES ? frame : frame.subarray(0, TRACED_FRAME_BYTES),
      )
    }
    this.#factory = options.process ?? (raftProcessFactory() as unknown as ProcessFactory<P>)
    this.#storageLatency = options.storageLatency
    this.#checkers = options.checkers ?? []
    this.#eventsPerRunMax = options.eventsPerRunMax ?? 50_000_000
    this.disks = new RaftDiskObserver(Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`))
    this.peers = Array.from({ length: nodeCount }, (_, i) => ({ id: `n${i + 1}`, address: `n${i + 1}` }))
    for (const peer of this.peers) {
      const durable = options.durableStorage?.(peer.id) ?? new SortedMemoryStorage()
      const slot: NodeSlot<P> = {
        id: peer.id,
        disk: new SimulatedDisk(durable),
        random: root.fork(),
        state: 'down',
        incarnation: 0,
        skewMs: 0,
        clock: undefined,
        storage: undefined,
        process: undefined,
      }
      const mirror = this.disks.mirror(peer.id)
      slot.disk.onDurable = (changes) => mirror.apply(changes)
      this.#nodes.set(peer.id, slot)
    }
  }

  /** Node ids, n1..nN. */
  get nodeIds(): string[] {
    return this.peers.map((peer) => peer.id)
  }

  /** Current virtual time in milliseconds. */
  get nowMs(): number {
    return this.time.nowMs
  }

  /** Timers run so far. */
  get eventsRun(): number {
    return this.#eventsRun
  }

  /** Start every node's process (done by the first `runFor` if not called). */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    for (const peer of this.peers) await this.#nodes.get(peer.id)!.disk.durable.open()
    for (const peer of this.peers) this.#launch(this.#slot(peer.id))
  }

  /** Advance virtual time by `durationMs`, running everything due meanwhile. */
  async runFor(durationMs: number): Promise<void> {
    await this.runUntil(() => false, durationMs)
  }

  /**
   * Run until `predicate()` holds (checked after every timer) or `timeoutMs` passed.
   * Returns whether the predicate held.
   */
  async runUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (!(timeoutMs >= 0)) throw new LaminarError('INVALID_ARGUMENT', 'timeoutMs must be >= 0')
    await this.start()
    const endMs = this.time.nowMs + timeoutMs
    const queue = this.time.queue
    let budget = this.#eventsPerRunMax
    let lastDrainMs = -1
    for (;;) {
      // Continuations of the last event run before the next one. A macrotask turn drains the
      // microtask queue completely; it is paid once per instant of virtual time, and within an
      // instant a few microtask turns let short continuations through.
      if (lastDrainMs !== this.time.nowMs) {
        await drainMicrotasks()
        lastDrainMs = this.time.nowMs
      } else {
        for (let turn = 0; turn < MICROTASK_TURNS_PER_EVENT; turn++) await null
      }
      if (predicate()) return true
      let atMs = queue.peekAtMs()
      if (atMs !== undefined && atMs > this.time.nowMs && lastDrainMs === this.time.nowMs) {
        // Time is about to move: make sure nothing is left from this instant.
        await drainMicrotasks()
        if (predicate()) return true
        atMs = queue.peekAtMs()
      }
      if (atMs === undefined || atMs > endMs) break
      if (budget-- <= 0)
        throw new LaminarError('INTERNAL', `more than ${this.#eventsPerRunMax} events in one run`)
      const timer = queue.pop()!
      this.time.advanceTo(timer.atMs)
      this.#eventsRun++
      try {
        timer.callback()
      } catch (error) {
        this.history.recordError({ atMs: this.time.nowMs, node: '?', message: describe(error) })
      }
    }
    this.time.advanceTo(endMs)
    return predicate()
  }

  /** The process of a node that is up or paused, else undefined. */
  process(id: string): P | undefined {
    const slot = this.#slot(id)
    return slot.state === 'down' ? undefined : slot.process
  }

  /** Live processes (up or paused), by id. */
  processes(): Array<{ id: string; process: P }> {
    const result: Array<{ id: string; process: P }> = []
    for (const slot of this.#nodes.values()) {
      if (slot.state !== 'down' && slot.process !== undefined)
        result.push({ id: slot.id, process: slot.process })
    }
    return result
  }

  /**
   * Nodes whose process reports itself leader (processes exposing `status().role`, such as
   * RaftProcess); the nemesis aims some faults at them.
   */
  leaders(): string[] {
    const result: string[] = []
    for (const { id, process } of this.processes()) {
      const status = (process as { status?: () => { role?: string } }).status
      if (status !== undefined && status.call(process).role === 'leader') result.push(id)
    }
    return result
  }

  stateOf(id: string): NodeState {
    return this.#slot(id).state
  }

  /**
   * The dependencies of a client living beside the cluster (an application process that is
   * never crashed): a transport on host `name`, a clock on the virtual timeline, its own randomness.
   */
  clientContext(name: string): { transport: MemoryTransport; clock: ProcessClock; random: Prng } {
    if (this.#nodes.has(name)) throw new LaminarError('INVALID_ARGUMENT', `${name} is a node, not a client`)
    return {
      transport: this.network.transport({ host: name }),
      clock: new ProcessClock(this.time),
      random: this.random.fork(),
    }
  }

  // --- network faults -------------------------------------------------------------------------

  /** Cut every link between nodes of different groups (both directions). */
  partition(...groups: string[][]): void {
    this.links.partition(groups)
    this.#fault(`partition ${groups.map((g) => `[${g.join(',')}]`).join(' ')}`)
  }

  /** Cut `id` off from every other node. */
  isolate(id: string): void {
    this.links.partition([[id], this.nodeIds.filter((other) => other !== id)])
    this.#fault(`isolate ${id}`)
  }

  /** Frames from `from` to `to` are lost; the other direction still works. */
  oneWay(from: string, to: string): void {
    this.links.cut(from, to)
    this.#fault(`one-way cut ${from}->${to}`)
  }

  /** Two sides that cannot talk to each other, and `via` talking to both (Jepsen's bridge). */
  bridge(left: string[], right: string[], via: string): void {
    this.links.partition([left, right])
    this.#fault(`bridge [${left.join(',')}] <${via}> [${right.join(',')}]`)
  }

  /** Cut or restore one directed link (clogging). */
  clog(from: string, to: string): void {
    this.links.cut(from, to)
    this.#fault(`clog ${from}->${to}`)
  }

  unclog(from: string, to: string): void {
    this.links.restore(from, to)
    this.#fault(`unclog ${from}->${to}`)
  }

  /** Remove every cut. */
  heal(): void {
    this.links.heal()
    this.#fault('heal')
  }

  /** Change per-frame faults (drop, duplicate, reorder, delay). */
  setLinkFaults(settings: Partial<LinkFaultSettings>): void {
    this.links.settings = { ...this.links.settings, ...settings }
    this.#fault(`links ${JSON.stringify(this.links.settings)}`)
  }

  // --- process faults -------------------------------------------------------------------------

  /** Kill the node's process: memory lost, unsynced writes dropped or torn, connections reset. */
  crash(id: string): void {
    const slot = this.#slot(id)
    if (slot.state === 'down') return
    slot.clock?.kill()
    this.network.crashHost(id)
    ;(slot.process as { kill?: () => void } | undefined)?.kill?.()
    const outcome = slot.storage?.crash(this.#faultRandom)
    slot.state = 'down'
    slot.process = undefined
    this.#fault(
      `crash ${id}` +
        (outcome === undefined
          ? ''
          : ` (${outcome.survivingBatches}/${outcome.pendingBatches} pending batches kept)`),
    )
  }

  /** Start a new incarnation of a crashed node from what its disk kept. */
  restart(id: string): void {
    const slot = this.#slot(id)
    if (slot.state !== 'down') return
    this.#fault(`restart ${id}`)
    this.#launch(slot)
  }

  /** Freeze the node (like SIGSTOP): its timers and incoming deliveries wait for `resume`. */
  pause(id: string): void {
    const slot = this.#slot(id)
    if (slot.state !== 'up') return
    slot.state = 'paused'
    slot.clock?.pause()
    this.network.pauseHost(id)
    this.#fault(`pause ${id}`)
  }

  resume(id: string): void {
    const slot = this.#slot(id)
    if (slot.state !== 'paused') return
    slot.state = 'up'
    slot.clock?.resume()
    this.network.resumeHost(id)
    this.#fault(`resume ${id}`)
  }

  /** Jump the node's clock forward by `skewMs` (it never goes backwards: the Clock port is monotonic). */
  skewClock(id: string, skewMs: number): void {
    const slot = this.#slot(id)
    slot.skewMs += Math.max(0, skewMs)
    slot.clock?.setSkewMs(slot.skewMs)
    this.#fault(`skew ${id} +${skewMs}ms`)
  }

  // --- observation ----------------------------------------------------------------------------

  /** How many nodes hold the Raft entry (index, term) on disk now. */
  durableReplicas(index: number, term: number): number {
    return this.disks.durableReplicas(index, term)
  }

  /** Record every live Raft process's log, for the log-matching checker. */
  recordLogs(): void {
    const logs: Record<string, Array<{ term: number; digest: string }>> = {}
    for (const { id, process } of this.processes()) {
      const snapshot = (
        process as { logSnapshot?: () => Array<{ term: number; digest: string }> | undefined }
      ).logSnapshot
      const log = snapshot?.call(process)
      if (log !== undefined) logs[id] = log
    }
    this.history.recordRaft({ kind: 'logs', atMs: this.time.nowMs, logs })
  }

  /** Mix a line into the trace hash. */
  trace(text: string): void {
    this.#trace.text(`${this.time.nowMs} ${text}\n`)
  }

  /** The hash of everything traced so far: equal for two runs of one seed. */
  traceHash(): string {
    this.#trace.text(`end ${this.time.nowMs} ${this.#eventsRun}\n`)
    return this.#trace.hex()
  }

  /** Run every checker over the history recorded so far. */
  check(): CheckResult {
    this.recordLogs()
    const violations: Violation[] = []
    for (const { check } of RAFT_CHECKERS) violations.push(...check(this.history))
    violations.push(...checkQueueHistory(this.history))
    for (const { check } of this.#checkers) violations.push(...check(this.history))
    for (const error of this.history.errors) {
      violations.push({
        checker: 'process-error',
        message: `${error.node}: ${error.message}`,
        atMs: error.atMs,
      })
    }
    return { ok: violations.length === 0, violations }
  }

  /** Stop every live process in order (closing their storage), ending the run. */
  async stop(): Promise<void> {
    for (const slot of this.#nodes.values()) {
      if (slot.state === 'paused') this.resume(slot.id)
      if (slot.state === 'up') {
        const stopping = slot.process?.stop?.()
        slot.state = 'down'
        if (stopping !== undefined) await Promise.race([stopping, this.runFor(10_000)])
        slot.clock?.kill()
        this.network.crashHost(slot.id)
      }
    }
  }

  #launch(slot: NodeSlot<P>): void {
    slot.incarnation++
    const clock = new ProcessClock(this.time, slot.skewMs)
    const random = slot.random.fork()
    const storage = new SimulatedStorage({
      disk: slot.disk,
      clock,
      random: random.fork(),
      latency: this.#storageLatency,
    })
    const context: ProcessContext = {
      id: slot.id,
      peers: this.peers.map((peer) => ({ ...peer })),
      clock,
      random,
      transport: this.network.transport({ host: slot.id }),
      storage,
      incarnation: slot.incarnation,
      history: this.history,
      trace: (text) => this.trace(text),
      durableReplicas: (index, term) => this.durableReplicas(index, term),
      electableWithout: (index, term) => this.disks.checkFirstApply(index, term),
    }
    slot.clock = clock
    slot.storage = storage
    slot.state = 'up'
    const process = this.#factory(context)
    slot.process = process
    const incarnation = slot.incarnation
    process.start().catch((error: unknown) => {
      // A start cut short by a crash is expected; any other failure is a finding.
      if (slot.incarnation === incarnation && slot.state !== 'down') {
        this.history.recordError({
          atMs: this.time.nowMs,
          node: slot.id,
          message: `start failed: ${describe(error)}`,
        })
      }
    })
  }

  #slot(id: string): NodeSlot<P> {
    const slot = this.#nodes.get(id)
    if (slot === undefined) throw new LaminarError('INVALID_ARGUMENT', `no node ${id}`, { details: { id } })
    return slot
  }

  #fault(description: string): void {
    this.history.recordFault({ atMs: this.time.nowMs, description })
    this.trace(`fault ${description}`)
  }
}

/** Leading bytes of each frame mixed into the trace hash. */
const TRACED_FRAME_BYTES = 64

/** Microtask turns granted after an event that does not move time. */
const MICROTASK_TURNS_PER_EVENT = 4

/**
 * Let every promise continuation triggered by the last event run before the next event:
 * one macrotask turn drains the microtask queue (storage completes in microtasks).
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}
