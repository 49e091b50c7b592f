import type { Entry, Message, MessageType, NodeId, Snapshot } from '../raft/types'

/**
 * Raft messages on the wire: compact tuples instead of objects (no field names per message),
 * heartbeats coalesced into 7-field tuples. Used inside peer `raft` frames (see protocol.ts).
 */

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
