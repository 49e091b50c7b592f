/**
 * The leader's step function (etcd-io/raft raft.go stepLeader): proposals, ReadIndex,
 * append/heartbeat responses and flow control, snapshot reports, leadership transfer.
 */

import { decodeConfChange } from './confchange-codec'
import { invariant, RaftError } from './errors'
import { transferLeader } from './leader-transfer'
import { checkConfChangeApplies } from './membership'
import type { Progress } from './progress'
import { isJoint } from './progress-tracker'
import type { Raft } from './raft'
import { PENDING_READ_INDEX_MAX } from './read-only'
import {
  ackReadIndex,
  bcastAppend,
  bcastHeartbeat,
  maybeSendAppend,
  releasePendingReadIndexMessages,
  sendAppend,
  sendTimeoutNow,
  startReadIndex,
} from './replication'
import { type ConfChange, type Entry, type Message, NONE } from './types'

function dropProposal(reason: string): never {
  throw new RaftError('proposalDropped', `proposal dropped: ${reason}`)
}

/** The leader's handling of messages (see the file comment). */
export function stepLeader(raft: Raft, message: Message): void {
  switch (message.type) {
    case 'beat':
      bcastHeartbeat(raft)
      return
    case 'checkQuorum':
      // Check-quorum: a leader that has not heard from a quorum within an election timeout steps
      // down, so a partitioned leader stops serving (stale) reads and accepting proposals.
      if (!raft.tracker.quorumActive(raft.id)) raft.becomeFollower(raft.term, NONE)
      for (const [id, progress] of raft.tracker.progress) if (id !== raft.id) progress.recentActive = false
      return
    case 'prop':
      propose(raft, message)
      return
    case 'readIndex':
      readIndex(raft, message)
      return
    default:
      break
  }

  const progress = raft.tracker.progress.get(message.from)
  if (progress === undefined) return
  switch (message.type) {
    case 'appResp':
      handleAppendResponse(raft, message, progress)
      return
    case 'heartbeatResp':
      progress.recentActive = true
      progress.msgAppFlowPaused = false
      // A live follower with a full pipeline: let one more append go (the oldest was probably lost).
      if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirstOne()
      // Also the retry point for appends skipped while entries were temporarily unavailable.
      if (progress.match < raft.raftLog.lastIndex()) sendAppend(raft, message.from)
      ackReadIndex(raft, message.from, message.context)
      return
    case 'snapStatus':
      if (progress.state !== 'snapshot') return
      if (message.reject) progress.pendingSnapshot = 0
      progress.becomeProbe()
      // Wait for an append response or heartbeat before probing: the follower may still be applying it.
      progress.msgAppFlowPaused = true
      return
    case 'unreachable':
      // Appends were probably lost: stop pipelining and probe.
      if (progress.state === 'replicate') progress.becomeProbe()
      return
    case 'transferLeader':
      transferLeader(raft, message.from, progress)
      return
    default:
      return
  }
}

function propose(raft: Raft, message: Message): void {
  invariant(message.entries.length > 0, 'stepped empty proposal')
  if (!raft.tracker.isVoter(raft.id)) dropProposal('this leader was removed or demoted (it is handing over)')
  if (raft.leadTransferee !== NONE) dropProposal('leadership transfer in progress')
  const lastIndex = raft.raftLog.lastIndex()
  let entries = message.entries
  // Only a local proposal (RawNode.propose, auto-leave: `to` is NONE) hands over fresh entries.
  // Any other (forwarded, possibly bounced back to its origin, possibly duplicated by the network)
  // shares its entry objects with other messages: copy them before stamping term and index, or a
  // second delivery would rewrite entries already in the log.
  if (message.to !== NONE) {
    entries = entries.map((entry): Entry => ({ term: 0, index: 0, type: entry.type, data: entry.data }))
  }
  let pendingConfIndex = raft.pendingConfIndex
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Entry
    if (entry.type !== 'confChange') continue
    let change: ConfChange
    try {
      change = decodeConfChange(entry.data)
    } catch {
      dropProposal('malformed conf change')
    }
    const wantsLeaveJoint = change.transition === 'auto' && change.changes.length === 0
    const joint = isJoint(raft.tracker.config)
    // One change at a time; also none before this leader applied an entry of its own term,
    // because pendingConfIndex starts at the leader's last index.
    if (pendingConfIndex > raft.raftLog.applied) dropProposal('a conf change is pending (possibly unapplied)')
    if (joint && !wantsLeaveJoint) dropProposal('must transition out of joint config first')
    if (!joint && wantsLeaveJoint) dropProposal('not in a joint config: refusing empty conf change')
    // No change is pending, so the tracker holds the configuration this entry will apply to:
    // a change that cannot apply (e.g. removing the last voter) is refused now rather than
    // failing on every replica when committed. Throws RaftError('invalidConfChange').
    checkConfChangeApplies(raft, change)
    pendingConfIndex = lastIndex + i + 1
  }
  if (!raft.appendEntries(entries)) dropProposal('too many uncommitted bytes')
  raft.pendingConfIndex = pendingConfIndex
  // Batching: appends for proposals go out when the host next asks for a Ready, so all proposals
  // made in between travel in one append per follower instead of one each.
  raft.appendsPending = true
}

function readIndex(raft: Raft, message: Message): void {
  if (!raft.tracker.isSingleton() && !raft.committedEntryInCurrentTerm()) {
    // A new leader does not know the commit index until it commits an entry of its term (5.4.2):
    // queue the request until then.
    if (raft.pendingReadIndexMessages.length >= PENDING_READ_INDEX_MAX) {
      throw new RaftError(
        'readIndexDropped',
        'read index dropped: too many requests wait for the first commit',
      )
    }
    raft.pendingReadIndexMessages.push(message)
    return
  }
  if (!startReadIndex(raft, message)) {
    throw new RaftError('readIndexDropped', 'read index dropped: too many requests await confirmation')
  }
}

function handleAppendResponse(raft: Raft, message: Message, progress: Progress): void {
  progress.recentActive = true
  const log = raft.raftLog
  if (message.reject) {
    // Fast backtracking: jump to the last index where the logs may agree, per the follower's hint.
    let nextProbeIndex = message.rejectHint
    if (message.logTerm > 0)
      nextProbeIndex = log.findConflictByTerm(message.rejectHint, message.logTerm).index
    if (progress.maybeDecrTo(message.index, nextProbeIndex)) {
      if (progress.state === 'replicate') progress.becomeProbe()
      sendAppend(raft, message.from)
    }
    return
  }
  if (
    !(progress.maybeUpdate(message.index) || (progress.match === message.index && progress.state === 'probe'))
  ) {
    return
  }
  if (progress.state === 'probe') progress.becomeReplicate()
  else if (progress.state === 'snapshot' && progress.match + 1 >= log.firstIndex()) {
    // Caught up past the compaction point: appends work again.
    progress.becomeProbe()
    progress.becomeReplicate()
  } else if (progress.state === 'replicate') progress.inflights.freeLE(message.index)

  if (raft.maybeCommit()) {
    releasePendingReadIndexMessages(raft)
    bcastAppend(raft)
  } else if (progress.canBumpCommit(log.committed)) {
    sendAppend(raft, message.from)
  }
  // Pipeline as much as flow control allows; each send either pauses or fills one in-flight slot.
  for (let sends = 0; sends <= raft.tracker.maxInflight; sends++) {
    if (!maybeSendAppend(raft, message.from, false)) break
  }
  if (message.from === raft.leadTransferee && progress.match === log.lastIndex()) {
    sendTimeoutNow(raft, message.from)
  }
}
