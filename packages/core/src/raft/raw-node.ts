/**
 * The host-facing Raft node (etcd-io/raft rawnode.go). The host drives it:
 *
 *   tick() on a timer; step() for every message from a peer; propose*() for writes;
 *   while (hasReady()) { rd = ready(); persist rd.hardState / rd.entries / rd.snapshot
 *   (durably when rd.mustSync); send rd.messages; apply rd.committedEntries (calling
 *   applyConfChange for conf change entries); advance() }
 *
 * Call advance() after each ready() before taking the next one.
 */
import { encodeConfChange } from './confchange-codec'
import { isRaftError, RaftError } from './errors'
import { applyConfChange } from './membership'
import { isLocalMessage, isResponseMessage, newMessage } from './message'
import { Raft } from './raft'
import { entryPayloadBytes } from './raft-log'
import { buildStatus } from './status'
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type RaftConfig,
  RaftLogError,
  type RaftStatus,
  type Ready,
  type SoftState,
} from './types'

/** What advance() must acknowledge from the Ready(s) handed out since the last advance(). */
interface PendingReady {
  hardState: HardState | undefined
  lastEntryIndex: number
  lastEntryTerm: number
  snapshotIndex: number
  lastCommittedIndex: number
  committedBytes: number
}

/** A Raft node driven by its host through ticks, messages, proposals and the Ready/advance loop. */
export class RawNode {
  private readonly raft: Raft
  private prevSoftState: SoftState
  private prevHardState: HardState
  private pending: PendingReady | undefined = undefined
  /** Committed entries could not be read ('temporarilyUnavailable'); retried after the next tick or step. */
  private committedEntriesUnavailable = false

  /** Throws RaftError('invalidConfig') for a bad config or inconsistent storage. */
  constructor(config: RaftConfig) {
    this.raft = new Raft(config)
    this.prevSoftState = this.raft.softState()
    this.prevHardState = this.raft.hardState()
  }

  /** Advances logical time by one tick (election and heartbeat timeouts are counted in ticks). */
  tick(): void {
    this.committedEntriesUnavailable = false
    this.raft.tick()
  }

  /** Starts an election now (with pre-vote when enabled). */
  campaign(): void {
    this.raft.step(newMessage('hup', NONE, this.raft.id, 0))
  }

  /** Proposes data for the log. Throws RaftError('proposalDropped') when it cannot be taken. */
  propose(data: Uint8Array): void {
    const message = newMessage('prop', NONE, this.raft.id, 0)
    message.entries = [{ term: 0, index: 0, type: 'normal', data }]
    this.raft.step(message)
  }

  /**
   * Proposes a membership change. Throws RaftError('proposalDropped') when it cannot be taken,
   * including when a change is pending or the leader has not yet applied an entry of its term,
   * and RaftError('invalidConfChange') when it cannot apply to the current configuration
   * (e.g. it removes the last voter). A follower forwards it unchecked; the leader checks it.
   */
  proposeConfChange(change: ConfChange): void {
    const message = newMessage('prop', NONE, this.raft.id, 0)
    message.entries = [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(change) }]
    this.raft.step(message)
  }

  /**
   * Feeds a message from a peer. Responses from peers not in the configuration are ignored.
   * Proposals or reads forwarded here that cannot be taken are dropped silently (the remote
   * proposer times out), as in etcd.
   */
  step(message: Message): void {
    if (isLocalMessage(message.type)) {
      throw new RaftError('stepLocalMessage', `cannot step local message type ${message.type}`)
    }
    if (isResponseMessage(message.type) && !this.raft.tracker.progress.has(message.from)) return
    this.committedEntriesUnavailable = false
    try {
      this.raft.step(message)
    } catch (error) {
      // A forwarded proposal or read the leader cannot take is dropped, as in etcd.
      if (
        isRaftError(error, 'proposalDropped') ||
        isRaftError(error, 'readIndexDropped') ||
        (message.type === 'prop' && isRaftError(error, 'invalidConfChange'))
      ) {
        return
      }
      throw error
    }
  }

  /** Asks the leader to hand leadership to `to` (forwarded when this node is a follower). */
  transferLeadership(to: NodeId): void {
    this.raft.step(newMessage('transferLeader', NONE, to, 0))
  }

  /**
   * Requests a linearizable read point; the answer arrives as a ReadState with the same context.
   * A new leader queues requests until it commits an entry of its term. Throws
   * RaftError('readIndexDropped') when no leader is known or the queue is full.
   */
  readIndex(context: Uint8Array): void {
    const message = newMessage('readIndex', NONE, this.raft.id, 0)
    message.context = context
    this.raft.step(message)
  }

  hasReady(): boolean {
    const raft = this.raft
    raft.flushAppends()
    const log = raft.raftLog
    if (raft.msgs.length > 0 || log.unstable.entries.length > 0 || raft.readStates.length > 0) return true
    if (log.hasPendingSnapshot() || (log.hasNextCommittedEnts() && !this.committedEntriesUnavailable))
      return true
    if (raft.lead !== this.prevSoftState.leader || raft.role !== this.prevSoftState.role) return true
    // Field by field rather than via hardState(): hasReady runs in every host loop, so it avoids allocating.
    const previous = this.prevHardState
    return (
      raft.term !== previous.term ||
      raft.persistedVote() !== previous.vote ||
      log.committed !== previous.commit
    )
  }

  ready(): Ready {
    const raft = this.raft
    raft.flushAppends()
    const log = raft.raftLog
    let committedEntries: Entry[] = []
    if (!this.committedEntriesUnavailable) {
      try {
        committedEntries = log.nextCommittedEnts()
      } catch (error) {
        if (!(error instanceof RaftLogError && error.kind === 'temporarilyUnavailable')) throw error
        // The host has not loaded these entries yet: hand them out in a later Ready. Until the next
        // tick or message, hasReady() does not report them, so a host loop does not spin.
        this.committedEntriesUnavailable = true
      }
    }
    let softState: SoftState | undefined
    if (raft.lead !== this.prevSoftState.leader || raft.role !== this.prevSoftState.role) {
      softState = raft.softState()
      this.prevSoftState = softState
    }
    const previous = this.prevHardState
    const vote = raft.persistedVote()
    const termOrVoteChanged = raft.term !== previous.term || vote !== previous.vote
    const hardStateChanged = termOrVoteChanged || log.committed !== previous.commit
    const entries = log.unstableEntries()
    // Every field set up front (one object shape for every Ready). Term and vote must be durable
    // before any message that depends on them leaves; the commit index alone can be recomputed,
    // so it does not force a sync.
    const ready: Ready = {
      softState,
      hardState: hardStateChanged ? { term: raft.term, vote, commit: log.committed } : undefined,
      readStates: raft.readStates,
      entries,
      snapshot: log.unstable.snapshot,
      committedEntries,
      messages: raft.msgs,
      mustSync: entries.length > 0 || termOrVoteChanged,
    }
    raft.msgs = []
    raft.readStates = []
    this.accept(ready)
    return ready
  }

  private accept(ready: Ready): void {
    const pending: PendingReady = this.pending ?? {
      hardState: undefined,
      lastEntryIndex: 0,
      lastEntryTerm: 0,
      snapshotIndex: 0,
      lastCommittedIndex: 0,
      committedBytes: 0,
    }
    if (ready.hardState) pending.hardState = ready.hardState
    const lastEntry = ready.entries[ready.entries.length - 1]
    if (lastEntry) {
      pending.lastEntryIndex = lastEntry.index
      pending.lastEntryTerm = lastEntry.term
    }
    if (ready.snapshot) pending.snapshotIndex = ready.snapshot.metadata.index
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1]
    if (lastCommitted) {
      pending.lastCommittedIndex = lastCommitted.index
      this.raft.raftLog.acceptApplying(lastCommitted.index)
      if (this.raft.maxUncommittedBytes !== Number.POSITIVE_INFINITY) {
        for (const entry of ready.committedEntries) pending.committedBytes += entryPayloadBytes(entry)
      }
    }
    this.pending = pending
  }

  /** Acknowledges the last Ready: its entries and snapshot are persisted and its committed entries applied. */
  advance(): void {
    const pending = this.pending
    if (pending === undefined) return
    this.pending = undefined
    const raft = this.raft
    if (pending.hardState) this.prevHardState = pending.hardState
    if (pending.snapshotIndex > 0) {
      raft.raftLog.stableSnapTo(pending.snapshotIndex)
      // Installing the snapshot applied everything up to its index.
      raft.appliedTo(pending.snapshotIndex)
    }
    if (pending.lastEntryIndex > 0) raft.raftLog.stableTo(pending.lastEntryIndex, pending.lastEntryTerm)
    if (pending.lastCommittedIndex > 0) {
      raft.reduceUncommittedSize(pending.committedBytes)
      raft.appliedTo(pending.lastCommittedIndex)
    }
  }

  /** Applies a committed conf change (call it while applying its entry); returns the new ConfState. */
  applyConfChange(change: ConfChange): ConfState {
    return applyConfChange(this.raft, change)
  }

  /** Tells the leader that `id` could not be reached: it stops pipelining to it. */
  reportUnreachable(id: NodeId): void {
    const message = newMessage('unreachable', NONE, id, 0)
    this.raft.step(message)
  }

  /** Tells the leader how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    const message = newMessage('snapStatus', NONE, id, 0)
    message.reject = status === 'failure'
    this.raft.step(message)
  }

  status(): RaftStatus {
    return buildStatus(this.raft)
  }
}
