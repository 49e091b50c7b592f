import { LaminarError } from '../errors/laminar-error'
import { AckWindow } from './ack-window'
import { ACK_OFFSETS_MAX, ACK_WINDOW_MAX, type GroupConfig, type PartitionCommand } from './commands'
import { DeadlineQueue } from './deadline-queue'
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

/** One delivery awaiting its ack. Replaced, never changed, when its deadline moves (working()). */
interface InFlight {
  readonly offset: number
  readonly member: Member
  readonly deadlineMs: number
  readonly deliveryCount: number
}

interface Member {
  readonly id: string
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
 * queued, exactly one of the three; a member's `inFlight` equals its in-flight entries in the window.
 */
export class Dispatcher {
  readonly group: string
  #config: GroupConfig
  #endOffset: number
  #nextOffset: number
  readonly #membersMax: number
  readonly #maxInFlightMax: number
  /**
   * The ack floor, handled (acked, dead-lettered) offsets above it, and the in-flight delivery
   * of each offset: array slots over the ack window, no hashing per message.
   */
  readonly #window: AckWindow<InFlight>
  #inFlightCount = 0
  /** In-flight deliveries in deadline order: expire() and nextDeadlineMs() look at the front. */
  readonly #deadlines = new DeadlineQueue<InFlight>((entry) => this.#window.get(entry.offset) === entry)
  /**
   * Deliveries so far of offsets not in flight now (redeliveries waiting, or counts from the
   * replicated state), as far as this leader knows; an in-flight delivery carries its own.
   */
  readonly #deliveryCounts = new Map<number, number>()
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
    this.#window = new AckWindow(Math.max(group.ackFloor, options.logStartOffset ?? 0), ACK_WINDOW_MAX)
    for (const offset of group.acked) if (this.#window.inWindow(offset)) this.#window.markHandled(offset)
    for (const [offset, count] of group.deliveryCounts) this.#deliveryCounts.set(offset, count)
    this.#nextOffset = this.#window.floor
    this.#keys = new KeyLocks(this.#window.floor)
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
    this.#members.set(memberId, { id: memberId, maxInFlight, inFlight: 0 })
    this.#rotation.push(memberId)
  }

  /** A member left or was lost: everything it held is queued for redelivery now. */
  removeMember(memberId: string): void {
    const member = this.#members.get(memberId)
    if (member === undefined) return
    this.#members.delete(memberId)
    const held: number[] = []
    for (const [offset, entry] of this.#window.entries(this.#window.floor, this.#nextOffset)) {
      if (entry.member === member) held.push(offset)
    }
    for (const offset of held) this.#release(offset, undefined)
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
    if (logStartOffset <= this.#window.floor) return
    for (const [offset] of [...this.#window.entries(this.#window.floor, logStartOffset)]) {
      this.#release(offset, null)
    }
    this.#queue.dropBelow(logStartOffset)
    for (const offset of this.#deliveryCounts.keys())
      if (offset < logStartOffset) this.#deliveryCounts.delete(offset)
    this.#keys.forgetBelow(logStartOffset)
    this.#window.raiseFloor(logStartOffset)
    if (this.#nextOffset < this.#window.floor) this.#nextOffset = this.#window.floor
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
      const previous = this.#deliveryCounts.size === 0 ? 0 : (this.#deliveryCounts.get(offset) ?? 0)
      const { maxDeliveries } = this.#config
      if (maxDeliveries > 0 && previous >= maxDeliveries) {
        this.#deadLetter(offset, previous)
        continue // the same member's turn again: it received nothing
      }
      const deliveryCount = previous + 1
      const deadlineMs = nowMs + this.#config.ackWaitMs
      if (previous > 0) this.#deliveryCounts.delete(offset) // the in-flight entry carries it now
      if (maxDeliveries > 0 && deliveryCount >= 2) this.#redeliveredOut.push(offset)
      this.#track({ offset, member, deadlineMs, deliveryCount })
      this.#inFlightCount++
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
    const member = this.#member(memberId)
    if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > ACK_WAIT_MS_MAX) {
      throw new LaminarError('INVALID_ARGUMENT', `delayMs must be an integer in [0, ${ACK_WAIT_MS_MAX}]`)
    }
    for (const offset of offsets) {
      if (this.#window.get(offset)?.member !== member) continue
      this.#release(offset, delayMs > 0 ? nowMs + delayMs : undefined)
    }
  }

  /** The member is still working on these: their deadlines restart from `nowMs`. */
  working(memberId: string, offsets: readonly number[], nowMs: number): void {
    const member = this.#member(memberId)
    for (const offset of offsets) {
      const entry = this.#window.get(offset)
      if (entry?.member !== member) continue
      const deadlineMs = nowMs + this.#config.ackWaitMs
      this.#track({ offset, member, deadlineMs, deliveryCount: entry.deliveryCount })
    }
  }

  /** Queue for redelivery every message whose ack deadline passed. Returns how many. */
  expire(nowMs: number): number {
    let expired = 0
    for (let entry = this.#deadlines.peek(); entry !== undefined; entry = this.#deadlines.peek()) {
      if (entry.deadlineMs > nowMs) break
      this.#deadlines.shift()
      this.#release(entry.offset, undefined)
      expired++
    }
    return expired
  }

  /** The earliest ack deadline or delayed redelivery, or undefined when nothing waits on time. */
  nextDeadlineMs(): number | undefined {
    const queued = this.#queue.nextDueMs()
    const inFlight = this.#deadlines.peek()?.deadlineMs
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
    return this.#window.get(offset)?.member.id
  }

  status(): DispatcherStatus {
    return {
      ackFloor: this.#window.floor,
      nextOffset: this.#nextOffset,
      endOffset: this.#endOffset,
      inFlight: this.#inFlightCount,
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
    if (this.#queue.size > 0) {
      const queued = this.#queue.takeFirst((offset) => !perKey || this.#keys.assignable(offset, memberId))
      if (queued !== undefined) return queued
    }
    const windowEnd = this.#windowEnd()
    while (this.#nextOffset < windowEnd) {
      const offset = this.#nextOffset
      if (this.#window.isHandled(offset)) {
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
    return Math.min(this.#endOffset, this.#window.floor + ACK_WINDOW_MAX)
  }

  /** Sets an offset's in-flight entry (new, or replacing one) at the end of the deadline order. */
  #track(entry: InFlight): void {
    this.#window.set(entry.offset, entry)
    this.#deadlines.push(entry, this.#inFlightCount)
  }

  /** End an in-flight message; requeue it (due at `dueMs`, or now), or drop it when `dueMs` is null. */
  #release(offset: number, dueMs: number | undefined | null): void {
    const entry = this.#window.get(offset)
    if (entry === undefined) return
    this.#window.delete(offset)
    this.#inFlightCount--
    entry.member.inFlight-- // a removed member's count no longer matters
    this.#keys.onReleased(offset)
    if (dueMs === null) return
    this.#deliveryCounts.set(offset, entry.deliveryCount)
    this.#queue.add(offset, dueMs)
  }

  #markHandled(offset: number): boolean {
    const floor = this.#window.floor
    if (!Number.isSafeInteger(offset) || offset < floor || offset >= this.#windowEnd()) return false
    if (this.#window.isHandled(offset)) return false
    this.#release(offset, null)
    if (this.#queue.size > 0) this.#queue.remove(offset)
    if (this.#deliveryCounts.size > 0) this.#deliveryCounts.delete(offset)
    this.#keys.forget(offset)
    this.#window.markHandled(offset)
    if (this.#nextOffset < this.#window.floor) this.#nextOffset = this.#window.floor
    return true
  }

  #deadLetter(offset: number, deliveryCount: number): void {
    this.#markHandled(offset)
    if (this.#config.deadLetterTopic === null) this.#droppedOut.push(offset)
    else this.#deadLettersOut.push({ offset, deliveryCount, reason: 'maxDeliveries' })
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
