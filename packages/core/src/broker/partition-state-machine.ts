import { LaminarError } from '../errors/laminar-error'
import type { GroupConfig, PartitionCommand, PartitionResult } from './commands'

/** A consumer group's replicated state on one partition, as read by the dispatcher. */
export interface GroupState {
  readonly name: string
  readonly config: Readonly<GroupConfig>
  /** Every offset below is handled (acked, dead-lettered or dropped by retention). */
  readonly ackFloor: number
  /** Acked offsets at or above ackFloor, ascending. Bounded by ACK_WINDOW_MAX. */
  readonly acked: readonly number[]
  /** Recorded delivery counts (redeliveries only), [offset, count] ascending by offset. */
  readonly deliveryCounts: readonly (readonly [number, number])[]
}

/** Where to start scanning the Raft log for a record offset. */
export interface OffsetLocation {
  /** The first offset of the append entry at `index`; at or below the offset asked for. */
  offset: number
  index: number
}

export interface PartitionStateMachineOptions {
  /** A sparse offset -> index entry is kept at most every this many records (default 256). */
  indexIntervalRecords?: number
}

/** Stub: implemented in the next commit. */
export class PartitionStateMachine {
  constructor(_options: PartitionStateMachineOptions = {}) {}
  get appliedIndex(): number {
    throw notYet()
  }
  get endOffset(): number {
    throw notYet()
  }
  get logStartOffset(): number {
    throw notYet()
  }
  apply(_index: number, _command: PartitionCommand): PartitionResult {
    throw notYet()
  }
  applyEntry(_index: number, _data: Uint8Array): PartitionResult | undefined {
    throw notYet()
  }
  group(_name: string): GroupState | undefined {
    throw notYet()
  }
  groupNames(): string[] {
    throw notYet()
  }
  committedOffset(_group: string): number | undefined {
    throw notYet()
  }
  locate(_offset: number): OffsetLocation | undefined {
    throw notYet()
  }
  isSkippedAppend(_index: number): boolean {
    throw notYet()
  }
  offsetForTime(_timestampMs: number): number {
    throw notYet()
  }
  truncatePrefix(_firstRetainedIndex: number): void {
    throw notYet()
  }
  snapshot(): Uint8Array {
    throw notYet()
  }
  restore(_bytes: Uint8Array): void {
    throw notYet()
  }
}

function notYet(): LaminarError {
  return new LaminarError('INTERNAL', 'not implemented yet')
}
