import { LaminarError } from '../errors/laminar-error'
import type { GroupConfig, PartitionCommand } from './commands'
import type { GroupState } from './partition-state-machine'

/** One message handed to one member. The node reads the record at `offset` from the log. */
export interface Delivery {
  memberId: string
  offset: number
  /** 1 on first delivery. */
  deliveryCount: number
  /** Redelivered if not acked (or extended with working()) by then. */
  deadlineMs: number
}

/** Why a message went to the dead-letter topic. */
export type DeadLetterReason = 'maxDeliveries'

/** A message to forward to the group's dead-letter topic, then confirm with a `deadLettered` command. */
export interface DeadLetter {
  offset: number
  deliveryCount: number
  reason: DeadLetterReason
}

export interface DispatcherOptions {
  /** The replicated group state to rebuild from (on election, or at group creation). */
  group: GroupState
  /** The partition's current end offset (next offset to be assigned). */
  endOffset: number
  /** The partition's low-water mark: offsets below it are gone. */
  logStartOffset?: number
  membersMax?: number
  maxInFlightMax?: number
  pendingRedeliveriesMax?: number
}

/** Stub: implemented in a following commit. */
export class Dispatcher {
  constructor(_options: DispatcherOptions) {}
  addMember(_memberId: string, _maxInFlight: number): void {
    throw notYet()
  }
  removeMember(_memberId: string): void {
    throw notYet()
  }
  grantCredit(_memberId: string, _maxInFlight: number): void {
    throw notYet()
  }
  onRecordsAvailable(
    _endOffset: number,
    _keys?: { baseOffset: number; keys: readonly (Uint8Array | null)[] },
  ): void {
    throw notYet()
  }
  onConfigChanged(_config: GroupConfig): void {
    throw notYet()
  }
  onLogStartOffset(_logStartOffset: number): void {
    throw notYet()
  }
  nextDeliveries(_nowMs: number, _limit?: number): Delivery[] {
    throw notYet()
  }
  ack(_memberId: string, _offsets: readonly number[]): number {
    throw notYet()
  }
  nack(_memberId: string, _offsets: readonly number[], _nowMs: number, _delayMs?: number): void {
    throw notYet()
  }
  working(_memberId: string, _offsets: readonly number[], _nowMs: number): void {
    throw notYet()
  }
  expire(_nowMs: number): number {
    throw notYet()
  }
  nextDeadlineMs(): number | undefined {
    throw notYet()
  }
  takeCommands(): PartitionCommand[] {
    throw notYet()
  }
  takeDeadLetters(): DeadLetter[] {
    throw notYet()
  }
}

function notYet(): LaminarError {
  return new LaminarError('INTERNAL', 'not implemented yet')
}
