import type { Clock } from '../ports/clock'
import type { BrokerRouter } from './broker-router'
import type { MessageSettler, PartitionState } from './delivered-message'

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

export interface SettleSenderOptions {
  router: BrokerRouter
  clock: Clock
  groupId: string
  memberId: string
  maxInFlight: number
  /** The consumer's partitions, each with the acks, nacks and working() it accumulated. */
  partitions: () => Iterable<PartitionState>
  /** True when no received message waits to be handed out. */
  caughtUp: () => boolean
  isStopped: () => boolean
}

/**
 * Sends a consumer's settles: one settle request per partition carries every ack, nack and
 * working() gathered since the last, with one request in flight per partition (what accumulates
 * meanwhile goes in the next). Acks wait for a batch while received messages wait to be handed
 * out, at most SETTLE_LINGER_MS; a busy consumer sends a few hundred acks per request, not a few.
 */
export class SettleSender implements MessageSettler {
  readonly #options: SettleSenderOptions
  readonly #acksBatch: number
  #scheduled = false
  /** A timer that sends acks held back for a batch (armed only while some are held back). */
  #lingerArmed = false

  constructor(options: SettleSenderOptions) {
    this.#options = options
    this.#acksBatch = Math.max(1, Math.min(SETTLE_ACKS_BATCH, Math.floor(options.maxInFlight / 4)))
  }

  isStopped(): boolean {
    return this.#options.isStopped()
  }

  scheduleSettle(state: PartitionState): void {
    // A settle loop running for the partition takes what accumulates (it checks again before
    // it ends): no flush, microtask or promise per message while settles are in flight.
    if (state.settling !== undefined) return
    if (this.#due(state)) this.schedule()
    else this.#armLinger()
  }

  /** Sends what is due after the current synchronous work (settles made together share it). */
  schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      void this.flush()
    })
  }

  /** Sends the settles due (with `all`, every pending one) and waits for them. */
  async flush(all = false): Promise<void> {
    const requests: Promise<unknown>[] = []
    for (const state of this.#options.partitions()) {
      // Partitions with nothing due and no settle in flight cost nothing.
      if (state.settling !== undefined) requests.push(state.settling)
      else if (all ? hasPending(state) : this.#due(state)) requests.push(this.#send(state))
    }
    await Promise.all(requests)
  }

  /**
   * Whether the partition's pending settles should go out now: nacks and working() always (a
   * redelivery or a deadline waits on them), acks once a batch gathered or nothing received
   * waits to be handed out (the consumer caught up: holding acks back would only delay them).
   */
  #due(state: PartitionState): boolean {
    if (state.nacks.length > 0 || state.working.length > 0) return true
    if (state.acks.length === 0) return false
    return state.acks.length >= this.#acksBatch || this.#options.caughtUp() || this.#options.isStopped()
  }

  #armLinger(): void {
    if (this.#lingerArmed) return
    this.#lingerArmed = true
    this.#options.clock.setTimer(() => {
      this.#lingerArmed = false
      void this.flush(true)
    }, SETTLE_LINGER_MS)
  }

  /**
   * One settle request in flight per partition: what accumulates meanwhile goes in the next one
   * when due (bounded requests, bigger batches). A failed settle is retried once; after that the
   * messages come back after ackWaitMs (at-least-once).
   */
  #send(state: PartitionState): Promise<void> {
    const { router, groupId, memberId } = this.#options
    const loop = async (): Promise<void> => {
      for (let first = true; first ? hasPending(state) : this.#due(state); first = false) {
        const request = {
          op: 'settle' as const,
          topic: state.topic,
          partition: state.partition,
          group: groupId,
          memberId,
          acks: state.acks.splice(0, SETTLE_OFFSETS_MAX),
          nacks: state.nacks.splice(0, SETTLE_OFFSETS_MAX),
          working: state.working.splice(0, SETTLE_OFFSETS_MAX),
        }
        await router
          .toPartition(state.topic, state.partition, request)
          .catch(() => router.toPartition(state.topic, state.partition, request))
          .catch(() => {})
      }
    }
    state.settling = loop().finally(() => {
      state.settling = undefined
      // Settled between the loop's last check and now, or held back for a batch: the loop no
      // longer takes them; send them when due, or when the linger timer fires.
      if (this.#due(state)) this.schedule()
      else if (hasPending(state)) this.#armLinger()
    })
    return state.settling
  }
}

function hasPending(state: PartitionState): boolean {
  return state.acks.length > 0 || state.nacks.length > 0 || state.working.length > 0
}
