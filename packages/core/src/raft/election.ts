import { CAMPAIGN_TRANSFER_CONTEXT, newMessage, voteResponseType } from './message'
import type { Raft } from './raft'
import { type Message, type MessageType, NONE, type NodeId } from './types'

/** preElection: pre-vote first; election: a real vote; transfer: a vote that overrides leases (TimeoutNow). */
export type CampaignType = 'preElection' | 'election' | 'transfer'

/** Answers a (pre-)vote request of the current term: one vote per term, only for an up-to-date log (5.2, 5.4.1). */
export function handleVoteRequest(raft: Raft, message: Message): void {
  const canVote =
    raft.vote === message.from ||
    // Not voted yet in this term and no leader known.
    (raft.vote === NONE && raft.lead === NONE) ||
    // A pre-vote for a future term may be granted regardless of our vote in this term.
    (message.type === 'preVote' && message.term > raft.term)
  const responseType = voteResponseType(message.type)
  if (canVote && raft.raftLog.isUpToDate(message.index, message.logTerm)) {
    // Granted responses carry the request's term: a pre-candidate counts only responses for its future term.
    raft.send(newMessage(responseType, message.from, NONE, message.term))
    if (message.type === 'vote') {
      raft.electionElapsed = 0
      raft.vote = message.from
    }
  } else {
    const response = newMessage(responseType, message.from, NONE, raft.term)
    response.reject = true
    raft.send(response)
  }
}

/** Starts an election unless this node is the leader, cannot be promoted, or has a conf change to apply first. */
export function hup(raft: Raft, type: CampaignType): void {
  if (raft.role === 'leader') return
  if (!raft.promotable()) return
  // A pending conf change might remove or demote us: do not campaign until it is applied.
  if (hasUnappliedConfChanges(raft)) return
  campaign(raft, type)
}

/** True when a committed conf change is not applied yet (it might remove or demote this node). */
export function hasUnappliedConfChanges(raft: Raft): boolean {
  if (raft.raftLog.applied >= raft.raftLog.committed) return false
  try {
    let index = raft.raftLog.applied + 1
    const end = raft.raftLog.committed + 1
    // Bounded scan: pages of maxMsgBytes, at most `end - index` entries in total.
    while (index < end) {
      const page = raft.raftLog.slice(index, end, raft.maxMsgBytes)
      for (const entry of page) if (entry.type === 'confChange') return true
      index += page.length
    }
    return false
  } catch {
    // Entries not loadable now: assume the worst and retry on a later timeout.
    return true
  }
}

/** Becomes (pre-)candidate, votes for itself and asks every other voter. */
export function campaign(raft: Raft, type: CampaignType): void {
  if (!raft.promotable()) return
  let voteType: MessageType
  let term: number
  if (type === 'preElection') {
    raft.becomePreCandidate()
    voteType = 'preVote'
    // A pre-vote asks for the term we would campaign in, without adopting it.
    term = raft.term + 1
  } else {
    raft.becomeCandidate()
    voteType = 'vote'
    term = raft.term
  }
  if (poll(raft, raft.id, true) === 'won') {
    // Won by our own vote alone: a single-voter cluster.
    if (type === 'preElection') campaign(raft, 'election')
    else raft.becomeLeader()
    return
  }
  const lastIndex = raft.raftLog.lastIndex()
  const lastTerm = raft.raftLog.lastTerm()
  for (const id of raft.tracker.voterIds()) {
    if (id === raft.id) continue
    const request = newMessage(voteType, id, NONE, term)
    request.index = lastIndex
    request.logTerm = lastTerm
    if (type === 'transfer') request.context = CAMPAIGN_TRANSFER_CONTEXT
    raft.send(request)
  }
}

/** Records a vote and returns the election's result so far. */
export function poll(raft: Raft, id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
  raft.tracker.recordVote(id, granted)
  return raft.tracker.tallyVotes().result
}
