/**
 * Leadership transfer (thesis 3.10): the leader catches the transferee up, then sends it
 * TimeoutNow so it campaigns at once. Also the handover of a leader that a conf change removed
 * or demoted.
 */
import type { Progress } from './progress'
import type { Raft } from './raft'
import { sendAppend, sendTimeoutNow } from './replication'
import { NONE, type NodeId } from './types'

/** Starts (or keeps) a transfer to `transferee`; proposals are dropped until it ends. */
export function transferLeader(raft: Raft, transferee: NodeId, progress: Progress): void {
  if (progress.isLearner) return
  if (raft.leadTransferee !== NONE) {
    if (raft.leadTransferee === transferee) return
    raft.abortLeaderTransfer()
  }
  if (transferee === raft.id) return
  // The transfer must finish within an election timeout (tickHeartbeat aborts it otherwise).
  raft.electionElapsed = 0
  raft.leadTransferee = transferee
  // Catch the transferee up first; TimeoutNow goes out once its match reaches our last index.
  if (progress.match === raft.raftLog.lastIndex()) sendTimeoutNow(raft, transferee)
  else sendAppend(raft, transferee)
}

/**
 * A leader that is no longer a voter (removed, or demoted to learner) hands leadership to the
 * most up-to-date remaining voter instead of stepping down at once. Stepping down at once can
 * strand the cluster: a remaining voter that has not yet learned the change (or lacks entries
 * only this leader has) may still need this node's log or vote to elect anyone. The leader keeps
 * replicating (taking no proposals) and steps down when the transferee's election reaches it;
 * tickHeartbeat retries every election timeout until then.
 */
export function handOverLeadership(raft: Raft): void {
  if (raft.leadTransferee !== NONE && raft.tracker.isVoter(raft.leadTransferee)) return
  let best: { id: NodeId; progress: Progress } | undefined
  for (const id of raft.tracker.voterIds()) {
    const progress = raft.tracker.progress.get(id)
    if (id === raft.id || progress === undefined) continue
    if (best === undefined || progress.match > best.progress.match) best = { id, progress }
  }
  if (best === undefined) {
    // No other voter to hand over to (cannot happen for a valid configuration): just step down.
    raft.becomeFollower(raft.term, NONE)
    return
  }
  transferLeader(raft, best.id, best.progress)
}
