import { connect, isLaminarError, type LaminarClient } from '@laminar-ts/core'
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
  readonly #random: Prng
  #client: LaminarClient | undefined
  #timer: VirtualTimer | undefined
  #busy = false
  #operations = 0
  #removed = false
  /** Reassignments the controller accepted, and removals. */
  moves = 0
  removals = 0

  constructor(sim: Simulation<LaminarNodeProcess>, random: Prng, options: MembershipChurnOptions) {
    this.#sim = sim
    this.#random = random
    this.#options = { intervalMs: 300, ...options, removeAfterOperations: options.removeAfterOperations }
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
