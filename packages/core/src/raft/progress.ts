/**
 * The leader's view of one follower (etcd-io/raft tracker/progress.go).
 *
 * - probe: the leader does not know the follower's last index; it sends one append per
 *   heartbeat interval and waits for the answer (`msgAppFlowPaused`).
 * - replicate: the follower accepts appends; the leader pipelines them optimistically,
 *   bounded by `inflights`.
 * - snapshot: the follower needs a snapshot; nothing else is sent until it is reported.
 */
import { Inflights } from './inflights'

/** How the leader sends to a follower; see the file comment. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** What the leader knows of one follower and how it may send to it. */
export class Progress {
  /** Highest index known to be replicated on the follower. Invariant: match < next. */
  match: number
  /** Index of the next entry to send. */
  next: number
  /** Highest commit index sent to the follower (so the leader knows whether to bump it). */
  sentCommit = 0
  state: ProgressState = 'probe'
  /** In snapshot state: the index of the snapshot in flight. 0 otherwise. */
  pendingSnapshot = 0
  /** Heard from since the last check-quorum round. */
  recentActive: boolean
  /** In probe state: an append was sent and is unanswered, so sending pauses. */
  msgAppFlowPaused = false
  readonly inflights: Inflights
  isLearner: boolean

  constructor(match: number, next: number, maxInflight: number, isLearner: boolean, recentActive: boolean) {
    this.match = match
    this.next = next
    this.inflights = new Inflights(maxInflight)
    this.isLearner = isLearner
    this.recentActive = recentActive
  }

  /** Resets to probing from `next` when a node changes role or term (etcd's reset). */
  reset(match: number, next: number): void {
    this.resetState('probe')
    this.match = match
    this.next = next
    this.sentCommit = 0
    this.recentActive = false
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false
    this.pendingSnapshot = 0
    this.state = state
    this.inflights.reset()
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // The snapshot may have been applied (success) or not (failure): probe from whichever is later.
      const pendingSnapshot = this.pendingSnapshot
      this.resetState('probe')
      this.next = Math.max(this.match + 1, pendingSnapshot + 1)
    } else {
      this.resetState('probe')
      this.next = this.match + 1
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1)
  }

  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
    this.next = snapshotIndex + 1
    this.sentCommit = snapshotIndex
  }

  /** Accounts for an append carrying `entryCount` entries, the last at index next+entryCount-1. */
  sentEntries(entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        // Optimistic: assume the follower will accept, so the next append pipelines behind this one.
        this.next += entryCount
        this.inflights.add(this.next - 1)
      }
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true
    }
  }

  /** Called on a successful append response. Returns false when `index` is stale. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false
    this.match = index
    if (this.next < index + 1) this.next = index + 1
    this.msgAppFlowPaused = false
    return true
  }

  /**
   * Called on a rejected append of index `rejected`; `matchHint` is the follower's guess of the
   * last index where the logs may agree. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Stale: a rejection of something already matched.
      if (rejected <= this.match) return false
      this.next = this.match + 1
      this.sentCommit = Math.min(this.sentCommit, this.next - 1)
      return true
    }
    // In probe state only the rejection of the last probe counts.
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.sentCommit = Math.min(this.sentCommit, this.next - 1)
    this.msgAppFlowPaused = false
    return true
  }

  /** True when the leader must not send appends to this follower now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused
      case 'replicate':
        return this.inflights.full()
      default:
        return true
    }
  }

  /** True when the follower lags behind `committed` and could be told a higher commit index. */
  canBumpCommit(committed: number): boolean {
    return this.sentCommit < committed && this.sentCommit < this.next - 1
  }
}
