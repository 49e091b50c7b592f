import { decodePartitionCommand } from '../codec/command-codec'
import { isLaminarError, LaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import {
  ACK_OFFSETS_MAX,
  APPEND_RECORDS_MAX,
  type AppendCommand,
  DEFAULT_GROUP_CONFIG,
  type ErrorResult,
  GROUPS_MAX,
  type GroupConfig,
  type GroupResult,
  NAME_PATTERN,
  type PartitionCommand,
  type PartitionResult,
} from './commands'
import { ConsumerGroup } from './consumer-group'
import { definedFields } from './defined-fields'
import { validateGroupConfig } from './group-config'
import { INDEX_INTERVAL_RECORDS_DEFAULT, OffsetIndex, type OffsetLocation } from './offset-index'
import { decodePartitionSnapshot, encodePartitionSnapshot } from './partition-snapshot'
import { ProducerTable } from './producer-table'

/** A consumer group's replicated state on one partition, as the dispatcher rebuilds from it. */
export interface GroupState {
  readonly name: string
  readonly config: Readonly<GroupConfig>
  /** Every offset below is handled (acked, dead-lettered or dropped by retention). */
  readonly ackFloor: number
  /** Acked offsets above ackFloor, ascending. Bounded by ACK_WINDOW_MAX. */
  readonly acked: readonly number[]
  /** Recorded delivery counts (redeliveries only, so >= 2), [offset, count] ascending by offset. */
  readonly deliveryCounts: readonly (readonly [number, number])[]
}

/** A group's settings and progress without its acked set. */
export interface GroupSummary {
  config: GroupConfig
  ackFloor: number
  /** How many offsets above the floor are handled. */
  ackedAboveFloor: number
}

export interface PartitionStateMachineOptions {
  /** A sparse offset -> index entry is kept at most every this many records. */
  indexIntervalRecords?: number
}

/**
 * One partition replica's replicated state: offsets, idempotent producers, consumer groups and
 * stream-reader positions, and the sparse indexes readers use to find records in the Raft log
 * (which IS the partition's commit log: records are never copied out of it).
 *
 * Deterministic: `apply` reads nothing but its arguments and this state, so every replica that
 * applies the same entries reaches the same state and returns the same results, and two such
 * replicas produce byte-identical snapshots. That is why `apply` takes no clock: the only times
 * in here are record timestamps, stamped before proposal.
 *
 * Invariants: logStartOffset <= endOffset; appliedIndex only grows; each group's ackFloor >=
 * logStartOffset once retention passed it.
 */
export class PartitionStateMachine {
  #appliedIndex = 0
  #endOffset = 0
  #logStartOffset = 0
  #producers = new ProducerTable()
  #groups = new Map<string, ConsumerGroup>()
  #committedOffsets = new Map<string, number>()
  #index: OffsetIndex

  constructor(options: PartitionStateMachineOptions = {}) {
    this.#index = new OffsetIndex(options.indexIntervalRecords ?? INDEX_INTERVAL_RECORDS_DEFAULT)
  }

  /** The Raft index of the last entry applied (0 before any). */
  get appliedIndex(): number {
    return this.#appliedIndex
  }

  /** The offset the next record will get (Kafka's log end offset / high watermark once committed). */
  get endOffset(): number {
    return this.#endOffset
  }

  /** The first offset still readable: retention moves it up. */
  get logStartOffset(): number {
    return this.#logStartOffset
  }

  /**
   * Apply one committed command at Raft `index` (> appliedIndex; throws INTERNAL otherwise: a
   * host bug). A command that is not valid yields an ErrorResult, identically on every replica.
   */
  apply(index: number, command: PartitionCommand): PartitionResult {
    this.#advanceApplied(index)
    const result = this.#applyCommand(command)
    // Readers scanning the log count offsets per append entry: they must skip the ones that got none.
    if (command.type === 'append' && (result.type !== 'append' || result.duplicate))
      this.#index.onSkippedAppend(index)
    return result
  }

  /**
   * Apply raw Raft entry data. Empty data (a leader's no-op) only advances appliedIndex and
   * returns undefined; undecodable data yields a STORAGE_CORRUPT ErrorResult.
   */
  applyEntry(index: number, data: Uint8Array): PartitionResult | undefined {
    if (data.length === 0) {
      this.#advanceApplied(index)
      return undefined
    }
    let command: PartitionCommand
    try {
      command = decodePartitionCommand(data)
    } catch (error) {
      this.#advanceApplied(index)
      // A reader decoding this entry fails too; marking it keeps offset counting right regardless.
      this.#index.onSkippedAppend(index)
      return errorResult(isLaminarError(error) ? error.code : 'STORAGE_CORRUPT', String(error))
    }
    return this.apply(index, command)
  }

  /** Mark an entry that carries no broker command (a conf change) as applied. */
  skip(index: number): void {
    this.#advanceApplied(index)
  }

  /**
   * A group's full replicated state (what a Dispatcher rebuilds from). O(1): `acked` and
   * `deliveryCounts` are copied (O(ack window)) only when first read, and reflect the state at
   * that moment, so read them right away (as the Dispatcher constructor does).
   */
  group(name: string): GroupState | undefined {
    const group = this.#groups.get(name)
    if (group === undefined) return undefined
    let acked: number[] | undefined
    let deliveryCounts: [number, number][] | undefined
    return {
      name,
      config: { ...group.config },
      ackFloor: group.ackFloor,
      get acked() {
        acked ??= group.acked()
        return acked
      },
      get deliveryCounts() {
        deliveryCounts ??= group.deliveryCounts()
        return deliveryCounts
      },
    }
  }

  hasGroup(name: string): boolean {
    return this.#groups.has(name)
  }

  /** Cheap view for describeGroup: lag is `endOffset - ackFloor - ackedAboveFloor`. */
  groupSummary(name: string): GroupSummary | undefined {
    const group = this.#groups.get(name)
    if (group === undefined) return undefined
    return { config: { ...group.config }, ackFloor: group.ackFloor, ackedAboveFloor: group.ackedCount }
  }

  groupNames(): string[] {
    return [...this.#groups.keys()].sort()
  }

  /** A stream reader's committed position, or undefined when it never committed. */
  committedOffset(group: string): number | undefined {
    return this.#committedOffsets.get(group)
  }

  /**
   * Where to start scanning the Raft log for `offset`: read entries from `index` on, skip
   * non-append entries and those {@link isSkippedAppend} says got no offsets, count records from
   * `location.offset`. Undefined when `offset` is outside [logStartOffset, endOffset).
   */
  locate(offset: number): OffsetLocation | undefined {
    if (offset < this.#logStartOffset || offset >= this.#endOffset) return undefined
    return this.#index.locate(offset)
  }

  /** True when the append entry at `index` was applied without getting offsets (a duplicate or rejected batch). */
  isSkippedAppend(index: number): boolean {
    return this.#index.isSkipped(index)
  }

  /** A lower bound for the first offset with timestamp >= timestampMs; endOffset when none. */
  offsetForTime(timestampMs: number): number {
    const offset = this.#index.offsetForTime(timestampMs) ?? this.#endOffset
    return Math.max(offset, this.#logStartOffset)
  }

  /**
   * The log dropped every entry below `firstRetainedIndex` (retention). Moves logStartOffset to
   * the first offset still reachable (records between the cut and the next sparse entry become
   * unreachable too: retention may drop up to one index interval more than the segments) and
   * raises every group's ack floor to it. Local, not replicated: replicas cut on their own.
   */
  truncatePrefix(firstRetainedIndex: number): void {
    const firstOffset = this.#index.truncatePrefix(firstRetainedIndex) ?? this.#endOffset
    if (firstOffset <= this.#logStartOffset) return
    this.#logStartOffset = firstOffset
    for (const group of this.#groups.values()) group.raiseFloor(firstOffset)
  }

  /** Everything above, at appliedIndex, canonical (sorted) so equal states give equal bytes. */
  snapshot(): Uint8Array {
    return encodePartitionSnapshot({
      appliedIndex: this.#appliedIndex,
      endOffset: this.#endOffset,
      logStartOffset: this.#logStartOffset,
      index: this.#index,
      producers: this.#producers,
      groups: this.#groups,
      committedOffsets: this.#committedOffsets,
    })
  }

  /**
   * Replace all state with a snapshot's. Throws STORAGE_CORRUPT (and changes nothing) on bad bytes.
   *
   * Pass `firstRetainedIndex`, the local log's first index, when this replica's log does not hold
   * everything the snapshot's sparse index points at (after installing a leader's snapshot, the
   * log starts after it): `locate` then never sends a reader below the log, as {@link truncatePrefix}.
   */
  restore(bytes: Uint8Array, options: { firstRetainedIndex?: number } = {}): void {
    const state = decodePartitionSnapshot(bytes)
    this.#appliedIndex = state.appliedIndex
    this.#endOffset = state.endOffset
    this.#logStartOffset = state.logStartOffset
    this.#index = state.index
    this.#producers = state.producers
    this.#groups = state.groups
    this.#committedOffsets = state.committedOffsets
    if (options.firstRetainedIndex !== undefined) this.truncatePrefix(options.firstRetainedIndex)
  }

  #advanceApplied(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.#appliedIndex) {
      throw internal(`apply at index ${index} but already applied ${this.#appliedIndex}`)
    }
    this.#appliedIndex = index
  }

  #applyCommand(command: PartitionCommand): PartitionResult {
    switch (command.type) {
      case 'append':
        return this.#append(command)
      case 'groupCreate':
        return this.#groupCreate(command.group, command.config ?? {})
      case 'groupConfig': {
        const group = this.#groups.get(command.group)
        if (group === undefined) return groupNotFound(command.group)
        const config = validateGroupConfig({
          ...group.config,
          ...definedFields(command.config),
          startPosition: group.config.startPosition,
        })
        if (typeof config === 'string') return errorResult('INVALID_ARGUMENT', config)
        group.config = config
        return groupResult(group, false)
      }
      case 'ack':
      case 'deadLettered':
      case 'delivered': {
        const group = this.#groups.get(command.group)
        if (group === undefined) return groupNotFound(command.group)
        const invalid = checkOffsets(command.offsets)
        if (invalid !== undefined) return errorResult('INVALID_ARGUMENT', invalid)
        if (command.type === 'delivered') group.markRedelivered(command.offsets, this.#endOffset)
        else group.markHandled(command.offsets, this.#endOffset)
        return groupResult(group, false)
      }
      case 'commitOffset': {
        if (!NAME_PATTERN.test(command.group)) return errorResult('INVALID_ARGUMENT', 'invalid group name')
        if (!Number.isSafeInteger(command.offset) || command.offset < 0 || command.offset > this.#endOffset) {
          return errorResult(
            'OFFSET_OUT_OF_RANGE',
            `offset ${command.offset} is past endOffset ${this.#endOffset}`,
          )
        }
        if (!this.#committedOffsets.has(command.group) && this.#groupCount() >= GROUPS_MAX) {
          return errorResult('INVALID_ARGUMENT', `at most ${GROUPS_MAX} groups per partition`)
        }
        this.#committedOffsets.set(command.group, command.offset)
        return { type: 'commitOffset', group: command.group, offset: command.offset }
      }
      case 'groupDelete': {
        const deleted = this.#groups.delete(command.group)
        const deletedOffset = this.#committedOffsets.delete(command.group)
        return { type: 'groupDelete', group: command.group, deleted: deleted || deletedOffset }
      }
      default:
        return errorResult(
          'INVALID_ARGUMENT',
          `unknown command type ${String((command as { type: unknown }).type)}`,
        )
    }
  }

  #append(command: AppendCommand): PartitionResult {
    const { batch, producerId, sequence } = command
    // Only the batch header is read: the leader validated every record before proposing.
    const count = batch.count
    if (count === 0 || count > APPEND_RECORDS_MAX) {
      return errorResult('INVALID_ARGUMENT', `an append carries 1..${APPEND_RECORDS_MAX} records`)
    }
    const timestampsMax = batch.timestampMsMax
    if (!Number.isFinite(timestampsMax) || !Number.isFinite(batch.timestampMsMin)) {
      return errorResult('INVALID_ARGUMENT', 'a record needs value bytes and a finite timestampMs')
    }
    if ((producerId === undefined) !== (sequence === undefined)) {
      return errorResult('INVALID_ARGUMENT', 'producerId and sequence go together')
    }
    if (producerId !== undefined && sequence !== undefined) {
      if (
        producerId.length === 0 ||
        producerId.length > 256 ||
        !Number.isSafeInteger(sequence) ||
        sequence < 0
      ) {
        return errorResult('INVALID_ARGUMENT', 'producerId must be 1..256 chars and sequence an integer >= 0')
      }
      const check = this.#producers.check(producerId, sequence)
      if (check.kind === 'duplicate') {
        return { type: 'append', baseOffset: check.baseOffset, count: check.count, duplicate: true }
      }
      if (check.kind === 'outOfOrder') {
        return errorResult(
          'OUT_OF_ORDER_SEQUENCE',
          `producer ${producerId} sent sequence ${sequence}, expected ${check.expectedSequence}`,
        )
      }
      this.#producers.record(producerId, sequence, this.#endOffset, count)
    }
    const baseOffset = this.#endOffset
    this.#endOffset += count
    this.#index.onAppend(this.#appliedIndex, baseOffset, timestampsMax)
    return { type: 'append', baseOffset, count, duplicate: false }
  }

  #groupCreate(name: string, partial: Partial<GroupConfig>): PartitionResult {
    const existing = this.#groups.get(name)
    if (existing !== undefined) return groupResult(existing, false)
    if (!NAME_PATTERN.test(name)) return errorResult('INVALID_ARGUMENT', 'invalid group name')
    if (!this.#committedOffsets.has(name) && this.#groupCount() >= GROUPS_MAX) {
      return errorResult('INVALID_ARGUMENT', `at most ${GROUPS_MAX} groups per partition`)
    }
    const config = validateGroupConfig({ ...DEFAULT_GROUP_CONFIG, ...definedFields(partial) })
    if (typeof config === 'string') return errorResult('INVALID_ARGUMENT', config)
    const group = new ConsumerGroup(name, config, this.#startOffset(config))
    this.#groups.set(name, group)
    return groupResult(group, true)
  }

  #startOffset(config: GroupConfig): number {
    const position = config.startPosition
    switch (position.type) {
      case 'earliest':
        return this.#logStartOffset
      case 'latest':
        return this.#endOffset
      case 'offset':
        return Math.min(Math.max(position.offset, this.#logStartOffset), this.#endOffset)
      case 'time':
        return this.offsetForTime(position.timestampMs)
    }
  }

  /** Names holding a slot: consumer groups and stream-reader positions (a name may be both). */
  #groupCount(): number {
    let count = this.#groups.size
    for (const name of this.#committedOffsets.keys()) if (!this.#groups.has(name)) count++
    return count
  }
}

function checkOffsets(offsets: unknown): string | undefined {
  if (!Array.isArray(offsets) || offsets.length > ACK_OFFSETS_MAX)
    return `offsets: an array of at most ${ACK_OFFSETS_MAX}`
  for (const offset of offsets)
    if (!Number.isSafeInteger(offset) || offset < 0) return 'offsets must be integers >= 0'
  return undefined
}

function groupResult(group: ConsumerGroup, created: boolean): GroupResult {
  return { type: 'group', group: group.name, created, ackFloor: group.ackFloor }
}

function groupNotFound(name: string): ErrorResult {
  return errorResult('GROUP_NOT_FOUND', `no group ${name} on this partition`)
}

function errorResult(code: LaminarErrorCode, message: string): ErrorResult {
  return { type: 'error', code, message }
}

function internal(message: string): LaminarError {
  return new LaminarError('INTERNAL', message)
}
