import {
  type Admin,
  type ClusterDescription,
  connect,
  isLaminarError,
  type LaminarClient,
} from '@laminar-ts/core'
import type { Prng } from '../prng'
import type { Simulation } from '../simulation'
import type { VirtualTimer } from '../timer-queue'
import type { LaminarNodeProcess } from './laminar-process'

export interface MembershipChurnOptions {
  topic: string
  partitions: number
  replicationFactor: number
  /** One membership operation tried every this many simulated ms. */
  intervalMs?: number
  /** Remove one node (chosen at random) after this many operations; never when undefined. */
  removeAfterOperations?: number
  /**
   * 'random' (default): each move goes to a random set of members. 'round trip': a partition is
   * moved off one of its nodes and, once that completed, back onto it (the node comes back as a
   * new replica id, beside a group that knew its earlier one), then the next partition.
   */
  pattern?: 'random' | 'round trip'
}

/** A partition being moved off `nodeId` and back onto `original`. */
interface RoundTrip {
  partition: number
  nodeId: string
  original: string[]
  /** The controller showed the node out of the target once: moving back is next. */
  wasOff: boolean
}

/**
 * Membership changes under the fault mix, beside the producer and the consumer group: every
 * interval it moves a random partition whose previous move completed onto a random set of
 * active members (so replicas come and go, the joined node among them), and once removes a
 * random node (its replicas move off, the controller replaces it as a voter). Operations that
 * fail under faults (TIMEOUT, NOT_LEADER...) are traced and simply tried again later: the queue
 * checkers judge what producers and consumers saw meanwhile.
 */
export class MembershipChurn {
  readonly #sim: Simulation<LaminarNodeProcess>
  readonly #options: Required<Omit<MembershipChurnOptions, 'removeAfterOperations'>> & {
    removeAfterOperations: number | undefined
  }
  #trip: RoundTrip | undefined
  readonly #random: Prng
  #client: LaminarClient | undefined
  #timer: VirtualTimer | undefined
  #busy = false
  #operations = 0
  #removed = false
  /** Reassignments the controller accepted, and removals. */
  moves = 0
  removals = 0
  /** Partitions moved off a node and back onto it (round-trip pattern). */
  roundTrips = 0

  constructor(sim: Simulation<LaminarNodeProcess>, random: Prng, options: MembershipChurnOptions) {
    this.#sim = sim
    this.#random = random
    this.#options = {
      intervalMs: 300,
      pattern: 'random',
      ...options,
      removeAfterOperations: options.removeAfterOperations,
    }
  }

  start(): void {
    const loop = (): void => {
      if (!this.#busy) {
        this.#busy = true
        void this.#operate().finally(() => {
          this.#busy = false
        })
      }
      this.#timer = this.#sim.time.schedule(this.#options.intervalMs, loop)
    }
    this.#timer = this.#sim.time.schedule(this.#options.intervalMs, loop)
  }

  stop(): void {
    if (this.#timer !== undefined) this.#sim.time.queue.cancel(this.#timer)
    this.#timer = undefined
    this.#client?.close()
    this.#client = undefined
  }

  async #operate(): Promise<void> {
    try {
      const client = await this.#connect()
      const admin = client.admin()
      const cluster = await admin.describeCluster()
      const active = cluster.members.filter((m) => !m.leaving).map((m) => m.id)
      this.#operations++
      const removeAt = this.#options.removeAfterOperations
      if (!this.#removed && removeAt !== undefined && this.#operations >= removeAt) {
        if (active.length <= this.#options.replicationFactor) return
        const nodeId = this.#random.pick(active)
        this.#removed = true
        this.#sim.trace(`churn remove ${nodeId}`)
        await admin.removeNode(nodeId)
        this.removals++
        return
      }
      if (this.#options.pattern === 'round trip') return await this.#roundTrip(admin, cluster, active)
      const idle = cluster.partitions.filter((p) => p.topic === this.#options.topic && !p.reassigning)
      if (idle.length === 0 || active.length < this.#options.replicationFactor) return
      const partition = this.#random.pick(idle).partition
      const replicas = this.#random.shuffle([...active]).slice(0, this.#options.replicationFactor)
      this.#sim.trace(`churn move ${this.#options.topic}/${partition} -> ${replicas.join(',')}`)
      await admin.reassignPartition({ topic: this.#options.topic, partition, replicas })
      this.moves++
    } catch (error) {
      this.#sim.trace(`churn failed: ${isLaminarError(error) ? error.code : String(error)}`)
    }
  }

  /**
   * One step of the round trip, judged from the controller's placement (a request that failed
   * under faults may still have committed): start a trip off a random replica onto a member
   * outside the partition; once the node is out of the settled target, move back; once it is in
   * the settled target again, the trip is done.
   */
  async #roundTrip(admin: Admin, cluster: ClusterDescription, active: string[]): Promise<void> {
    const partitions = cluster.partitions.filter((p) => p.topic === this.#options.topic)
    const trip = this.#trip
    if (trip === undefined) {
      const idle = partitions.filter((p) => !p.reassigning)
      if (idle.length === 0) return
      const chosen = this.#random.pick(idle)
      const outsiders = active.filter((id) => !chosen.replicas.includes(id))
      if (outsiders.length === 0) return
      const nodeId = this.#random.pick(chosen.replicas)
      this.#trip = { partition: chosen.partition, nodeId, original: [...chosen.replicas], wasOff: false }
      return this.#roundTrip(admin, cluster, active)
    }
    const state = partitions.find((p) => p.partition === trip.partition)
    if (state === undefined || state.reassigning) return
    const target = `${this.#options.topic}/${trip.partition}`
    if (!state.replicas.includes(trip.nodeId)) {
      trip.wasOff = true
      this.#sim.trace(`churn round trip ${target} back onto ${trip.nodeId}`)
      await admin.reassignPartition({
        topic: this.#options.topic,
        partition: trip.partition,
        replicas: trip.original,
      })
      this.moves++
    } else if (trip.wasOff) {
      this.#sim.trace(`churn round trip ${target} done: ${trip.nodeId} is back`)
      this.roundTrips++
      this.#trip = undefined
    } else {
      const outsiders = active.filter((id) => !state.replicas.includes(id))
      if (outsiders.length === 0) return
      const replacement = this.#random.pick(outsiders)
      const replicas = state.replicas.map((id) => (id === trip.nodeId ? replacement : id))
      this.#sim.trace(`churn round trip ${target} off ${trip.nodeId} -> ${replicas.join(',')}`)
      await admin.reassignPartition({ topic: this.#options.topic, partition: trip.partition, replicas })
      this.moves++
    }
  }

  async #connect(): Promise<LaminarClient> {
    if (this.#client !== undefined) return this.#client
    const context = this.#sim.clientContext('churn')
    this.#client = await connect({
      brokers: this.#sim.peers.map((peer) => peer.address),
      transport: context.transport,
      clock: context.clock,
      random: context.random,
      requestTimeoutMs: 1_000,
      attemptsMax: 5,
    })
    return this.#client
  }
}
