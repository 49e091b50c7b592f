/**
 * The Raft state machine (etcd-io/raft raft.go): terms, roles, elections, and the dispatch of
 * messages to the role's step function. Replication lives in replication.ts, the role step
 * functions in step-leader.ts and step-follower.ts.
 *
 * Pure: no I/O, no clock, no randomness of its own. Output accumulates in `msgs` and
 * `readStates`, and in the log's unstable part, until RawNode hands it out as a Ready.
 */

import { restoreConfState } from './confchange'
import { encodeConfChange } from './confchange-codec'
import { RAFT_DEFAULTS, validateConfig } from './config'
import { handleVoteRequest, hup } from './election'
import { invariant, isRaftError, RaftError } from './errors'
import { handOverLeadership } from './leader-transfer'
import { bytesEqual, CAMPAIGN_TRANSFER_CONTEXT, newMessage } from './message'
import { ProgressTracker } from './progress-tracker'
import { entryPayloadBytes, RaftLog } from './raft-log'
import { READ_ONLY_PENDING_MAX, ReadOnly } from './read-only'
import { maybeSendAppend } from './replication'
import { stepCandidate, stepFollower } from './step-follower'
import { stepLeader } from './step-leader'
import {
  type Entry,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type RaftConfig,
  type RaftFaults,
  type ReadState,
  type SoftState,
  type StateRole,
} from './types'

/** A role's message handler, swapped on role change (etcd's `r.step = stepLeader`). */
export type StepFunction = (raft: Raft, message: Message) => void

/** The Raft state machine behind RawNode. Internal: hosts use RawNode. */
export class Raft {
  readonly id: NodeId
  term = 0
  vote: NodeId = NONE
  readStates: ReadState[] = []
  readonly raftLog: RaftLog
  readonly maxMsgBytes: number
  /** Infinity when unbounded. */
  readonly maxUncommittedBytes: number
  readonly tracker: ProgressTracker
  role: StateRole = 'follower'
  /** True when this node is a learner in the active configuration. */
  isLearner = false
  /** Messages to send, handed out by the next Ready. */
  msgs: Message[] = []
  lead: NodeId = NONE
  /** Target of a leadership transfer in progress, or NONE. */
  leadTransferee: NodeId = NONE
  /**
   * Index of the latest conf change in the log; a new one may be proposed only once it is applied.
   * A new leader sets it to its last index, so no change is taken before it applied its own term's entries.
   */
  pendingConfIndex = 0
  /** Payload bytes of uncommitted entries at the leader; bounded by maxUncommittedBytes. */
  uncommittedBytes = 0
  readOnly = new ReadOnly(READ_ONLY_PENDING_MAX)
  /** ReadIndex requests received before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = []
  /**
   * Leader only: entries were proposed and not yet sent. Flushed (one append per follower) by
   * flushAppends(), which RawNode calls before it reports or hands out a Ready.
   */
  appendsPending = false
  /** A TimeoutNow arrived while a conf change was unapplied: campaign once it is applied. */
  campaignAfterApply = false
  /** Ticks since the last election timeout (followers) or check-quorum round (leader). */
  electionElapsed = 0
  heartbeatElapsed = 0
  readonly checkQuorum: boolean
  readonly preVote: boolean
  readonly heartbeatTimeout: number
  readonly electionTimeout: number
  /** In [electionTimeout, 2 * electionTimeout), redrawn on every reset. */
  randomizedElectionTimeout = 0
  readonly disableProposalForwarding: boolean
  private readonly random: () => number
  readonly faults: RaftFaults
  stepFunction: StepFunction = stepFollower

  constructor(config: RaftConfig) {
    validateConfig(config)
    this.id = config.id
    this.raftLog = new RaftLog(
      config.storage,
      config.maxCommittedSizePerReady ?? RAFT_DEFAULTS.maxCommittedSizePerReady,
    )
    this.maxMsgBytes = config.maxSizePerMsg ?? RAFT_DEFAULTS.maxSizePerMsg
    const uncommittedMax = config.maxUncommittedEntriesSize ?? RAFT_DEFAULTS.maxUncommittedEntriesSize
    this.maxUncommittedBytes = uncommittedMax > 0 ? uncommittedMax : Number.POSITIVE_INFINITY
    this.tracker = new ProgressTracker(config.maxInflightMsgs ?? RAFT_DEFAULTS.maxInflightMsgs)
    this.checkQuorum = config.checkQuorum ?? RAFT_DEFAULTS.checkQuorum
    this.preVote = config.preVote ?? RAFT_DEFAULTS.preVote
    this.heartbeatTimeout = config.heartbeatTicks
    this.electionTimeout = config.electionTicks
    this.disableProposalForwarding = config.disableProposalForwarding ?? false
    this.random = config.random
    this.faults = config.faults ?? {}

    const { hardState, confState } = config.storage.initialState()
    restoreConfState(this.tracker, this.raftLog.lastIndex(), confState)
    this.isLearner = this.tracker.progress.get(this.id)?.isLearner ?? false
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState)
    if (config.applied !== undefined && config.applied > 0) this.raftLog.appliedTo(config.applied)
    this.becomeFollower(this.term, NONE)
  }

  private loadState(hardState: HardState): void {
    const lastIndex = this.raftLog.lastIndex()
    if (hardState.commit < this.raftLog.committed || hardState.commit > lastIndex) {
      throw new RaftError(
        'invalidConfig',
        `hard state commit ${hardState.commit} is out of range [${this.raftLog.committed}, ${lastIndex}]`,
      )
    }
    this.raftLog.commitTo(hardState.commit)
    this.term = hardState.term
    this.vote = hardState.vote
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role }
  }

  /** The vote as it goes into the persisted HardState. */
  persistedVote(): NodeId {
    // TEST-ONLY FAULT (RaftFaults.forgetVote): the vote is not persisted, so a restarted node may vote twice in a term.
    return this.faults.forgetVote === true ? NONE : this.vote
  }

  hardState(): HardState {
    return { term: this.term, vote: this.persistedVote(), commit: this.raftLog.committed }
  }

  /** Queues a message. Sets `from` and, except for votes and term-less forwards, the term. */
  send(message: Message): void {
    if (message.from === NONE) message.from = this.id
    const type = message.type
    if (type === 'vote' || type === 'voteResp' || type === 'preVote' || type === 'preVoteResp') {
      // Vote messages carry the term they are for (a pre-vote's is the future term), set by the caller.
      invariant(message.term !== 0, () => `term should be set when sending ${type}`)
    } else if (type !== 'prop' && type !== 'readIndex') {
      // Proposals and read requests forwarded to the leader carry no term: they are local-like.
      message.term = this.term
    }
    this.msgs.push(message)
  }

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat()
    else this.tickElection()
  }

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.step(newMessage('hup', NONE, this.id, 0))
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0
      if (this.checkQuorum) this.step(newMessage('checkQuorum', NONE, this.id, 0))
      // A transfer that did not finish within an election timeout is abandoned...
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer()
      // ...except the handover of a leader that is no longer a voter, which starts again.
      if (this.role === 'leader' && !this.tracker.isVoter(this.id)) handOverLeadership(this)
    }
    if (this.role !== 'leader') return
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0
      this.step(newMessage('beat', NONE, this.id, 0))
    }
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout)
    this.abortLeaderTransfer()
    this.tracker.resetVotes()
    const lastIndex = this.raftLog.lastIndex()
    for (const [id, progress] of this.tracker.progress) {
      progress.reset(id === this.id ? lastIndex : 0, lastIndex + 1)
    }
    this.pendingConfIndex = 0
    this.uncommittedBytes = 0
    this.appendsPending = false
    this.campaignAfterApply = false
    this.readOnly = new ReadOnly(READ_ONLY_PENDING_MAX)
    this.pendingReadIndexMessages = []
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFunction = stepFollower
    this.reset(term)
    this.lead = lead
    this.role = 'follower'
  }

  becomeCandidate(): void {
    invariant(this.role !== 'leader', 'invalid transition [leader -> candidate]')
    this.stepFunction = stepCandidate
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
  }

  /** Pre-candidates change neither term nor vote: a pre-vote disrupts nobody (thesis 9.6). */
  becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'invalid transition [leader -> preCandidate]')
    this.stepFunction = stepCandidate
    this.tracker.resetVotes()
    this.lead = NONE
    this.role = 'preCandidate'
  }

  becomeLeader(): void {
    invariant(this.role !== 'follower', 'invalid transition [follower -> leader]')
    this.stepFunction = stepLeader
    this.reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    const self = this.tracker.progress.get(this.id)
    invariant(self !== undefined, 'leader has no progress of its own')
    self.becomeReplicate()
    self.recentActive = true
    // The empty entry lets this leader commit (and learn the commit index) in its term (5.4.2).
    const appended = this.appendEntries([{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }])
    invariant(appended, 'empty entry was dropped')
    // No conf change until this leader applied its empty entry: a leader must commit an entry of
    // its own term before changing membership (Ongaro's fix to single-server changes, raft-dev 2015).
    // etcd uses the index before the empty entry; waiting for the empty entry itself is stricter.
    this.pendingConfIndex = this.raftLog.lastIndex()
  }

  /** True when this node may campaign: a voter with no snapshot pending. */
  promotable(): boolean {
    const self = this.tracker.progress.get(this.id)
    return self !== undefined && !self.isLearner && !this.raftLog.hasPendingSnapshot()
  }

  /** Dispatches any message: term bookkeeping first (5.1), then votes, then the role's step function. */
  step(message: Message): void {
    if (message.term === 0) {
      // Local message, or a term-less forward (prop, readIndex).
    } else if (message.term > this.term) {
      if (message.type === 'vote' || message.type === 'preVote') {
        const force = bytesEqual(message.context, CAMPAIGN_TRANSFER_CONTEXT)
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout
        // A live leader is known: a partitioned node's vote request must not disrupt the cluster.
        if (!force && inLease) return
      }
      if (message.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (message.type === 'preVoteResp' && !message.reject) {
        // The term is bumped only if the pre-vote wins.
      } else if (message.type === 'app' || message.type === 'heartbeat' || message.type === 'snap') {
        this.becomeFollower(message.term, message.from)
      } else {
        this.becomeFollower(message.term, NONE)
      }
    } else if (message.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (message.type === 'heartbeat' || message.type === 'app')) {
        // A stale leader (e.g. after a partition) learns the newer term from this response and steps down;
        // without it, a node whose pre-votes are ignored could never rejoin.
        this.send(newMessage('appResp', message.from, NONE, 0))
      } else if (message.type === 'preVote') {
        const response = newMessage('preVoteResp', message.from, NONE, this.term)
        response.reject = true
        this.send(response)
      }
      // Any other stale message is ignored.
      return
    }

    switch (message.type) {
      case 'hup':
        hup(this, this.preVote ? 'preElection' : 'election')
        return
      case 'vote':
      case 'preVote':
        handleVoteRequest(this, message)
        return
      default:
        this.stepFunction(this, message)
    }
  }

  /**
   * Appends entries at the leader, stamping term and index. Returns false (appending nothing)
   * when the uncommitted-bytes bound would be exceeded.
   */
  appendEntries(entries: Entry[]): boolean {
    let lastIndex = this.raftLog.lastIndex()
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry
      entry.term = this.term
      entry.index = lastIndex + 1 + i
    }
    if (!this.increaseUncommittedSize(entries)) return false
    lastIndex = this.raftLog.append(entries)
    // The leader's own entry counts toward the quorum at once; the host persists it before
    // sending, and etcd shows a leader may write to its disk in parallel with replicating.
    this.tracker.progress.get(this.id)?.maybeUpdate(lastIndex)
    // Raising the leader's own match moves the commit index only when a majority is the leader
    // alone (a single voter, or a joint half of one); otherwise the followers' acks decide.
    const voters = this.tracker.config.voters
    if (voters[0].size <= 1 || voters[1].size === 1) this.maybeCommit()
    return true
  }

  private increaseUncommittedSize(entries: Entry[]): boolean {
    if (this.maxUncommittedBytes === Number.POSITIVE_INFINITY) return true
    let bytes = 0
    for (const entry of entries) bytes += entryPayloadBytes(entry)
    // Always allow one proposal when nothing is uncommitted, so an oversized entry cannot wedge the leader.
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.maxUncommittedBytes) {
      return false
    }
    this.uncommittedBytes += bytes
    return true
  }

  reduceUncommittedSize(bytes: number): void {
    this.uncommittedBytes = bytes >= this.uncommittedBytes ? 0 : this.uncommittedBytes - bytes
  }

  /** Advances the commit index to what a quorum has; true if it moved. */
  maybeCommit(): boolean {
    const quorumIndex = this.tracker.committed()
    // TEST-ONLY FAULT (RaftFaults.commitPreviousTermByCounting): skips the Figure 8 rule, so a leader
    // may commit an entry of an earlier term by counting replicas. Never set outside tests.
    const ignoreTerm = this.faults.commitPreviousTermByCounting === true
    return this.raftLog.maybeCommit(quorumIndex, this.term, ignoreTerm)
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE
  }

  /** The host applied up to `index`: a leader in an auto-leave joint config now proposes leaving it. */
  appliedTo(index: number): void {
    const applied = Math.max(index, this.raftLog.applied)
    this.raftLog.appliedTo(applied)
    if (this.campaignAfterApply && applied >= this.raftLog.committed) {
      this.campaignAfterApply = false
      if (this.role !== 'leader') hup(this, 'transfer')
    }
    if (this.tracker.config.autoLeave && applied >= this.pendingConfIndex && this.role === 'leader') {
      const leave = newMessage('prop', NONE, this.id, 0)
      leave.entries = [
        {
          term: 0,
          index: 0,
          type: 'confChange',
          data: encodeConfChange({ transition: 'auto', changes: [] }),
        },
      ]
      try {
        this.step(leave)
      } catch (error) {
        // Dropped (e.g. a transfer in progress): retried on the next apply.
        if (!isRaftError(error, 'proposalDropped')) throw error
      }
    }
  }

  /** Sends the appends deferred by proposals (see appendsPending). */
  flushAppends(): void {
    if (!this.appendsPending) return
    this.appendsPending = false
    if (this.role !== 'leader') return
    for (const id of this.tracker.progress.keys()) if (id !== this.id) maybeSendAppend(this, id, false)
  }
}
