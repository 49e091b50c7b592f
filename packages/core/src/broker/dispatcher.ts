import { LaminarError } from '../errors/laminar-error'
import { ACK_OFFSETS_MAX, ACK_WINDOW_MAX, type GroupConfig, type PartitionCommand } from './commands'
import type { DeadLetter, Dispatch, DispatcherOptions, DispatcherStatus } from './dispatcher-types'
import { ACK_WAIT_MS_MAX } from './group-config'
import { KeyLocks } from './key-locks'
import { RedeliveryQueue } from './redelivery-queue'

export type {
  DeadLetter,
  DeadLetterReason,
  Dispatch,
  DispatcherMemberStatus,
  DispatcherOptions,
  DispatcherStatus,
} from './dispatcher-types'

interface InFlight {
  memberId: string
  deadlineMs: number
  deliveryCount: number
}

interface Member {
  maxInFlight: number
  inFlight: number
}

export const DISPATCHER_MEMBERS_MAX_DEFAULT = 1024
export const DISPATCHER_MAX_IN_FLIGHT_MAX_DEFAULT = 10_000

/**
 * Hands a consumer group's messages on one partition to its members: the partition leader
 * runs one per group. Volatile: a new leader builds a fresh one from the replicated GroupState,
 * so everything in flight at a leader change is delivered again (at-least-once).
 *
 * Round-robin over members with capacity (in flight < maxInFlight, the member's credit); redelivery
 * after a nack (optionally delayed), an ack timeout or the member's loss; dead-lettering after
 * maxDeliveries; per-key ordering as a group option. Pure: time comes in as `nowMs`.
 *
 * The node drives it: after appends call {@link onRecordsAvailable}, then {@link nextDeliveries}
 * and send the records; feed member acks/nacks/working; call {@link expire} at
 * {@link nextDeadlineMs}; propose {@link takeCommands} (acks of all members batched into one
 * command) and forward {@link takeDeadLetters}.
 *
 * Bounds: membersMax members; maxInFlightMax per member; every queued, in-flight or tracked offset
 * lies inside [ackFloor, ackFloor + ACK_WINDOW_MAX), so queues and outgoing batches hold at most
 * ACK_WINDOW_MAX offsets. Invariants: every offset below `nextOffset` is handled, in flight or
 * queued, exactly one of the three; a member's `inFlight` equals its entries in the in-flight map.
 */
export class Dispatcher {
  readonly group: string
  #config: GroupConfig
  #endOffset: number
  #ackFloor: number
  #nextOffset: number
  readonly #membersMax: number
  readonly #maxInFlightMax: number
  /** Handled (acked, dead-lettered) offsets at or above the floor. */
  readonly #handled = new Set<number>()
  /** Deliveries so far per offset, as far as this leader knows. */
  readonly #deliveryCounts = new Map<number, number>()
  /**
   * Offset -> delivery. Invariant (unless #deadlinesUnsorted): insertion order is deadline order,
   * so expire() and nextDeadlineMs() look only at the front. It holds because deadlines are
   * nowMs + ackWaitMs with a non-decreasing clock and working() re-inserts at the end.
   */
  #inFlight = new Map<number, InFlight>()
  #lastDeadlineMs = Number.NEGATIVE_INFINITY
  #deadlinesUnsorted = false
  readonly #queue = new RedeliveryQueue()
  readonly #members = new Map<string, Member>()
  #rotation: string[] = []
  #cursor = 0
  #keys: KeyLocks
  #acksOut: number[] = []
  #redeliveredOut: number[] = []
  #droppedOut: number[] = []
  #deadLettersOut: DeadLetter[] = []

  constructor(options: DispatcherOptions) {
    const { group } = options
    this.group = group.name
    this.#config = { ...group.config }
    this.#endOffset = options.endOffset
    this.#membersMax = options.membersMax ?? DISPATCHER_MEMBERS_MAX_DEFAULT
    this.#maxInFlightMax = options.maxInFlightMax ?? DISPATCHER_MAX_IN_FLIGHT_MAX_DEFAULT
    this.#ackFloor = Math.max(group.ackFloor, options.logStartOffset ?? 0)
    for (const offset of group.acked) if (offset >= this.#ackFloor) this.#handled.add(offset)
    for (const [offset, count] of group.deliveryCounts) this.#deliveryCounts.set(offset, count)
    this.#nextOffset = this.#ackFloor
    this.#keys = new KeyLocks(this.#ackFloor)
    this.#advanceFloor()
  }

  get config(): Readonly<GroupConfig> {
    return this.#config
  }

  /** Add a member (or change its window), able to hold `maxInFlight` unacked messages. */
  addMember(memberId: string, maxInFlight: number): void {
    this.#checkMaxInFlight(maxInFlight, 1)
    const member = this.#members.get(memberId)
    if (member !== undefined) {
      member.maxInFlight = maxInFlight
      return
    }
    if (this.#members.size >= this.#membersMax) {
      throw new LaminarError(
        'INVALID_ARGUMENT',
        `at most ${this.#membersMax} members per group and partition`,
        {
          details: { limit: this.#membersMax },
        },
      )
    }
    this.#members.set(memberId, { maxInFlight, inFlight: 0 })
    this.#rotation.push(memberId)
  }

  /** A member left or was lost: everything it held is queued for redelivery now. */
  removeMember(memberId: string): void {
    if (!this.#members.delete(memberId)) return
    for (const [offset, entry] of this.#inFlight) {
      if (entry.memberId === memberId) this.#release(offset, undefined)
    }
    const at = this.#rotation.indexOf(memberId)
    this.#rotation.splice(at, 1)
    if (at < this.#cursor) this.#cursor--
    if (this.#cursor >= this.#rotation.length) this.#cursor = 0
  }

  /** Set a member's credit: how many messages it may hold unacked (0 pauses it). */
  grantCredit(memberId: string, maxInFlight: number): void {
    const member = this.#member(memberId)
    this.#checkMaxInFlight(maxInFlight, 0)
    member.maxInFlight = maxInFlight
  }

  hasMember(memberId: string): boolean {
    return this.#members.has(memberId)
  }

  /**
   * Records up to `endOffset` (exclusive) are committed. With per-key ordering, pass the keys of
   * the new records; offsets whose keys are unknown are not dispatched (see {@link keysNeeded}).
   */
  onRecordsAvailable(
    endOffset: number,
    keys?: { baseOffset: number; keys: readonly (Uint8Array | null)[] },
  ): void {
    if (endOffset > this.#endOffset) this.#endOffset = endOffset
    if (keys !== undefined && this.#config.perKeyOrdering) {
      this.#keys.learn(keys.baseOffset, keys.keys, this.#windowEnd())
    }
  }

  /** With per-key ordering: the offsets whose keys the node should read from the log and pass in. */
  keysNeeded(): { fromOffset: number; toOffset: number } | undefined {
    if (!this.#config.perKeyOrdering) return undefined
    this.#keys.skipTo(this.#nextOffset)
    const toOffset = this.#windowEnd()
    const fromOffset = this.#keys.knownEnd
    return fromOffset < toOffset ? { fromOffset, toOffset } : undefined
  }

  /** The group's replicated config changed (groupConfig applied). */
  onConfigChanged(config: GroupConfig): void {
    const keysTurnedOn = config.perKeyOrdering && !this.#config.perKeyOrdering
    this.#config = { ...config }
    if (keysTurnedOn) this.#keys = new KeyLocks(this.#nextOffset)
  }

  /** Retention dropped offsets below `logStartOffset`: whatever was pending there is gone. */
  onLogStartOffset(logStartOffset: number): void {
    if (logStartOffset <= this.#ackFloor) return
    for (const offset of [...this.#inFlight.keys()]) {
      if (offset < logStartOffset) this.#release(offset, null)
    }
    this.#queue.dropBelow(logStartOffset)
    for (const offset of this.#handled) if (offset < logStartOffset) this.#handled.delete(offset)
    for (const offset of this.#deliveryCounts.keys())
      if (offset < logStartOffset) this.#deliveryCounts.delete(offset)
    this.#keys.forgetBelow(logStartOffset)
    this.#ackFloor = logStartOffset
    this.#advanceFloor()
  }

  /** Hand out as many messages as members can take (at most `limit`), round-robin. */
  nextDeliveries(nowMs: number, limit = Number.POSITIVE_INFINITY): Dispatch[] {
    this.#queue.promote(nowMs)
    const deliveries: Dispatch[] = []
    let idle = 0
    while (deliveries.length < limit && idle < this.#rotation.length) {
      const memberId = this.#rotation[this.#cursor]!
      const member = this.#members.get(memberId)!
      const offset = member.inFlight < member.maxInFlight ? this.#pick(memberId) : undefined
      if (offset === undefined) {
        this.#cursor = (this.#cursor + 1) % this.#rotation.length
        idle++
        continue
      }
      idle = 0
      const previous = this.#deliveryCounts.get(offset) ?? 0
      const { maxDeliveries } = this.#config
      if (maxDeliveries > 0 && previous >= maxDeliveries) {
        this.#deadLetter(offset, previous)
        continue // the same member's turn again: it received nothing
      }
      const deliveryCount = previous + 1
      const deadlineMs = nowMs + this.#config.ackWaitMs
      this.#deliveryCounts.set(offset, deliveryCount)
      if (maxDeliveries > 0 && deliveryCount >= 2) this.#redeliveredOut.push(offset)
      this.#track(offset, { memberId, deadlineMs, deliveryCount })
      member.inFlight++
      this.#keys.onDelivered(offset, memberId)
      deliveries.push({ memberId, offset, deliveryCount, deadlineMs })
      this.#cursor = (this.#cursor + 1) % this.#rotation.length
    }
    return deliveries
  }

  /**
   * Acks, from any member (a message acked by a member that timed out still counts). Returns how
   * many offsets became handled; the rest were already handled or are outside the partition.
   */
  ack(_memberId: string, offsets: readonly number[]): number {
    let handled = 0
    for (const offset of offsets) {
      if (this.#markHandled(offset)) {
        this.#acksOut.push(offset)
        handled++
      }
    }
    return handled
  }

  /** The member gives messages back: redeliver them, after `delayMs` when given. */
  nack(memberId: string, offsets: readonly number[], nowMs: number, delayMs = 0): void {
    this.#member(memberId)
    if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > ACK_WAIT_MS_MAX) {
      throw new LaminarError('INVALID_ARGUMENT', `delayMs must be an integer in [0, ${ACK_WAIT_MS_MAX}]`)
    }
    for (const offset of offsets) {
      if (this.#inFlight.get(offset)?.memberId !== memberId) continue
      this.#release(offset, delayMs > 0 ? nowMs + delayMs : undefined)
    }
  }

  /** The member is still working on these: their deadlines restart from `nowMs`. */
  working(memberId: string, offsets: readonly number[], nowMs: number): void {
    this.#member(memberId)
    for (const offset of offsets) {
      const entry = this.#inFlight.get(offset)
      if (entry?.memberId !== memberId) continue
      this.#inFlight.delete(offset)
      entry.deadlineMs = nowMs + this.#config.ackWaitMs
      this.#track(offset, entry)
    }
  }

  /** Queue for redelivery every message whose ack deadline passed. Returns how many. */
  expire(nowMs: number): number {
    this.#sortDeadlines()
    let expired = 0
    for (const [offset, entry] of this.#inFlight) {
      if (entry.deadlineMs > nowMs) break
      this.#release(offset, undefined)
      expired++
    }
    return expired
  }

  /** The earliest ack deadline or delayed redelivery, or undefined when nothing waits on time. */
  nextDeadlineMs(): number | undefined {
    this.#sortDeadlines()
    const queued = this.#queue.nextDueMs()
    const inFlight = this.#inFlight.values().next().value?.deadlineMs
    if (queued === undefined) return inFlight
    return inFlight === undefined ? queued : Math.min(queued, inFlight)
  }

  /** Commands to propose, in this order: acks of all members batched, redeliveries, dropped dead letters. */
  takeCommands(): PartitionCommand[] {
    const commands: PartitionCommand[] = []
    const batch = (type: 'ack' | 'delivered' | 'deadLettered', offsets: number[]) => {
      for (let i = 0; i < offsets.length; i += ACK_OFFSETS_MAX) {
        commands.push({ type, group: this.group, offsets: offsets.slice(i, i + ACK_OFFSETS_MAX) })
      }
    }
    batch('ack', this.#acksOut)
    batch('delivered', this.#redeliveredOut)
    batch('deadLettered', this.#droppedOut)
    this.#acksOut = []
    this.#redeliveredOut = []
    this.#droppedOut = []
    return commands
  }

  /** Messages to forward to the dead-letter topic (then propose `deadLettered` for them). */
  takeDeadLetters(): DeadLetter[] {
    const deadLetters = this.#deadLettersOut
    this.#deadLettersOut = []
    return deadLetters
  }

  /** Which member holds `offset` right now, if any. */
  holderOf(offset: number): string | undefined {
    return this.#inFlight.get(offset)?.memberId
  }

  status(): DispatcherStatus {
    return {
      ackFloor: this.#ackFloor,
      nextOffset: this.#nextOffset,
      endOffset: this.#endOffset,
      inFlight: this.#inFlight.size,
      queued: this.#queue.size,
      members: this.#rotation.map((memberId) => {
        const member = this.#members.get(memberId)!
        return { memberId, inFlight: member.inFlight, maxInFlight: member.maxInFlight }
      }),
    }
  }

  /** The next offset for `memberId`: queued ones first (oldest first), then fresh ones. */
  #pick(memberId: string): number | undefined {
    const perKey = this.#config.perKeyOrdering
    const queued = this.#queue.takeFirst((offset) => !perKey || this.#keys.assignable(offset, memberId))
    if (queued !== undefined) return queued
    const windowEnd = this.#windowEnd()
    while (this.#nextOffset < windowEnd) {
      const offset = this.#nextOffset
      if (this.#handled.has(offset)) {
        this.#nextOffset++
        continue
      }
      if (perKey && offset >= this.#keys.knownEnd) return undefined
      this.#nextOffset++
      if (!perKey || this.#keys.assignable(offset, memberId)) return offset
      // Its key is busy with another member: park it; later offsets may still go out.
      this.#queue.add(offset)
    }
    return undefined
  }

  #windowEnd(): number {
    return Math.min(this.#endOffset, this.#ackFloor + ACK_WINDOW_MAX)
  }

  /** Add an in-flight entry at the end of the deadline order (noting when that breaks the order). */
  #track(offset: number, entry: InFlight): void {
    if (entry.deadlineMs < this.#lastDeadlineMs) this.#deadlinesUnsorted = true
    else this.#lastDeadlineMs = entry.deadlineMs
    this.#inFlight.set(offset, entry)
  }

  /** Restore the deadline order after a clock step back or a shorter ackWaitMs (rare). */
  #sortDeadlines(): void {
    if (!this.#deadlinesUnsorted) return
    this.#inFlight = new Map([...this.#inFlight].sort((a, b) => a[1].deadlineMs - b[1].deadlineMs))
    this.#deadlinesUnsorted = false
  }

  /** End an in-flight message; requeue it (due at `dueMs`, or now), or drop it when `dueMs` is null. */
  #release(offset: number, dueMs: number | undefined | null): void {
    const entry = this.#inFlight.get(offset)
    if (entry === undefined) return
    this.#inFlight.delete(offset)
    const member = this.#members.get(entry.memberId)
    if (member !== undefined) member.inFlight--
    this.#keys.onReleased(offset)
    if (dueMs !== null) this.#queue.add(offset, dueMs)
  }

  #markHandled(offset: number): boolean {
    if (!Number.isSafeInteger(offset) || offset < this.#ackFloor || offset >= this.#windowEnd()) return false
    if (this.#handled.has(offset)) return false
    this.#release(offset, null)
    this.#queue.remove(offset)
    this.#handled.add(offset)
    this.#deliveryCounts.delete(offset)
    this.#keys.forget(offset)
    this.#advanceFloor()
    return true
  }

  #deadLetter(offset: number, deliveryCount: number): void {
    this.#markHandled(offset)
    if (this.#config.deadLetterTopic === null) this.#droppedOut.push(offset)
    else this.#deadLettersOut.push({ offset, deliveryCount, reason: 'maxDeliveries' })
  }

  /** Counts and keys of handled offsets were dropped by #markHandled, so only the floor moves here. */
  #advanceFloor(): void {
    while (this.#handled.delete(this.#ackFloor)) this.#ackFloor++
    if (this.#nextOffset < this.#ackFloor) this.#nextOffset = this.#ackFloor
  }

  #member(memberId: string): Member {
    const member = this.#members.get(memberId)
    if (member === undefined)
      throw new LaminarError('UNKNOWN_MEMBER', `no member ${memberId} in group ${this.group}`)
    return member
  }

  #checkMaxInFlight(maxInFlight: number, min: number): void {
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < min || maxInFlight > this.#maxInFlightMax) {
      throw new LaminarError(
        'INVALID_ARGUMENT',
        `maxInFlight must be an integer in [${min}, ${this.#maxInFlightMax}]`,
      )
    }
  }
}
