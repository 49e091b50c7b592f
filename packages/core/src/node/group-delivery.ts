import type { GroupConfig, PartitionCommand } from '../broker/commands'
import { type Dispatch, Dispatcher } from '../broker/dispatcher'
import type { RecordBatch } from '../codec/record-batch'
import { LaminarError } from '../errors/laminar-error'
import type { Clock, TimerHandle } from '../ports/clock'
import { findByOffset } from '../util/sorted-search'
import { GroupCommands } from './group-commands'
import type { Delivery, FetchResult, GroupOptions, GroupPartitionDescription, WireRecord } from './protocol'

/** What GroupDelivery needs from its partition (kept narrow to avoid a cycle of concrete types). */
export interface DeliveryPartition {
  readonly topic: { name: string }
  readonly partition: number
  readonly stateMachine: {
    readonly endOffset: number
    readonly logStartOffset: number
    group(
      name: string,
    ): { ackFloor: number; acked: readonly number[]; config: Readonly<GroupConfig>; name: string } | undefined
  }
  readonly recent: { get(offset: number): WireRecord | undefined }
  readonly group: { isLeader: boolean; notLeader(): LaminarError }
  propose(command: PartitionCommand): Promise<unknown>
  record(offset: number): Promise<WireRecord | undefined>
  /** Records from `fromOffset` (at most `count`), with their offsets, from the log. */
  readRange(fromOffset: number, count: number): Promise<Array<WireRecord & { offset: number }>>
  /** Keys of the records from `fromOffset` (at most `count`), read from the log. */
  readKeys(fromOffset: number, count: number): Promise<Array<Uint8Array | null>>
}

export interface GroupDeliveryOptions {
  host: DeliveryPartition
  clock: Clock
  produceDeadLetter: (topic: string, record: WireRecord) => Promise<void>
  memberSessionTimeoutMs: number
}

interface ParkedFetch {
  resolve: (result: FetchResult) => void
  reject: (error: unknown) => void
  timer: TimerHandle
  maxMessages: number
}

interface Member {
  memberId: string
  outbox: Delivery[]
  parked: ParkedFetch | undefined
  lastSeenMs: number
  /** Deliveries handed to this member and not settled yet (for describeGroup). */
  unsettled: number
  /** The sequence of the member's current fetch; the next one is fetchSeq + 1. */
  fetchSeq: number
  /** What the current fetch was answered, kept until the member asks for the next one. */
  lastAnswer: Delivery[]
}

interface GroupRuntime {
  dispatcher: Dispatcher
  members: Map<string, Member>
  /** A log read for per-key ordering keys is under way. */
  keysLoading: boolean
}

/** Records read back from the log at once for deliveries that left the recent window. */
const MISS_READ_MESSAGES_MAX = 10_000

/** Members per group per partition; more are refused with BUFFER_FULL. */
export const GROUP_MEMBERS_MAX = 1024

/**
 * Consumer-group delivery on a partition leader: one Dispatcher per group (volatile, rebuilt
 * from the replicated group state after an election), members that long-poll with `fetch`,
 * acks/nacks applied to the dispatcher at once and proposed in batches (group-commands.ts: one
 * proposal in flight per group, however many clients acked), dead letters forwarded then confirmed.
 */
export class GroupDelivery {
  readonly #options: GroupDeliveryOptions
  readonly #groups = new Map<string, GroupRuntime>()
  readonly #commands: GroupCommands

  constructor(options: GroupDeliveryOptions) {
    this.#options = options
    this.#commands = new GroupCommands({
      host: options.host,
      produceDeadLetter: options.produceDeadLetter,
      dispatchers: () => this.#dispatchers(),
    })
  }

  /** A member asks for deliveries; resolves at once when it has some, else after `waitMs`. */
  async fetch(
    memberId: string,
    groupName: string,
    options: GroupOptions,
    maxMessages: number,
    waitMs: number,
    fetchSeq: number,
    maxInFlight: number = maxMessages,
  ): Promise<FetchResult> {
    const host = this.#options.host
    if (!host.group.isLeader) throw host.group.notLeader()
    if (host.stateMachine.group(groupName) === undefined) {
      await host.propose({ type: 'groupCreate', group: groupName, config: { ...options } })
    }
    const runtime = this.#runtime(groupName)
    let member = runtime.members.get(memberId)
    if (member === undefined) {
      if (runtime.members.size >= GROUP_MEMBERS_MAX) {
        throw new LaminarError(
          'BUFFER_FULL',
          `group ${groupName} has ${GROUP_MEMBERS_MAX} members on this partition`,
        )
      }
      member = {
        memberId,
        outbox: [],
        parked: undefined,
        lastSeenMs: 0,
        unsettled: 0,
        fetchSeq: 0,
        lastAnswer: [],
      }
      runtime.members.set(memberId, member)
      runtime.dispatcher.addMember(memberId, Math.max(1, maxInFlight))
    } else {
      // The dispatcher counts what the member holds unsettled against its limit: the limit is
      // the member's whole window, not the credit left (that would count those messages twice).
      runtime.dispatcher.grantCredit(memberId, Math.max(1, maxInFlight))
    }
    member.lastSeenMs = this.#options.clock.now()
    if (fetchSeq === member.fetchSeq && member.lastAnswer.length > 0) {
      // The member asks again for the batch it was last answered: that answer never reached it
      // (its request timed out). Send the same deliveries again rather than lose them until
      // their ack deadline.
      if (member.parked !== undefined) this.#answer(member, true)
      return { deliveries: member.lastAnswer }
    }
    if (fetchSeq !== member.fetchSeq) {
      member.fetchSeq = fetchSeq // asking for the next batch confirms the last one arrived
      member.lastAnswer = []
    }
    // A newer poll replaces an older one (whose requester gave up): the older one is answered
    // empty, so nothing handed to it is lost in transit; the outbox waits for this poll.
    if (member.parked !== undefined) this.#answer(member, true)
    this.#pump(runtime)
    if (member.outbox.length > 0 || waitMs <= 0) {
      return { deliveries: this.#takeOutbox(member, maxMessages) }
    }
    return new Promise<FetchResult>((resolve, reject) => {
      const m = member
      const timer = this.#options.clock.setTimer(() => {
        if (m.parked?.timer === timer) this.#answer(m)
      }, waitMs)
      m.parked = { resolve, reject, timer, maxMessages }
    })
  }

  /** Acks, nacks (with an optional redelivery delay) and working() extensions from one member. */
  settle(
    memberId: string,
    groupName: string,
    acks: number[],
    nacks: Array<[number, number]>,
    working: number[],
  ): void {
    const host = this.#options.host
    if (!host.group.isLeader) throw host.group.notLeader()
    const runtime = this.#groups.get(groupName)
    if (runtime === undefined) return // acks for a dispatcher that no longer exists: redelivered anyway
    const nowMs = this.#options.clock.now()
    const member = runtime.members.get(memberId)
    if (member !== undefined) {
      member.lastSeenMs = nowMs
      member.unsettled = Math.max(0, member.unsettled - acks.length - nacks.length)
    }
    if (acks.length > 0) runtime.dispatcher.ack(memberId, acks)
    for (const [offset, delayMs] of nacks) runtime.dispatcher.nack(memberId, [offset], nowMs, delayMs)
    if (working.length > 0) runtime.dispatcher.working(memberId, working, nowMs)
    this.#pump(runtime)
    this.#commands.schedule()
  }

  /** A member leaves: what it held is redelivered to the others. */
  leave(memberId: string, groupName: string): void {
    const runtime = this.#groups.get(groupName)
    const member = runtime?.members.get(memberId)
    if (runtime === undefined || member === undefined) return
    this.#removeMember(runtime, member)
    this.#pump(runtime)
    this.#commands.schedule()
  }

  onAppended(baseOffset: number, batch: RecordBatch): void {
    if (this.#groups.size === 0) return
    const endOffset = baseOffset + batch.count
    // Keys are read out of the batch only for groups with per-key ordering, once for all of them.
    let keys: Array<Uint8Array | null> | undefined
    for (const runtime of this.#groups.values()) {
      if (runtime.dispatcher.config.perKeyOrdering) {
        keys ??= batch.keys()
        runtime.dispatcher.onRecordsAvailable(endOffset, { baseOffset, keys })
      } else {
        runtime.dispatcher.onRecordsAvailable(endOffset)
      }
      this.#pump(runtime)
    }
    this.#commands.schedule()
  }

  onGroupCommand(command: PartitionCommand): void {
    if (command.type === 'groupConfig') {
      const state = this.#options.host.stateMachine.group(command.group)
      if (state !== undefined)
        this.#groups.get(command.group)?.dispatcher.onConfigChanged({ ...state.config })
    } else if (command.type === 'groupDelete') {
      const runtime = this.#groups.get(command.group)
      if (runtime !== undefined) this.#dropRuntime(command.group, runtime)
    }
  }

  /** Retention moved the log start: what was pending below it is gone. */
  onLogStartOffset(logStartOffset: number): void {
    for (const runtime of this.#groups.values()) runtime.dispatcher.onLogStartOffset(logStartOffset)
  }

  onRoleChange(isLeader: boolean): void {
    if (isLeader) return // dispatchers are rebuilt lazily, from replicated state, on first fetch
    for (const [name, runtime] of this.#groups) this.#dropRuntime(name, runtime)
  }

  /** Per tick: redeliver expired messages, drop silent members, forward dead letters. */
  tick(): void {
    if (this.#groups.size === 0) return
    const nowMs = this.#options.clock.now()
    const sessionMs = this.#options.memberSessionTimeoutMs
    for (const runtime of this.#groups.values()) {
      for (const member of runtime.members.values()) {
        if (member.parked === undefined && nowMs - member.lastSeenMs > sessionMs)
          this.#removeMember(runtime, member)
      }
      runtime.dispatcher.expire(nowMs)
      this.#pump(runtime)
    }
    this.#commands.schedule()
  }

  describe(groupName: string): Pick<GroupPartitionDescription, 'pending' | 'members'> {
    const runtime = this.#groups.get(groupName)
    if (runtime === undefined) return { pending: 0, members: [] }
    return { pending: runtime.dispatcher.status().inFlight, members: [...runtime.members.keys()] }
  }

  stop(): void {
    this.#commands.stop()
    for (const [name, runtime] of this.#groups) this.#dropRuntime(name, runtime)
  }

  #runtime(groupName: string): GroupRuntime {
    let runtime = this.#groups.get(groupName)
    if (runtime !== undefined) return runtime
    const sm = this.#options.host.stateMachine
    const state = sm.group(groupName)
    if (state === undefined) throw new LaminarError('GROUP_NOT_FOUND', `group ${groupName} not found`)
    const dispatcher = new Dispatcher({
      group: state as ConstructorParameters<typeof Dispatcher>[0]['group'],
      endOffset: sm.endOffset,
      logStartOffset: sm.logStartOffset,
    })
    runtime = { dispatcher, members: new Map(), keysLoading: false }
    this.#groups.set(groupName, runtime)
    return runtime
  }

  #dropRuntime(name: string, runtime: GroupRuntime): void {
    this.#groups.delete(name)
    for (const member of runtime.members.values()) {
      const parked = member.parked
      member.parked = undefined
      if (parked !== undefined) {
        this.#options.clock.clearTimer(parked.timer)
        parked.reject(this.#options.host.group.notLeader())
      }
    }
  }

  #removeMember(runtime: GroupRuntime, member: Member): void {
    runtime.members.delete(member.memberId)
    runtime.dispatcher.removeMember(member.memberId)
    if (member.parked !== undefined) this.#answer(member)
  }

  /** Moves the dispatcher's next deliveries into their members' outboxes. */
  #pump(runtime: GroupRuntime): void {
    this.#feedKeys(runtime)
    const deliveries = runtime.dispatcher.nextDeliveries(this.#options.clock.now())
    const host = this.#options.host
    let misses: Dispatch[] | undefined
    for (const d of deliveries) {
      const member = runtime.members.get(d.memberId)
      if (member === undefined) continue
      const record = host.recent.get(d.offset)
      if (record !== undefined)
        member.outbox.push({ offset: d.offset, deliveryCount: d.deliveryCount, record })
      else (misses ??= []).push(d)
    }
    if (misses !== undefined) this.#loadMisses(runtime, misses)
    for (const member of runtime.members.values()) {
      if (member.parked !== undefined && member.outbox.length > 0) this.#answer(member)
    }
  }

  /**
   * Deliveries whose records left the recent window are read back from the log in one range
   * read (never one scan per record), then handed to their members.
   */
  #loadMisses(runtime: GroupRuntime, misses: Dispatch[], attempt = 0): void {
    const host = this.#options.host
    misses.sort((a, b) => a.offset - b.offset)
    const from = misses[0]!.offset
    const count = Math.min(misses[misses.length - 1]!.offset - from + 1, MISS_READ_MESSAGES_MAX)
    void host.readRange(from, count).then(
      (records) => {
        // The read is ascending and nearly always dense (offsets are): index by position, and
        // search only when a skipped offset shifted it (no map of every record per read).
        const byOffset = (offset: number) => {
          const guess = records[offset - from]
          return guess?.offset === offset ? guess : findByOffset(records, offset)
        }
        const touched = new Set<Member>()
        const rest: Dispatch[] = []
        const logStartOffset = host.stateMachine.logStartOffset
        for (const d of misses) {
          const member = runtime.members.get(d.memberId)
          if (member === undefined) continue
          const record = byOffset(d.offset)
          if (record !== undefined) {
            member.outbox.push({ offset: d.offset, deliveryCount: d.deliveryCount, record })
            touched.add(member)
          } else if (d.offset >= logStartOffset) {
            rest.push(d)
          }
          // else: gone by retention; the dispatcher moves past it
        }
        for (const member of touched) if (member.parked !== undefined) this.#answer(member)
        // Not in this read (beyond its window): read on. A record the log cannot produce after a
        // few tries is left to the ack timeout, which redelivers it.
        const progressed = rest.length < misses.length
        if (
          rest.length > 0 &&
          (progressed || attempt < 3) &&
          this.#groups.get(runtime.dispatcher.group) === runtime
        ) {
          this.#loadMisses(runtime, rest, progressed ? 0 : attempt + 1)
        }
      },
      () => {},
    )
  }

  /**
   * With per-key ordering the dispatcher only hands out offsets whose keys it knows: a fresh
   * dispatcher (after an election) learns the keys of records appended before it existed here.
   */
  #feedKeys(runtime: GroupRuntime): void {
    const needed = runtime.dispatcher.keysNeeded()
    if (needed === undefined) return
    const host = this.#options.host
    const keys: Array<Uint8Array | null> = []
    for (let offset = needed.fromOffset; offset < needed.toOffset; offset++) {
      const record = host.recent.get(offset)
      if (record === undefined) break
      keys.push(record.key)
    }
    if (keys.length > 0) {
      runtime.dispatcher.onRecordsAvailable(host.stateMachine.endOffset, {
        baseOffset: needed.fromOffset,
        keys,
      })
      return
    }
    if (runtime.keysLoading) return
    runtime.keysLoading = true
    void host
      .readKeys(needed.fromOffset, Math.min(needed.toOffset - needed.fromOffset, 10_000))
      .then((loaded) => {
        if (loaded.length > 0 && this.#groups.get(runtime.dispatcher.group) === runtime) {
          runtime.dispatcher.onRecordsAvailable(host.stateMachine.endOffset, {
            baseOffset: needed.fromOffset,
            keys: loaded,
          })
        }
      })
      .finally(() => {
        runtime.keysLoading = false
        if (this.#groups.get(runtime.dispatcher.group) === runtime) this.#pump(runtime)
      })
  }

  #takeOutbox(member: Member, maxMessages: number): Delivery[] {
    const taken = member.outbox.splice(0, Math.max(1, maxMessages))
    member.unsettled += taken.length
    member.lastAnswer = taken
    return taken
  }

  #answer(member: Member, empty = false): void {
    const parked = member.parked
    if (parked === undefined) return
    member.parked = undefined
    this.#options.clock.clearTimer(parked.timer)
    member.lastSeenMs = this.#options.clock.now()
    parked.resolve({ deliveries: empty ? [] : this.#takeOutbox(member, parked.maxMessages) })
  }

  *#dispatchers(): Iterable<[string, Dispatcher]> {
    for (const [name, runtime] of this.#groups) yield [name, runtime.dispatcher]
  }
}
