import { Packr } from 'msgpackr'
import { LaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import type { Entry, Message, MessageType, NodeId, Snapshot } from '../raft/types'

/**
 * The wire protocol between nodes and between clients and nodes, carried as frames over the
 * Transport port. Every connection starts with a `hello` frame naming its role; a node answers
 * `welcome` (or closes the connection). After that:
 * - peer connections carry `raft` frames: every Raft message one node has for another at one
 *   moment, for all groups, in one frame, with heartbeats coalesced into compact tuples;
 * - client connections carry `request` / `response` frames matched by a correlation id.
 * Frames are msgpack; record bytes stay bytes (msgpack bin), never re-encoded as text.
 */

/** Version carried in `hello`; a node refuses other versions. */
export const PROTOCOL_VERSION = 1

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

/** One heartbeat or heartbeat response, coalesced: [groupId, type, from, to, term, commit, context]. */
export type CoalescedHeartbeat = [
  string,
  'heartbeat' | 'heartbeatResp',
  NodeId,
  NodeId,
  number,
  number,
  Uint8Array | null,
]

export interface RaftFrame {
  kind: 'raft'
  /** Non-heartbeat messages, grouped by Raft group id. */
  groups: Array<[string, WireMessage[]]>
  heartbeats: CoalescedHeartbeat[]
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

/** How a consumer group starts on a partition it has never consumed. */
export type StartPosition =
  | { type: 'earliest' }
  | { type: 'latest' }
  | { type: 'offset'; offset: number }
  | { type: 'time'; timestampMs: number }

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
      records: WireRecord[]
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
      maxMessages: number
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

export type ClientOp = ClientRequest['op']

// ---- Raft message encoding --------------------------------------------------------------------

/** Entries as tuples: [term, index, type (0 normal, 1 confChange), data]. */
type WireEntry = [number, number, 0 | 1, Uint8Array]

/**
 * A Raft message as a tuple, optional fields last:
 * [type, to, from, term, logTerm, index, entries, commit, reject, rejectHint, context, snapshot].
 */
export type WireMessage = [
  MessageType,
  NodeId,
  NodeId,
  number,
  number,
  number,
  WireEntry[],
  number,
  boolean,
  number,
  Uint8Array | null,
  WireSnapshot | null,
]

type WireSnapshot = [number, number, string[], string[], string[], string[], boolean, Uint8Array]

function encodeEntry(entry: Entry): WireEntry {
  return [entry.term, entry.index, entry.type === 'normal' ? 0 : 1, entry.data]
}

function decodeEntry(wire: WireEntry): Entry {
  return { term: wire[0], index: wire[1], type: wire[2] === 0 ? 'normal' : 'confChange', data: wire[3] }
}

function encodeSnapshot(snapshot: Snapshot): WireSnapshot {
  const { metadata } = snapshot
  const conf = metadata.confState
  return [
    metadata.index,
    metadata.term,
    conf.voters,
    conf.votersOutgoing,
    conf.learners,
    conf.learnersNext,
    conf.autoLeave,
    snapshot.data,
  ]
}

function decodeSnapshot(wire: WireSnapshot): Snapshot {
  return {
    metadata: {
      index: wire[0],
      term: wire[1],
      confState: {
        voters: wire[2],
        votersOutgoing: wire[3],
        learners: wire[4],
        learnersNext: wire[5],
        autoLeave: wire[6],
      },
    },
    data: wire[7],
  }
}

export function encodeMessage(message: Message): WireMessage {
  return [
    message.type,
    message.to,
    message.from,
    message.term,
    message.logTerm,
    message.index,
    message.entries.map(encodeEntry),
    message.commit,
    message.reject,
    message.rejectHint,
    message.context ?? null,
    message.snapshot === undefined ? null : encodeSnapshot(message.snapshot),
  ]
}

export function decodeMessage(wire: WireMessage): Message {
  const message: Message = {
    type: wire[0],
    to: wire[1],
    from: wire[2],
    term: wire[3],
    logTerm: wire[4],
    index: wire[5],
    entries: wire[6].map(decodeEntry),
    commit: wire[7],
    reject: wire[8],
    rejectHint: wire[9],
  }
  if (wire[10] !== null) message.context = wire[10]
  if (wire[11] !== null) message.snapshot = decodeSnapshot(wire[11])
  return message
}

/** True for the messages sent as coalesced heartbeat tuples. */
export function isHeartbeat(message: Message): message is Message & { type: 'heartbeat' | 'heartbeatResp' } {
  return message.type === 'heartbeat' || message.type === 'heartbeatResp'
}

export function coalesceHeartbeat(groupId: string, message: Message): CoalescedHeartbeat {
  return [
    groupId,
    message.type as 'heartbeat' | 'heartbeatResp',
    message.from,
    message.to,
    message.term,
    message.commit,
    message.context ?? null,
  ]
}

export function expandHeartbeat(heartbeat: CoalescedHeartbeat): { groupId: string; message: Message } {
  const message: Message = {
    type: heartbeat[1],
    from: heartbeat[2],
    to: heartbeat[3],
    term: heartbeat[4],
    logTerm: 0,
    index: 0,
    entries: [],
    commit: heartbeat[5],
    reject: false,
    rejectHint: 0,
  }
  if (heartbeat[6] !== null) message.context = heartbeat[6]
  return { groupId: heartbeat[0], message }
}

// ---- Frames -----------------------------------------------------------------------------------

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

export function encodeFrame(frame: Frame): Uint8Array {
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
  /** replicas[0] is the preferred leader. */
  replicas: string[]
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
