import { isLaminarError, LaminarError } from '../errors/laminar-error'
import type { FetchResult, GroupOptions, StartPosition } from '../node/protocol'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { BrokerRouter } from './broker-router'
import { DeliveredMessage, type MessageSettler, type PartitionState } from './delivered-message'
import { assertName, assertPositiveInteger } from './limits'

/** Offsets of each kind in one settle request (the node's dispatcher takes batches this big). */
const SETTLE_OFFSETS_MAX = 10_000

/**
 * Acks a partition collects before a settle request goes out while more received messages wait
 * to be handed out (at most a quarter of maxInFlight, so the dispatcher's window keeps moving).
 * With nothing left to hand out, or with nacks or working() pending, settles go out at once.
 */
const SETTLE_ACKS_BATCH = 256

/** Acks held back for a batch are sent after this at the latest. */
const SETTLE_LINGER_MS = 10

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
  #settleScheduled = false
  /** A timer that sends acks held back for a batch (armed only while some are held back). */
  #lingerArmed = false
  readonly #settleAcksBatch: number
  readonly #loops: Promise<void>[] = []
  /** What delivered messages settle through (one object for all of them). */
  readonly #settler: MessageSettler = {
    isStopped: () => this.#stopped,
    scheduleSettle: (state) => {
      // A settle loop running for the partition takes what accumulates (it checks again before
      // it ends): no flush, microtask or promise per message while settles are in flight.
      if (state.settling !== undefined) return
      if (this.#settleDue(state)) this.#scheduleSettle()
      else this.#armLinger()
    },
  }

  /** @internal Use `client.consumer()`. */
  constructor(router: BrokerRouter, clock: Clock, random: Random, options: ConsumerOptions) {
    assertName(options.groupId, 'group')
    this.groupId = options.groupId
    this.memberId = `${options.groupId}-${Math.floor(random.next() * 2 ** 48).toString(36)}`
    this.#router = router
    this.#clock = clock
    this.#maxInFlight = options.maxInFlight ?? 256
    assertPositiveInteger(this.#maxInFlight, 'maxInFlight', 65_536)
    this.#settleAcksBatch = Math.max(1, Math.min(SETTLE_ACKS_BATCH, Math.floor(this.#maxInFlight / 4)))
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
    await this.#flushSettles(true)
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
        const message = new DeliveredMessage(state, this.#settler, delivery)
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
    this.#scheduleSettle()
    return new Promise<void>((resolve) => {
      this.#inboxWaiter = resolve
    })
  }

  #wakeInbox(): void {
    const waiter = this.#inboxWaiter
    this.#inboxWaiter = undefined
    waiter?.()
  }

  #scheduleSettle(): void {
    if (this.#settleScheduled) return
    this.#settleScheduled = true
    queueMicrotask(() => {
      this.#settleScheduled = false
      void this.#flushSettles()
    })
  }

  /**
   * Whether the partition's pending settles should go out now: nacks and working() always (a
   * redelivery or a deadline waits on them), acks once a batch gathered or nothing received
   * waits to be handed out (the consumer caught up: holding acks back would only delay them).
   */
  #settleDue(state: PartitionState): boolean {
    if (state.nacks.length > 0 || state.working.length > 0) return true
    if (state.acks.length === 0) return false
    return (
      state.acks.length >= this.#settleAcksBatch || this.#inboxHead >= this.#inbox.length || this.#stopped
    )
  }

  #armLinger(): void {
    if (this.#lingerArmed) return
    this.#lingerArmed = true
    this.#clock.setTimer(() => {
      this.#lingerArmed = false
      void this.#flushSettles(true)
    }, SETTLE_LINGER_MS)
  }

  /**
   * One settle request per partition carries every ack, nack and working() since the last.
   * Without `all`, only partitions whose settles are due (see #settleDue).
   */
  async #flushSettles(all = false): Promise<void> {
    const requests: Promise<unknown>[] = []
    for (const state of this.#partitions.values()) {
      // Partitions with nothing due and no settle in flight cost nothing.
      if (state.settling !== undefined) requests.push(state.settling)
      else if (all ? hasPending(state) : this.#settleDue(state)) requests.push(this.#settlePartition(state))
    }
    await Promise.all(requests)
  }

  /**
   * One settle request in flight per partition: what accumulates meanwhile goes in the next one
   * (bounded requests, bigger batches). A failed settle is retried once; after that the
   * messages come back after ackWaitMs (at-least-once).
   */
  async #settlePartition(state: PartitionState): Promise<void> {
    // The loop already running for this partition takes whatever accumulates.
    if (state.settling !== undefined) return state.settling
    const loop = async (): Promise<void> => {
      for (let first = true; first ? hasPending(state) : this.#settleDue(state); first = false) {
        const request = {
          op: 'settle' as const,
          topic: state.topic,
          partition: state.partition,
          group: this.groupId,
          memberId: this.memberId,
          acks: state.acks.splice(0, SETTLE_OFFSETS_MAX),
          nacks: state.nacks.splice(0, SETTLE_OFFSETS_MAX),
          working: state.working.splice(0, SETTLE_OFFSETS_MAX),
        }
        await this.#router
          .toPartition(state.topic, state.partition, request)
          .catch(() => this.#router.toPartition(state.topic, state.partition, request))
          .catch(() => {})
      }
    }
    state.settling = loop().finally(() => {
      state.settling = undefined
      // Settled between the loop's last check and now, or held back for a batch: the loop no
      // longer takes them; send them when due, or when the linger timer fires.
      if (this.#settleDue(state)) this.#scheduleSettle()
      else if (hasPending(state)) this.#armLinger()
    })
    return state.settling
  }
}

function hasPending(state: PartitionState): boolean {
  return state.acks.length > 0 || state.nacks.length > 0 || state.working.length > 0
}
