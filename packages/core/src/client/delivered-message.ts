import type { Delivery } from '../node/protocol'
import type { ConsumerMessage } from './consumer'

/** A consumer's bookkeeping for one partition it fetches from. */
export interface PartitionState {
  topic: string
  partition: number
  /** Delivered to this consumer, not settled yet. */
  outstanding: number
  acks: number[]
  nacks: Array<[number, number]>
  working: number[]
  creditWaiter: (() => void) | undefined
  /** The sequence of the next fetch: repeated after a failure so a lost answer is re-sent. */
  fetchSeq: number
  /** The settle request in flight, if any. */
  settling: Promise<void> | undefined
}

/** What a delivered message needs from its consumer to settle. */
export interface MessageSettler {
  /** True once the consumer stopped: settling then does nothing (the group redelivers). */
  isStopped(): boolean
  /**
   * Sends the partition's accumulated acks, nacks and working() soon (batched per partition).
   * Free while a settle request of that partition is in flight: its loop takes them next.
   */
  scheduleSettle(state: PartitionState): void
}

/**
 * A delivered message: one object with prototype methods, not four closures per message (the
 * consume path hands out tens of thousands per second). Invariant: settled at most once.
 */
export class DeliveredMessage implements ConsumerMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly headers: Record<string, Uint8Array>
  readonly timestampMs: number
  readonly deliveryCount: number
  readonly #state: PartitionState
  readonly #settler: MessageSettler
  #settled = false

  constructor(state: PartitionState, settler: MessageSettler, delivery: Delivery) {
    this.topic = state.topic
    this.partition = state.partition
    this.offset = delivery.offset
    this.key = delivery.record.key
    this.value = delivery.record.value
    this.headers = delivery.record.headers
    this.timestampMs = delivery.record.timestampMs
    this.deliveryCount = delivery.deliveryCount
    this.#state = state
    this.#settler = settler
  }

  ack(): void {
    if (this.#settle()) this.#state.acks.push(this.offset)
  }

  nack(options: { delayMs?: number } = {}): void {
    if (this.#settle()) this.#state.nacks.push([this.offset, Math.max(0, options.delayMs ?? 0)])
  }

  working(): void {
    if (this.#settled || this.#settler.isStopped()) return
    this.#state.working.push(this.offset)
    this.#settler.scheduleSettle(this.#state)
  }

  #settle(): boolean {
    if (this.#settled || this.#settler.isStopped()) return false
    this.#settled = true
    const state = this.#state
    state.outstanding--
    state.creditWaiter?.()
    this.#settler.scheduleSettle(state)
    return true
  }
}
