/** Message construction and classification helpers. */
import type { Message, MessageType, NodeId } from './types'

/**
 * A message with every field defaulted. All messages share one shape (same fields, same order)
 * so V8 keeps them monomorphic on the hot path.
 */
export function newMessage(type: MessageType, to: NodeId, from: NodeId, term: number): Message {
  return {
    type,
    to,
    from,
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: undefined,
  }
}

const LOCAL_TYPES: ReadonlySet<MessageType> = new Set([
  'hup',
  'beat',
  'unreachable',
  'snapStatus',
  'checkQuorum',
])
const RESPONSE_TYPES: ReadonlySet<MessageType> = new Set([
  'appResp',
  'voteResp',
  'heartbeatResp',
  'unreachable',
  'readIndexResp',
  'preVoteResp',
])

/** Types the local node generates for itself; they never travel over the network. */
export function isLocalMessage(type: MessageType): boolean {
  return LOCAL_TYPES.has(type)
}

/** Types that answer a request; from a peer outside the configuration they are ignored. */
export function isResponseMessage(type: MessageType): boolean {
  return RESPONSE_TYPES.has(type)
}

/** The response type of a vote or pre-vote request. */
export function voteResponseType(type: MessageType): MessageType {
  return type === 'preVote' ? 'preVoteResp' : 'voteResp'
}

/** Context of the vote request that a leadership transfer triggers: it overrides check-quorum leases. */
export const CAMPAIGN_TRANSFER_CONTEXT = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]) // "transfer"

/** Byte-wise equality; undefined equals only undefined. */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
