import { isLaminarError, LaminarError } from '../errors/laminar-error'
import type { FetchResult, GroupOptions, StartPosition } from '../node/protocol'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { BrokerRouter } from './broker-router'
import { DeliveredMessage, type PartitionState } from './delivered-message'
import { assertName, assertPositiveInteger } from './limits'
import { SettleSender } from './settle-sender'

/** Fetches a partition loop makes back to back before yielding to the event loop. */
const FETCHES_PER_YIELD = 8

export interface ConsumerOptions {
  groupId: string
  /** Messages delivered to this consumer and not yet settled, per partition (default 256). */
  maxInFlight?: number
  /** Redelivered when not acked within this (default 30 s). */
  ackWaitMs?: number
  /** Dead-lettered after this many deliveries; 0 = never (default 0). */
  maxDeliveries?: number
  deadLetterTopic?: string | null
  /** Where a new group starts (default earliest). */
  startPosition?: StartPosition
  /** Messages with one key never in flight to two members at once (default false). */
  perKeyOrdering?: boolean
  /** Long-poll wait per fetch (default 500 ms). */
  fetchWaitMs?: number
}

/** A delivered message. Settle it exactly once with ack() or nack(); working() extends its deadline. */
export interface ConsumerMessage {
  topic: string
  partition: number
  offset: number
  key: Uint8Array | null
  value: Uint8Array
  headers: Record<string, Uint8Array>
  timestampMs: number
  /** 1 on first delivery. */
  deliveryCount: number
  ack(): void
  /** Redeliver, after `delayMs` when given. */
  nack(options?: { delayMs?: number }): void
  /** Still working on it: restarts the ack deadline. */
  working(): void
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: ConsumerMessage
}

/**
 * A member of a consumer group. Every member fetches from every partition of its topics; each
 * partition leader's dispatcher hands messages round-robin to the members with credit.
 * At-least-once: unacked messages come back after ackWaitMs, a nack, or this member's loss.
 */
export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly groupId: string
  readonly memberId: string
  readonly #router: BrokerRouter
  readonly #clock: Clock
  readonly #maxInFlight: number
  readonly #fetchWaitMs: number
  readonly #groupOptions: GroupOptions
  readonly #topics = new Set<string>()
  readonly #partitions = new Map<string, PartitionState>()
  /** Received, not yet handed out: a queue read from `#inboxHead` (no O(n) shift per message). */
  #inbox: ConsumerMessage[] = []
  #inboxHead = 0
  #inboxWaiter: (() => void) | undefined
  #running = false
  #stopped = false
  readonly #loops: Promise<void>[] = []
  /** What delivered messages settle through (one object for all of them). */
  readonly #settles: SettleSender

  /** @internal Use `client.consumer()`. */
  constructor(router: BrokerRouter, clock: Clock, random: Random, options: ConsumerOptions) {
    assertName(options.groupId, 'group')
    this.groupId = options.groupId
    this.memberId = `${options.groupId}-${Math.floor(random.next() * 2 ** 48).toString(36)}`
    this.#router = router
    this.#clock = clock
    this.#maxInFlight = options.maxInFlight ?? 256
    assertPositiveInteger(this.#maxInFlight, 'maxInFlight', 65_536)
    this.#settles = new SettleSender({
      router,
      clock,
      groupId: this.groupId,
      memberId: this.memberId,
      maxInFlight: this.#maxInFlight,
      partitions: () => this.#partitions.values(),
      caughtUp: () => this.#inboxHead >= this.#inbox.length,
      isStopped: () => this.#stopped,
    })
    this.#fetchWaitMs = options.fetchWaitMs ?? 500
    const ackWaitMs = options.ackWaitMs ?? 30_000
    assertPositiveInteger(ackWaitMs, 'ackWaitMs')
    const maxDeliveries = options.maxDeliveries ?? 0
    assertPositiveInteger(maxDeliveries, 'maxDeliveries')
    const deadLetterTopic = options.deadLetterTopic ?? null
    if (deadLetterTopic !== null) assertName(deadLetterTopic, 'topic')
    this.#groupOptions = {
      ackWaitMs,
      maxDeliveries,
      deadLetterTopic,
      startPosition: options.startPosition ?? { type: 'earliest' },
      perKeyOrdering: options.perKeyOrdering ?? false,
    }
  }

  async subscribe(options: { topic: string }): Promise<void> {
    assertName(options.topic, 'topic')
    await this.#router.topic(options.topic) // TOPIC_NOT_FOUND early
    this.#topics.add(options.topic)
    if (this.#running) await this.#startTopic(options.topic)
  }

  /** Calls `eachMessage` for every message, one at a time: ack when it resolves, nack when it throws. */
  async run(options: { eachMessage: (payload: EachMessagePayload) => Promise<void> }): Promise<void> {
    await this.#start()
    // Straight off the inbox, not through the async iterator: no iterator promise per message.
    const loop = (async () => {
      for (;;) {
        const message = this.#nextFromInbox()
        if (message === undefined) {
          if (this.#stopped) return
          await this.#inboxFilled()
          continue
        }
        try {
          await options.eachMessage({ topic: message.topic, partition: message.partition, message })
          message.ack()
        } catch {
          message.nack()
        }
      }
    })()
    this.#loops.push(loop)
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerMessage> {
    void this.#start()
    return {
      next: async () => {
        for (;;) {
          const message = this.#nextFromInbox()
          if (message !== undefined) return { value: message, done: false }
          if (this.#stopped) return { value: undefined, done: true }
          await this.#inboxFilled()
        }
      },
      return: async () => {
        await this.stop()
        return { value: undefined, done: true }
      },
    }
  }

  /**
   * Stops fetching. With `drain`, messages already received are still handed out and settled
   * first (for at most `drainTimeoutMs`, default 30 s); without, they are nacked for prompt
   * redelivery. Then the member leaves its groups: whatever it still holds is redelivered.
   */
  async stop(options: { drain?: boolean; drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return
    this.#running = false
    if (options.drain === true) {
      // Bounded: a message nobody settles must not hold stop() forever (it is nacked below).
      const deadlineMs = this.#clock.now() + (options.drainTimeoutMs ?? 30_000)
      while (
        (this.#inbox.length > this.#inboxHead ||
          [...this.#partitions.values()].some((p) => p.outstanding > 0)) &&
        this.#clock.now() < deadlineMs
      ) {
        await new Promise<void>((resolve) => this.#clock.setTimer(resolve, 5))
      }
    }
    const unhandled = this.#inbox.slice(this.#inboxHead)
    this.#inbox = []
    this.#inboxHead = 0
    for (const message of unhandled) message.nack()
    this.#stopped = true
    this.#wakeInbox()
    for (const p of this.#partitions.values()) p.creditWaiter?.()
    await this.#settles.flush(true)
    await Promise.all(
      [...this.#partitions.values()].map((p) =>
        this.#router
          .toPartition(p.topic, p.partition, {
            op: 'leave',
            topic: p.topic,
            partition: p.partition,
            group: this.groupId,
            memberId: this.memberId,
          })
          .catch(() => {}),
      ),
    )
  }

  async #start(): Promise<void> {
    if (this.#running || this.#stopped) return
    if (this.#topics.size === 0)
      throw new LaminarError('INVALID_ARGUMENT', 'subscribe to a topic before consuming')
    this.#running = true
    for (const topic of this.#topics) await this.#startTopic(topic)
  }

  async #startTopic(topic: string): Promise<void> {
    const description = await this.#router.topic(topic)
    for (const { partition } of description.partitions) {
      const key = `${topic}\u0000${partition}`
      if (this.#partitions.has(key)) continue
      const state: PartitionState = {
        topic,
        partition,
        outstanding: 0,
        acks: [],
        nacks: [],
        working: [],
        creditWaiter: undefined,
        settling: undefined,
        fetchSeq: 1,
      }
      this.#partitions.set(key, state)
      this.#loops.push(this.#fetchLoop(state))
    }
  }

  async #fetchLoop(state: PartitionState): Promise<void> {
    let backoffMs = 50
    for (let loops = 1; this.#running; loops++) {
      // An in-process node answers through microtasks only: yield now and then so timers and
      // I/O are not starved while messages keep coming.
      if (loops % FETCHES_PER_YIELD === 0)
        await new Promise<void>((resolve) => this.#clock.setTimer(resolve, 0))
      const credit = this.#maxInFlight - state.outstanding
      if (credit <= 0) {
        await new Promise<void>((resolve) => {
          state.creditWaiter = resolve
        })
        state.creditWaiter = undefined
        continue
      }
      let result: FetchResult
      try {
        result = (await this.#router.toPartition(
          state.topic,
          state.partition,
          {
            op: 'fetch',
            topic: state.topic,
            partition: state.partition,
            group: this.groupId,
            memberId: this.memberId,
            options: this.#groupOptions,
            maxMessages: credit,
            maxInFlight: this.#maxInFlight,
            waitMs: this.#fetchWaitMs,
            fetchSeq: state.fetchSeq,
          },
          { timeoutMs: this.#fetchWaitMs + 10_000 },
        )) as FetchResult
        backoffMs = 50
        state.fetchSeq++
      } catch (error) {
        if (!this.#running) break
        if (
          isLaminarError(error) &&
          (error.code === 'INVALID_ARGUMENT' || error.code === 'TOPIC_NOT_FOUND')
        ) {
          throw error
        }
        await new Promise<void>((resolve) => this.#clock.setTimer(resolve, backoffMs))
        backoffMs = Math.min(backoffMs * 2, 1000)
        continue
      }
      for (const delivery of result.deliveries) {
        state.outstanding++
        const message = new DeliveredMessage(state, this.#settles, delivery)
        if (this.#running) this.#inbox.push(message)
        else message.nack()
      }
      this.#wakeInbox()
    }
  }

  #nextFromInbox(): ConsumerMessage | undefined {
    if (this.#inboxHead >= this.#inbox.length) return undefined
    const message = this.#inbox[this.#inboxHead]!
    this.#inboxHead++
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = []
      this.#inboxHead = 0
    } else if (this.#inboxHead >= 1024 && this.#inboxHead * 2 >= this.#inbox.length) {
      // Drop the handed-out front now and then: bounded memory, amortized O(1) per message.
      this.#inbox = this.#inbox.slice(this.#inboxHead)
      this.#inboxHead = 0
    }
    return message
  }

  /** Resolves when messages arrive or the consumer stops. */
  #inboxFilled(): Promise<void> {
    // Nothing left to hand out: acks held back for a batch go now.
    this.#settles.schedule()
    return new Promise<void>((resolve) => {
      this.#inboxWaiter = resolve
    })
  }

  #wakeInbox(): void {
    const waiter = this.#inboxWaiter
    this.#inboxWaiter = undefined
    waiter?.()
  }
}
