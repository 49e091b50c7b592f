/** A snapshot of a node's Raft state for monitoring (etcd-io/raft status.go). */
import type { Raft } from './raft'
import type { ProgressStatus, RaftStatus } from './types'

/** Builds the status; per-peer progress is only known (and only reported) on the leader. */
export function buildStatus(raft: Raft): RaftStatus {
  const progress: Record<string, ProgressStatus> = {}
  if (raft.role === 'leader') {
    for (const [id, peer] of raft.tracker.progress) {
      progress[id] = {
        match: peer.match,
        next: peer.next,
        state: peer.state,
        recentActive: peer.recentActive,
        isLearner: peer.isLearner,
        inflight: peer.inflights.size,
      }
    }
  }
  return {
    id: raft.id,
    role: raft.role,
    term: raft.term,
    vote: raft.vote,
    leader: raft.lead,
    commit: raft.raftLog.committed,
    applied: raft.raftLog.applied,
    leadTransferee: raft.leadTransferee,
    config: raft.tracker.confState(),
    progress,
  }
}
