/**
 * Majority and joint quorums (etcd-io/raft quorum/majority.go, quorum/joint.go).
 * A MajorityConfig is a set of voter ids; a JointConfig is [incoming, outgoing], and
 * outgoing is empty unless the configuration is joint.
 */
import type { NodeId } from './types'

/** A set of voters deciding by simple majority. */
export type MajorityConfig = Set<NodeId>

/** [incoming, outgoing]; a decision needs a majority of both. An empty outgoing set agrees to anything. */
export type JointConfig = [MajorityConfig, MajorityConfig]

/** Outcome of a vote so far: won, lost, or still open. */
export type VoteResult = 'pending' | 'lost' | 'won'

/** Returns the acknowledged (matched) index of a voter, or undefined when unknown. */
export type AckedIndexer = (id: NodeId) => number | undefined

/** Committed index of an empty config: it does not constrain the joint minimum. */
export const COMMITTED_INDEX_UNCONSTRAINED = Number.MAX_SAFE_INTEGER

// Scratch array reused across calls: committedIndex runs on every append response, so it avoids
// allocating. Safe because JavaScript is single-threaded and the function does not re-enter.
const scratchIndexes: number[] = []

/**
 * The largest index acknowledged by a majority of `config`.
 * Invariant: the result never exceeds the index acknowledged by the majority's weakest member.
 */
export function majorityCommittedIndex(config: MajorityConfig, acked: AckedIndexer): number {
  const n = config.size
  if (n === 0) return COMMITTED_INDEX_UNCONSTRAINED
  if (n === 1) {
    for (const id of config) return acked(id) ?? 0
  }
  let count = 0
  for (const id of config) {
    const index = acked(id) ?? 0
    // Insertion sort, descending: clusters are small, so this beats Array#sort and allocates nothing.
    let position = count
    while (position > 0 && (scratchIndexes[position - 1] as number) < index) {
      scratchIndexes[position] = scratchIndexes[position - 1] as number
      position--
    }
    scratchIndexes[position] = index
    count++
  }
  // With the indexes sorted descending, the (n/2)-th (0-based, n/2 floored) is acked by a majority.
  return scratchIndexes[Math.floor(n / 2)] as number
}

/** Tallies votes (true = granted) of a majority config; missing votes count as pending. */
export function majorityVoteResult(config: MajorityConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (config.size === 0) return 'won'
  let granted = 0
  let missing = 0
  for (const id of config) {
    const vote = votes.get(id)
    if (vote === undefined) missing++
    else if (vote) granted++
  }
  const quorum = Math.floor(config.size / 2) + 1
  if (granted >= quorum) return 'won'
  if (granted + missing >= quorum) return 'pending'
  return 'lost'
}

/** The committed index of a joint config: the smaller of both halves. */
export function jointCommittedIndex(config: JointConfig, acked: AckedIndexer): number {
  const incoming = majorityCommittedIndex(config[0], acked)
  const outgoing = majorityCommittedIndex(config[1], acked)
  return Math.min(incoming, outgoing)
}

/** A joint vote is won when both halves win, lost when either loses. */
export function jointVoteResult(config: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const incoming = majorityVoteResult(config[0], votes)
  const outgoing = majorityVoteResult(config[1], votes)
  if (incoming === outgoing) return incoming
  if (incoming === 'lost' || outgoing === 'lost') return 'lost'
  return 'pending'
}

/** Every voter of either half, each once. */
export function jointVoterIds(config: JointConfig): Set<NodeId> {
  const ids = new Set<NodeId>(config[0])
  for (const id of config[1]) ids.add(id)
  return ids
}

/** Ids of a set, sorted, as a new array (for ConfState and deterministic iteration). */
export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return Array.from(ids).sort()
}
