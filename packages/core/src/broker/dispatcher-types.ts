import type { GroupState } from './partition-state-machine'

/** One message handed to one member. The node reads the record at `offset` from the log. */
export interface Dispatch {
  memberId: string
  offset: number
  /** 1 on first delivery (as far as this leader knows: see DeliveredCommand). */
  deliveryCount: number
  /** Redelivered if not acked (or extended with working()) by then. */
  deadlineMs: number
}

/** Why a message went to the dead-letter topic. */
export type DeadLetterReason = 'maxDeliveries'

/**
 * A message for the group's dead-letter topic: read the record at `offset`, forward it with
 * {@link deadLetterRecord}, then propose `{ type: 'deadLettered', group, offsets }`.
 */
export interface DeadLetter {
  offset: number
  deliveryCount: number
  reason: DeadLetterReason
}

export interface DispatcherOptions {
  /** The replicated group state to rebuild from (on election, or right after groupCreate). */
  group: GroupState
  /** The partition's end offset (next offset to be assigned). */
  endOffset: number
  /** The partition's low-water mark: offsets below it are gone. */
  logStartOffset?: number
  /** Members at once (default 1024). */
  membersMax?: number
  /** Largest maxInFlight a member may ask for (default 10,000). */
  maxInFlightMax?: number
}

/** A member's view for status and describeGroup. */
export interface DispatcherMemberStatus {
  memberId: string
  inFlight: number
  maxInFlight: number
}

export interface DispatcherStatus {
  ackFloor: number
  /** The next never-dispatched offset. */
  nextOffset: number
  endOffset: number
  inFlight: number
  /** Waiting for (re)delivery. */
  queued: number
  members: DispatcherMemberStatus[]
}
