import { connect, isLaminarError, type LaminarClient, type Producer } from '@laminar-ts/core'
import type { SimHistory } from '../history'
import type { Simulation } from '../simulation'
import type { VirtualTimer } from '../timer-queue'
import type { LaminarNodeProcess } from './laminar-process'

/** Errors after which a send definitely did not write (the record was refused up front). */
const DEFINITE_FAILURES = new Set([
  'INVALID_ARGUMENT',
  'MESSAGE_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'TOPIC_NOT_FOUND',
])

export interface LaminarWorkloadOptions {
  topic?: string
  partitions?: number
  group?: string
  /** One send every this many ms. */
  sendIntervalMs?: number
  /** Bound on sends awaiting an answer. */
  sendsInFlightMax?: number
}

const decoder = new TextDecoder()

/**
 * A Maelstrom-kafka-style workload against LaminarNodes: a producer sending unique values, a
 * consumer group receiving them, and a final read of every partition; everything it sees goes
 * into the history's queue section for the queue checkers.
 */
export class LaminarWorkload {
  readonly topic: string
  readonly partitions: number
  readonly group: string
  readonly #sim: Simulation<LaminarNodeProcess>
  readonly #history: SimHistory
  readonly #sendIntervalMs: number
  readonly #sendsInFlightMax: number
  #client: LaminarClient | undefined
  #producer: Producer | undefined
  #timer: VirtualTimer | undefined
  #seq = 0
  #inFlight = 0
  readonly acked = new Set<string>()
  readonly consumed = new Set<string>()
  /** Every delivery handed to the consumer, redeliveries included. */
  deliveries = 0

  constructor(sim: Simulation<LaminarNodeProcess>, options: LaminarWorkloadOptions = {}) {
    this.#sim = sim
    this.#history = sim.history
    this.topic = options.topic ?? 'events'
    this.partitions = options.partitions ?? 2
    this.group = options.group ?? 'g'
    this.#sendIntervalMs = options.sendIntervalMs ?? 20
    this.#sendsInFlightMax = options.sendsInFlightMax ?? 32
  }

  /** Connect, create the topic and start the consumer; resolves false if the cluster never allowed it. */
  async setUp(timeoutMs: number): Promise<boolean> {
    const sim = this.#sim
    const context = sim.clientContext('client')
    let ready = false
    const attempt = async (): Promise<void> => {
      const client = await connect({
        brokers: sim.peers.map((peer) => peer.address),
        transport: context.transport,
        clock: context.clock,
        random: context.random,
        requestTimeoutMs: 1_000,
      })
      this.#client = client
      try {
        await client
          .admin()
          .createTopic({ topic: this.topic, partitions: this.partitions, replicationFactor: 3 })
      } catch (error) {
        if (!isLaminarError(error, 'TOPIC_EXISTS')) throw error
      }
      this.#producer = client.producer()
      const consumer = client.consumer({ groupId: this.group, ackWaitMs: 2_000 })
      await consumer.subscribe({ topic: this.topic })
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const value = decoder.decode(message.value)
            this.deliveries++
            this.consumed.add(value)
            this.#history.recordQueue({
              kind: 'poll',
              atMs: sim.nowMs,
              client: 'consumer',
              group: this.group,
              topic: this.topic,
              partition,
              records: [{ offset: message.offset, value }],
            })
          },
        })
        .catch(() => {})
      ready = true
    }
    const deadlineMs = sim.nowMs + timeoutMs
    while (!ready && sim.nowMs < deadlineMs) {
      let failed = false
      attempt().catch(() => {
        failed = true
      })
      await sim.runUntil(() => ready || failed, deadlineMs - sim.nowMs)
    }
    return ready
  }

  startSending(): void {
    const loop = (): void => {
      void this.sendOnce()
      this.#timer = this.#sim.time.schedule(this.#sendIntervalMs, loop)
    }
    this.#timer = this.#sim.time.schedule(this.#sendIntervalMs, loop)
  }

  stopSending(): void {
    if (this.#timer !== undefined) this.#sim.time.queue.cancel(this.#timer)
    this.#timer = undefined
  }

  /** Send one fresh value; resolves true when acknowledged. */
  async sendOnce(): Promise<boolean> {
    const producer = this.#producer
    if (producer === undefined || this.#inFlight >= this.#sendsInFlightMax) return false
    const value = `v${++this.#seq}`
    this.#inFlight++
    try {
      const [metadata] = await producer.send({ topic: this.topic, messages: [{ key: value, value }] })
      this.acked.add(value)
      this.#history.recordQueue({
        kind: 'send',
        atMs: this.#sim.nowMs,
        client: 'producer',
        topic: this.topic,
        partition: metadata!.partition,
        value,
        outcome: 'ok',
        offset: metadata!.offset,
      })
      return true
    } catch (error) {
      const definite = isLaminarError(error) && DEFINITE_FAILURES.has(error.code)
      this.#history.recordQueue({
        kind: 'send',
        atMs: this.#sim.nowMs,
        client: 'producer',
        topic: this.topic,
        partition: -1,
        value,
        outcome: definite ? 'failed' : 'unknown',
      })
      return false
    } finally {
      this.#inFlight--
    }
  }

  /** No send awaits an answer, and every acknowledged value has reached the consumer group. */
  caughtUp(): boolean {
    if (this.#inFlight > 0) return false
    for (const value of this.acked) if (!this.consumed.has(value)) return false
    return true
  }

  /** Read every partition from offset 0 and record it as the final state. */
  async finalRead(): Promise<void> {
    const client = this.#client
    if (client === undefined) return
    for (let partition = 0; partition < this.partitions; partition++) {
      const records = await client.read({ topic: this.topic, partition, fromOffset: 0, maxMessages: 100_000 })
      this.#history.recordQueue({
        kind: 'final',
        atMs: this.#sim.nowMs,
        topic: this.topic,
        partition,
        records: records.map((record) => ({ offset: record.offset, value: decoder.decode(record.value) })),
      })
    }
  }
}
