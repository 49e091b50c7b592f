/**
 * The follower's and (pre-)candidate's step functions, and how a follower handles appends,
 * heartbeats and snapshots (etcd-io/raft raft.go stepFollower, stepCandidate, handle*).
 */
import { restoreConfState } from './confchange'
import { campaign, hasUnappliedConfChanges, hup, poll } from './election'
import { RaftError } from './errors'
import { switchToConfig } from './membership'
import { newMessage } from './message'
import { emptyTrackerConfig } from './progress-tracker'
import type { Raft } from './raft'
import { bcastAppend } from './replication'
import { type Message, NONE, type Snapshot } from './types'

function dropProposal(reason: string): never {
  throw new RaftError('proposalDropped', `proposal dropped: ${reason}`)
}

function dropReadIndex(reason: string): never {
  throw new RaftError('readIndexDropped', `read index dropped: ${reason}`)
}

/** A follower's handling of messages: forwards proposals and reads, accepts the leader's appends. */
export function stepFollower(raft: Raft, message: Message): void {
  switch (message.type) {
    case 'prop':
      if (raft.lead === NONE) dropProposal('no leader')
      if (raft.disableProposalForwarding) dropProposal('proposal forwarding is disabled')
      // Forwarded to the leader. If the leader then drops it (e.g. a transfer in progress), the
      // proposal is lost without notice, as in etcd: the proposer must time out and retry.
      raft.send({ ...message, to: raft.lead })
      return
    case 'app':
      raft.electionElapsed = 0
      raft.lead = message.from
      handleAppendEntries(raft, message)
      return
    case 'heartbeat':
      raft.electionElapsed = 0
      raft.lead = message.from
      handleHeartbeat(raft, message)
      return
    case 'snap':
      raft.electionElapsed = 0
      raft.lead = message.from
      handleSnapshot(raft, message)
      return
    case 'transferLeader':
      // No leader to forward to: the request is dropped, and the caller sees no leader change.
      if (raft.lead === NONE) return
      raft.send({ ...message, to: raft.lead })
      return
    case 'timeoutNow':
      // The leader asks us to take over: campaign at once, skipping pre-vote, overriding leases.
      // With a committed conf change still unapplied, campaign right after applying it (a leader
      // handing over after its own removal sends the change's commit just before TimeoutNow).
      if (raft.promotable() && hasUnappliedConfChanges(raft)) raft.campaignAfterApply = true
      else hup(raft, 'transfer')
      return
    case 'readIndex':
      if (raft.lead === NONE) dropReadIndex('no leader')
      raft.send({ ...message, to: raft.lead })
      return
    case 'readIndexResp':
      raft.readStates.push({ index: message.index, requestCtx: message.context ?? new Uint8Array(0) })
      return
    default:
      return
  }
}

/** A (pre-)candidate's handling: counts votes, falls back to follower when a leader shows up. */
export function stepCandidate(raft: Raft, message: Message): void {
  // Only responses for our current kind of election count (a stale voteResp during pre-vote does not).
  const myVoteResponse = raft.role === 'preCandidate' ? 'preVoteResp' : 'voteResp'
  switch (message.type) {
    case 'prop':
      dropProposal('no leader (election in progress)')
      return
    case 'readIndex':
      dropReadIndex('no leader (election in progress)')
      return
    case 'app':
      // A leader of our term exists: fall back to follower (5.2).
      raft.becomeFollower(message.term, message.from)
      handleAppendEntries(raft, message)
      return
    case 'heartbeat':
      raft.becomeFollower(message.term, message.from)
      handleHeartbeat(raft, message)
      return
    case 'snap':
      raft.becomeFollower(message.term, message.from)
      handleSnapshot(raft, message)
      return
    case 'voteResp':
    case 'preVoteResp': {
      if (message.type !== myVoteResponse) return
      const result = poll(raft, message.from, !message.reject)
      if (result === 'won') {
        if (raft.role === 'preCandidate') campaign(raft, 'election')
        else {
          raft.becomeLeader()
          bcastAppend(raft)
        }
      } else if (result === 'lost') {
        // A lost pre-vote keeps the term; a lost vote keeps the term we campaigned in.
        raft.becomeFollower(raft.term, NONE)
      }
      return
    }
    default:
      return
  }
}

function respond(raft: Raft, to: string, index: number): Message {
  const response = newMessage('appResp', to, NONE, 0)
  response.index = index
  raft.send(response)
  return response
}

/** Appends a leader's entries if the consistency check passes; otherwise rejects with a hint (5.3). */
export function handleAppendEntries(raft: Raft, message: Message): void {
  const log = raft.raftLog
  if (message.index < log.committed) {
    // Already committed here: tell the leader where we are.
    respond(raft, message.from, log.committed)
    return
  }
  const lastNewIndex = log.maybeAppend(message.index, message.logTerm, message.commit, message.entries)
  if (lastNewIndex !== undefined) {
    respond(raft, message.from, lastNewIndex)
    return
  }
  // Consistency check failed (5.3). Hint the largest index whose term is <= the leader's term at
  // message.index, so the leader can skip a whole term of mismatching entries in one round trip.
  const hint = log.findConflictByTerm(Math.min(message.index, log.lastIndex()), message.logTerm)
  const response = respond(raft, message.from, message.index)
  response.reject = true
  response.rejectHint = hint.index
  response.logTerm = hint.term
}

/** Advances the commit index from a heartbeat and acknowledges it (with its ReadIndex context). */
export function handleHeartbeat(raft: Raft, message: Message): void {
  raft.raftLog.commitTo(message.commit)
  const response = newMessage('heartbeatResp', message.from, NONE, 0)
  response.context = message.context
  raft.send(response)
}

/** Installs a leader's snapshot and reports the resulting last index. */
export function handleSnapshot(raft: Raft, message: Message): void {
  const snapshot = message.snapshot
  if (snapshot === undefined) return
  const restored = restoreSnapshot(raft, snapshot)
  respond(raft, message.from, restored ? raft.raftLog.lastIndex() : raft.raftLog.committed)
}

/** Installs a leader's snapshot. Returns false when it is stale or does not apply to this node. */
function restoreSnapshot(raft: Raft, snapshot: Snapshot): boolean {
  const { index, term, confState } = snapshot.metadata
  if (index <= raft.raftLog.committed) return false
  if (raft.role !== 'follower') {
    // Defense in depth: only followers take snapshots. Bump the term so a new election happens.
    raft.becomeFollower(raft.term + 1, NONE)
    return false
  }
  // etcd ignores a snapshot whose configuration lacks this node. We accept it: a node removed and
  // re-added after the leader's latest snapshot would otherwise never catch up (the leader resends
  // the same snapshot forever). Restoring it is safe (it comes from the current leader and holds
  // only committed state); the node is simply not promotable until the entries after the snapshot
  // add it back.
  if (raft.raftLog.matchTerm(index, term)) {
    // We already have the snapshot's last entry: just fast-forward the commit index.
    raft.raftLog.commitTo(index)
    return false
  }
  raft.raftLog.restore(snapshot)
  raft.tracker.setConfig(emptyTrackerConfig(), new Map())
  switchToConfig(raft, restoreConfState(raft.tracker, raft.raftLog.lastIndex(), confState))
  return true
}
