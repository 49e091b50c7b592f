/**
 * The active configuration and every peer's Progress (etcd-io/raft tracker/tracker.go).
 */
import type { Progress } from './progress'
import {
  type JointConfig,
  jointCommittedIndex,
  jointVoteResult,
  jointVoterIds,
  sortedIds,
  type VoteResult,
} from './quorum'
import type { ConfState, NodeId } from './types'

/**
 * A membership configuration.
 * Invariants: learners and voters are disjoint; learnersNext ⊆ outgoing voters;
 * outgoing, learnersNext and autoLeave are empty/false unless joint.
 */
export interface TrackerConfig {
  voters: JointConfig
  learners: Set<NodeId>
  /** Outgoing voters that become learners when the joint configuration is left. */
  learnersNext: Set<NodeId>
  autoLeave: boolean
}

/** Progress of every voter and learner, by id. */
export type ProgressMap = Map<NodeId, Progress>

/** A configuration with no members. */
export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false }
}

/** A deep copy (new sets), so the Changer never mutates the active configuration. */
export function cloneTrackerConfig(config: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(config.voters[0]), new Set(config.voters[1])],
    learners: new Set(config.learners),
    learnersNext: new Set(config.learnersNext),
    autoLeave: config.autoLeave,
  }
}

/** True while an outgoing configuration exists (joint consensus). */
export function isJoint(config: TrackerConfig): boolean {
  return config.voters[1].size > 0
}

/** The active configuration, every member's Progress, and the votes of the current election. */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig()
  progress: ProgressMap = new Map()
  /** Votes received in the current (pre-)election. */
  readonly votes = new Map<NodeId, boolean>()
  readonly maxInflight: number
  /** Cached sorted voter ids, rebuilt on configuration change; campaigns iterate it. */
  private voterIdsCache: NodeId[] = []
  private readonly ackedIndex = (id: NodeId): number | undefined => this.progress.get(id)?.match

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight
  }

  /** Installs a configuration and progress map produced by the Changer. */
  setConfig(config: TrackerConfig, progress: ProgressMap): void {
    this.config = config
    this.progress = progress
    this.voterIdsCache = sortedIds(jointVoterIds(config.voters))
  }

  confState(): ConfState {
    return {
      voters: sortedIds(this.config.voters[0]),
      votersOutgoing: sortedIds(this.config.voters[1]),
      learners: sortedIds(this.config.learners),
      learnersNext: sortedIds(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    }
  }

  /** True when the only voter is one node (and no joint config). */
  isSingleton(): boolean {
    return this.config.voters[0].size === 1 && this.config.voters[1].size === 0
  }

  /** The largest index replicated on a quorum of voters. */
  committed(): number {
    return jointCommittedIndex(this.config.voters, this.ackedIndex)
  }

  /** Sorted voter ids of both halves. The returned array is shared: do not mutate it. */
  voterIds(): readonly NodeId[] {
    return this.voterIdsCache
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id)
  }

  /** True when a quorum of voters was recently active (the leader counts itself as active). */
  quorumActive(selfId: NodeId): boolean {
    const votes = new Map<NodeId, boolean>()
    for (const [id, progress] of this.progress) {
      if (progress.isLearner) continue
      votes.set(id, id === selfId || progress.recentActive)
    }
    return jointVoteResult(this.config.voters, votes) === 'won'
  }

  /** Result of a quorum vote over `acks` (ReadIndex heartbeat acks), in the active configuration. */
  tallyAcks(acks: ReadonlyMap<NodeId, boolean>): VoteResult {
    return jointVoteResult(this.config.voters, acks)
  }

  resetVotes(): void {
    this.votes.clear()
  }

  /** Records a vote; only the first vote of each node counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted)
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0
    let rejected = 0
    for (const [id, progress] of this.progress) {
      if (progress.isLearner) continue
      const vote = this.votes.get(id)
      if (vote === undefined) continue
      if (vote) granted++
      else rejected++
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) }
  }
}
