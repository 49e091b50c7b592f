/**
 * The commands proposed through Raft to the broker's two replicated state machines, and the
 * results their `apply` returns. Encoded for the Raft entry by `codec/command-codec.ts`.
 *
 * Every command is applied identically on every replica, so nothing here carries local time:
 * timestamps are fields stamped by the proposer (the partition leader or the client).
 */
import type { RecordBatch } from '../codec/record-batch'
import type { LaminarErrorCode } from '../errors/laminar-error'

/** One message. Bytes end to end: the broker never looks inside key, value or headers. */
export interface LaminarRecord {
  key: Uint8Array | null
  value: Uint8Array
  headers: Record<string, Uint8Array>
  /** Stamped by the producer (or by the leader when the producer gave none). */
  timestampMs: number
}

/** Where a new consumer group starts reading. */
export type StartPosition =
  | { type: 'earliest' }
  | { type: 'latest' }
  | { type: 'offset'; offset: number }
  /** The first offset whose record timestamp may be >= timestampMs (sparse: a few earlier records may be included). */
  | { type: 'time'; timestampMs: number }

/** A consumer group's replicated settings on one partition. */
export interface GroupConfig {
  /** A delivery not acked within this many ms is redelivered. */
  ackWaitMs: number
  /** Deliveries before a message is dead-lettered; 0 means unlimited. */
  maxDeliveries: number
  /** Topic that receives dead-lettered messages; null drops them (counted as handled). */
  deadLetterTopic: string | null
  /** Used once, when the group is created on this partition. */
  startPosition: StartPosition
  /** Messages with one key are never in flight to two members at once. */
  perKeyOrdering: boolean
}

/** Defaults filled in by `groupCreate` for fields the command leaves out. */
export const DEFAULT_GROUP_CONFIG: Readonly<GroupConfig> = Object.freeze({
  ackWaitMs: 30_000,
  maxDeliveries: 0,
  deadLetterTopic: null,
  startPosition: Object.freeze({ type: 'earliest' }) as StartPosition,
  perKeyOrdering: false,
})

// ---------------------------------------------------------------------------------------------
// Partition state machine

/**
 * Append records. With `producerId` + `sequence` (per producer, per partition, +1 per batch,
 * starting anywhere), a retried batch is answered with its original offsets instead of being
 * written again; a sequence gap is answered OUT_OF_ORDER_SEQUENCE.
 */
export interface AppendCommand {
  type: 'append'
  producerId?: string
  sequence?: number
  /** The records as the producer encoded them: apply reads only the batch header. */
  batch: RecordBatch
}

/** Create a group on this partition; applying it to an existing group is a no-op answering its state. */
export interface GroupCreateCommand {
  type: 'groupCreate'
  group: string
  config?: Partial<GroupConfig>
}

/** Change settings of an existing group (start position is ignored: it applies only at creation). */
export interface GroupConfigCommand {
  type: 'groupConfig'
  group: string
  config: Partial<Omit<GroupConfig, 'startPosition'>>
}

/** Acks from any number of members, batched into one proposal by the leader's dispatcher. */
export interface AckCommand {
  type: 'ack'
  group: string
  offsets: number[]
}

/**
 * Offsets that were delivered again (a redelivery). Only proposed when the group has a finite
 * `maxDeliveries`, and only for redeliveries: first deliveries are not recorded, so after a leader
 * change a count may be one short (the message may get one delivery more than maxDeliveries).
 */
export interface DeliveredCommand {
  type: 'delivered'
  group: string
  offsets: number[]
}

/** Offsets forwarded to the dead-letter topic (or dropped): from now on they count as acked. */
export interface DeadLetteredCommand {
  type: 'deadLettered'
  group: string
  offsets: number[]
}

/** A stream reader's committed position (next offset to read). Needs no groupCreate. */
export interface CommitOffsetCommand {
  type: 'commitOffset'
  group: string
  offset: number
}

export interface GroupDeleteCommand {
  type: 'groupDelete'
  group: string
}

export type PartitionCommand =
  | AppendCommand
  | GroupCreateCommand
  | GroupConfigCommand
  | AckCommand
  | DeliveredCommand
  | DeadLetteredCommand
  | CommitOffsetCommand
  | GroupDeleteCommand

/** A command rejected on apply, identically on every replica. */
export interface ErrorResult {
  type: 'error'
  code: LaminarErrorCode
  message: string
}

export interface AppendResult {
  type: 'append'
  /** Offset of the first record; records got baseOffset .. baseOffset + count - 1. */
  baseOffset: number
  count: number
  /** True when this was a retry answered with the original offsets (nothing written). */
  duplicate: boolean
}

/** Answer to groupCreate, groupConfig, ack, delivered, deadLettered. */
export interface GroupResult {
  type: 'group'
  group: string
  /** groupCreate only: false when the group already existed. */
  created: boolean
  /** Every offset below ackFloor is acked (or dead-lettered, or dropped by retention). */
  ackFloor: number
}

export interface CommitOffsetResult {
  type: 'commitOffset'
  group: string
  offset: number
}

export interface GroupDeleteResult {
  type: 'groupDelete'
  group: string
  /** False when there was no such group (not an error: deletes are idempotent). */
  deleted: boolean
}

export type PartitionResult =
  | AppendResult
  | GroupResult
  | CommitOffsetResult
  | GroupDeleteResult
  | ErrorResult

// ---------------------------------------------------------------------------------------------
// Controller state machine

/** Per-topic settings; unset fields get {@link DEFAULT_TOPIC_CONFIG}. */
export interface TopicConfig {
  /** Retention by size per partition; 0 = unlimited. */
  retentionBytes: number
  /** Retention by age; 0 = unlimited. */
  retentionMs: number
  /** Largest record (key + value + headers) accepted by a producer send. */
  maxMessageBytes: number
  /** A log segment rolls at this size. */
  segmentBytes: number
}

export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  retentionBytes: 0,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxMessageBytes: 1024 * 1024,
  segmentBytes: 64 * 1024 * 1024,
})

/** A node joins the cluster (or updates its addresses). */
export interface JoinCommand {
  type: 'join'
  nodeId: string
  /** Where peers and clients reach it, e.g. { peer: '10.0.0.1:7101', client: '10.0.0.1:7201' }. */
  addresses?: Record<string, string>
  /**
   * The id of the node's storage (random, made when the storage was first used). A member that
   * joins with another storage id than the one recorded lost its disk: every replica it hosted
   * is renewed (a fresh replica id, moved onto like a new replica), since its Raft state is gone.
   */
  storageId?: string
  /**
   * The node's storage holds no controller state (a wiped disk, or a founder starting after the
   * cluster formed): a member joining so with a storage id other than the recorded one gets a new
   * controller replica id, since its old one may have voted and acknowledged entries it forgot.
   */
  freshStorage?: boolean
}

/** A node leaves: its partition replicas are moved onto the other members. */
export interface LeaveCommand {
  type: 'leave'
  nodeId: string
}

export interface CreateTopicCommand {
  type: 'createTopic'
  name: string
  partitions: number
  replicationFactor: number
  config?: Partial<TopicConfig>
}

export interface DeleteTopicCommand {
  type: 'deleteTopic'
  name: string
}

/**
 * Move a partition onto the given replicas (first = preferred leader): sets the partition's
 * target; its group's leader then changes the group's membership and reports
 * {@link ReassignmentDoneCommand}. Refused while an earlier move of the partition runs.
 */
export interface ReassignPartitionCommand {
  type: 'reassignPartition'
  topic: string
  partition: number
  replicas: string[]
}

/**
 * Proposed by a partition group's leader once the group's voters are the target replicas (the
 * membership change committed): the partition's current replicas become the target, and replicas
 * no longer placed stop and clear their logs.
 */
export interface ReassignmentDoneCommand {
  type: 'reassignmentDone'
  topic: string
  /** Guards against a re-created topic of the same name. */
  topicId: number
  partition: number
  /**
   * The group's voters as committed (any order), as replica ids: node ids would not tell an
   * incarnation that was moved off and placed again meanwhile from the one that is a voter.
   */
  replicas: string[]
}

export type ControllerCommand =
  | JoinCommand
  | LeaveCommand
  | CreateTopicCommand
  | DeleteTopicCommand
  | ReassignPartitionCommand
  | ReassignmentDoneCommand

/** Any accepted controller command: the metadata `version` after applying it. */
export interface ControllerOkResult {
  type: 'ok'
  version: number
}

export type ControllerResult = ControllerOkResult | ErrorResult

/** A member of the cluster as the controller knows it. */
export interface ClusterMember {
  nodeId: string
  addresses: Record<string, string>
  /** Removal asked for: its replicas are moving off; it is forgotten once it hosts none. */
  leaving: boolean
  /** The storage it registered with its join ('' until it did): it hosts replicas only over that one. */
  storageId: string
  /** Its replica ids of a lower epoch belong to a storage it lost: never hosted again. */
  replicaFloor: number
  /**
   * Its replica id in the controller group: the node id for its first incarnation (so founders
   * need no coordination), `<nodeId>@<epoch>` once renewed after it came back without its state.
   */
  controllerReplicaId: string
}

/**
 * One partition's placement. `replicas[0]` is the preferred leader.
 * Invariant: a reassignment is in progress exactly when `currentReplicas` and `replicas` differ
 * as sets; a node hosts the partition's group while it is in either.
 */
export interface PartitionAssignment {
  partition: number
  /** The target replicas. */
  replicas: string[]
  /** The group's voters as last reported by its leader (the target once a move completes). */
  currentReplicas: string[]
  /**
   * The Raft replica ids of the target (`replicaIds[i]` is `replicas[i]`'s, `broker/replica-ids.ts`):
   * a fresh one for every placement of a node on the partition, so an incarnation moved off and
   * back is a new Raft member. Invariant: never reused.
   */
  replicaIds: string[]
  /** The replica ids of `currentReplicas`, aligned with it: the group's voters as last reported. */
  currentReplicaIds: string[]
  /**
   * The replica ids at creation: the configuration every replica's Raft starts from (it is not in
   * the group's log), so a replica added later replays the log's conf changes from the same start.
   */
  initialReplicas: string[]
}

export interface TopicMetadata {
  name: string
  /** Distinguishes a re-created topic from a deleted one of the same name (Raft group ids use it). */
  topicId: number
  replicationFactor: number
  config: TopicConfig
  partitions: PartitionAssignment[]
}

// ---------------------------------------------------------------------------------------------
// Limits

/** Topic and group names: `[a-zA-Z0-9._-]{1,249}`. */
export const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/
export const TOPIC_PARTITIONS_MAX = 1024
/** Records in one append command. */
export const APPEND_RECORDS_MAX = 100_000
/** Offsets in one ack / delivered / deadLettered command. */
export const ACK_OFFSETS_MAX = 100_000
/** Groups (consumer groups plus stream-reader positions) per partition. */
export const GROUPS_MAX = 1024
/** Idempotent producers remembered per partition; the least recently appending one is forgotten first. */
export const PRODUCERS_MAX = 10_000
/**
 * A group never has more than this many offsets between its ack floor and the furthest offset
 * handed out. It bounds the acked set and delivery counts kept above the floor; acks beyond the
 * window are ignored (the message will be redelivered), and the dispatcher never delivers past it.
 */
export const ACK_WINDOW_MAX = 65_536
export const CLUSTER_MEMBERS_MAX = 1024
export const TOPICS_MAX = 10_000
