import { Packr } from 'msgpackr'
import type { StartPosition } from '../broker/commands'
import { LaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import type { ConfState, NodeId } from '../raft/types'
import { decodeProduceFrame, encodeProduceFrame, PRODUCE_FRAME_KIND } from './produce-frame'
import { decodeRaftFrame, encodeRaftFrame, RAFT_FRAME_KIND, type RaftGroupMessages } from './raft-wire'

/**
 * The wire protocol between nodes and between clients and nodes, carried as frames over the
 * Transport port. Every connection starts with a `hello` frame naming its role; a node answers
 * `welcome` (or closes the connection). After that:
 * - peer connections carry `raft` frames: every Raft message one node has for another at one
 *   moment, for all groups, in one binary frame (raft-wire.ts) whose entry data is decoded as views;
 * - client connections carry `request` / `response` frames matched by a correlation id.
 * Other frames are msgpack; record bytes stay bytes (msgpack bin), never re-encoded as text.
 */

/**
 * Version carried in `hello`; a node refuses other versions. 2: binary Raft frames and record
 * batches in produce requests (a version-1 peer could not read them). 3: Raft frame entries laid
 * out as log records (raft-wire version 2). 4: produce requests are binary produce frames
 * (produce-frame.ts) carrying the producer's batch bytes in place; Raft frame entries carry their
 * data's checksum (raft-wire version 3).
 */
export const PROTOCOL_VERSION = 4

/** Default bound on one frame (both directions): larger frames are refused, not parsed. */
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024

export type ConnectionRole = 'peer' | 'client'

export interface HelloFrame {
  kind: 'hello'
  version: number
  role: ConnectionRole
  /** For peers: the sending node's id. For clients: a client id (diagnostics only). */
  nodeId: string
  /** Placeholder for authentication; nodes configured with a token compare it. */
  token: string
}

export interface WelcomeFrame {
  kind: 'welcome'
  nodeId: NodeId
}

export interface RaftFrame {
  kind: 'raft'
  /** Messages grouped by Raft group id. */
  groups: RaftGroupMessages
}

export interface RequestFrame {
  kind: 'request'
  id: number
  request: ClientRequest
}

export interface WireError {
  code: LaminarErrorCode
  message: string
  leaderHint?: string
  details?: Record<string, unknown>
}

export type ResponseFrame =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: WireError }

export type { RaftGroupMessages } from './raft-wire'
export { decodeRaftFrame, encodeRaftFrame, messageBytes } from './raft-wire'

export type Frame = HelloFrame | WelcomeFrame | RaftFrame | RequestFrame | ResponseFrame

/** A record as clients send it and read it back. Bytes end to end. */
export interface WireRecord {
  key: Uint8Array | null
  value: Uint8Array
  headers: Record<string, Uint8Array>
  timestampMs: number
}

/** A record read from a partition, with its offset. */
export interface StoredRecord extends WireRecord {
  offset: number
}

/** How a consumer group starts on a partition it has never consumed (one definition: the broker's). */
export type { StartPosition } from '../broker/commands'

export interface GroupOptions {
  ackWaitMs: number
  maxDeliveries: number
  deadLetterTopic: string | null
  startPosition: StartPosition
  perKeyOrdering: boolean
}

export interface Delivery {
  offset: number
  deliveryCount: number
  record: WireRecord
}

/** Every request a client can make, by operation. Results are in {@link ClientResults}. */
export type ClientRequest =
  | { op: 'metadata' }
  | {
      op: 'createTopic'
      topic: string
      partitions: number
      replicationFactor: number
      config: Record<string, number>
    }
  | { op: 'deleteTopic'; topic: string }
  | {
      op: 'produce'
      topic: string
      partition: number
      producerId: string | null
      sequence: number
      /**
       * The records encoded once by the producer (codec/record-batch): bytes, not a msgpack map
       * per record. Headroom given with the batch (`giveBatchHeadroom`) goes with the request:
       * the frame encoder or the leader writes its headers there instead of copying the batch.
       */
      batch: Uint8Array
    }
  | {
      op: 'read'
      topic: string
      partition: number
      fromOffset: number
      maxMessages: number
      maxBytes: number
      /** Any caught-up replica may answer (a follower read), possibly behind the leader. */
      stale?: boolean
    }
  | { op: 'offsetForTime'; topic: string; partition: number; timestampMs: number }
  | {
      op: 'fetch'
      topic: string
      partition: number
      group: string
      memberId: string
      options: GroupOptions
      /** At most this many deliveries in this answer (the member's free credit). */
      maxMessages: number
      /**
       * The member's whole window: deliveries it may hold unsettled at once, counting those it
       * holds now. Absent (older clients): `maxMessages` serves as the window.
       */
      maxInFlight?: number
      waitMs: number
      /**
       * 1 for a member's first fetch, +1 after each answer received; a fetch repeating the last
       * sequence (its answer was lost) is answered the same deliveries again.
       */
      fetchSeq: number
    }
  | {
      op: 'settle'
      topic: string
      partition: number
      group: string
      memberId: string
      acks: number[]
      nacks: Array<[number, number]>
      working: number[]
    }
  | { op: 'leave'; topic: string; partition: number; group: string; memberId: string }
  | { op: 'describeGroup'; topic: string; partition: number; group: string }
  /** Answered by the partition leader only (others say NOT_LEADER): finds the leader. */
  | { op: 'leader'; topic: string; partition: number }
  | { op: 'status' }
  // ---- membership (controller leader, but describeCluster: any node) ----
  /** A node joining at run time asks to become a member; answered with a {@link JoinResult}. */
  | { op: 'join'; nodeId: string; address: string; storageId?: string; freshStorage?: boolean }
  /** Any listening node, a starting one too: the storage its controller recorded for `nodeId`. */
  | { op: 'controllerProbe'; nodeId: string }
  /** Moves the node's replicas elsewhere, then forgets the member. */
  | { op: 'removeNode'; nodeId: string }
  | { op: 'reassignPartition'; topic: string; partition: number; replicas: string[] }
  /** From a partition leader: the group's voters reached the target replicas. */
  | { op: 'reassignmentDone'; topic: string; topicId: number; partition: number; replicas: string[] }
  | { op: 'describeCluster' }

export type ClientOp = ClientRequest['op']

// ---- Frames -----------------------------------------------------------------------------------

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

export function encodeFrame(frame: Frame): Uint8Array {
  if (frame.kind === 'raft') return encodeRaftFrame(new Map(frame.groups))
  if (frame.kind === 'request' && frame.request.op === 'produce')
    return encodeProduceFrame(frame.id, frame.request)
  return packr.pack(frame)
}

/**
 * Decodes one frame. Garbage and oversized frames are INVALID_ARGUMENT, never a crash: the
 * caller closes the connection.
 */
export function decodeFrame(bytes: Uint8Array, frameBytesMax: number = FRAME_BYTES_MAX_DEFAULT): Frame {
  if (bytes.length > frameBytesMax) {
    throw new LaminarError('INVALID_ARGUMENT', `frame of ${bytes.length} bytes exceeds ${frameBytesMax}`, {
      details: { frameBytes: bytes.length, frameBytesMax },
    })
  }
  let frame: unknown
  try {
    if (bytes[0] === RAFT_FRAME_KIND) return { kind: 'raft', groups: decodeRaftFrame(bytes) }
    if (bytes[0] === PRODUCE_FRAME_KIND) return { kind: 'request', ...decodeProduceFrame(bytes) }
    frame = packr.unpack(bytes)
  } catch (cause) {
    throw new LaminarError('INVALID_ARGUMENT', 'undecodable frame', { cause })
  }
  if (frame === null || typeof frame !== 'object' || typeof (frame as { kind?: unknown }).kind !== 'string') {
    throw new LaminarError('INVALID_ARGUMENT', 'frame without a kind')
  }
  return frame as Frame
}

export function toWireError(error: unknown): WireError {
  if (error instanceof LaminarError) {
    const wire: WireError = { code: error.code, message: error.message }
    if (error.leaderHint !== undefined) wire.leaderHint = error.leaderHint
    if (error.details !== undefined) wire.details = error.details
    return wire
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) }
}

export function fromWireError(wire: WireError): LaminarError {
  return new LaminarError(wire.code, wire.message, { leaderHint: wire.leaderHint, details: wire.details })
}

// ---- Results ----------------------------------------------------------------------------------

export interface PartitionMetadata {
  partition: number
  /** The target replicas; replicas[0] is the preferred leader. */
  replicas: string[]
  /** The group's voters as last reported; differs from `replicas` while a reassignment runs. */
  currentReplicas: string[]
  /** The leader as the answering node knows it; null when it does not host the partition. */
  leader: string | null
}

export interface TopicDescription {
  name: string
  topicId: number
  replicationFactor: number
  config: Record<string, number>
  partitions: PartitionMetadata[]
}

/** What a joining node needs before it can start its controller group. */
export interface JoinResult {
  /**
   * The configuration the controller group started from (not in its log): a joiner's Raft must
   * start from the same one to replay the log's membership changes identically.
   */
  controllerBootstrap: ConfState
  members: Array<{ id: string; address: string }>
  /** The joiner's controller replica id (renewed when it came back without its state). */
  controllerReplicaId?: string
}

/** A node's answer to `controllerProbe`. */
export interface ControllerProbeResult {
  /**
   * The storage id the answering node's controller state records for the asking node, or null
   * (not a member, never registered, or no controller running here yet).
   */
  registeredStorageId: string | null
}

/** Members, the controller group and every partition's current and target replicas. */
export interface ClusterDescription {
  controllerLeader: string | null
  /**
   * The controller group's configuration as the answering node applied it, as controller replica
   * ids (a node id, or `<nodeId>@<epoch>` for a node renewed after it lost its state).
   */
  controllerVoters: string[]
  controllerLearners: string[]
  members: Array<{ id: string; address: string; leaving: boolean }>
  partitions: Array<{
    topic: string
    partition: number
    replicas: string[]
    currentReplicas: string[]
    reassigning: boolean
  }>
}

export interface ClusterMetadata {
  nodes: Array<{ id: string; address: string }>
  controllerLeader: string | null
  topics: TopicDescription[]
}

export interface ProduceResult {
  baseOffset: number
  count: number
  duplicate: boolean
}

export interface ReadResult {
  records: StoredRecord[]
  /** The next offset to read after these records. */
  nextOffset: number
  /** One past the last committed offset on the answering replica. */
  endOffset: number
  /** The first offset still retained. */
  logStartOffset: number
}

export interface FetchResult {
  deliveries: Delivery[]
}

export interface GroupPartitionDescription {
  group: string
  topic: string
  partition: number
  /** Every offset below is handled. */
  ackFloor: number
  endOffset: number
  /** Messages not yet handled: endOffset - ackFloor minus those acked above the floor. */
  lag: number
  /** Messages delivered and awaiting ack on the leader. */
  pending: number
  members: string[]
}
