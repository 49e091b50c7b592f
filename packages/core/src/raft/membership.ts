/**
 * Installing membership changes on a running node (etcd-io/raft raft.go applyConfChange,
 * switchToConfig): the tracker gets the new configuration, a leader re-evaluates its commit index
 * and steps down if it was removed or demoted.
 */
import { type ChangeResult, Changer, enterJointAutoLeave, isLeaveJoint } from './confchange'
import { handOverLeadership } from './leader-transfer'
import type { Raft } from './raft'
import { bcastAppend, maybeSendAppend } from './replication'
import { type ConfChange, type ConfState, NONE } from './types'

/**
 * Applies a committed conf change to the tracker and returns the new ConfState.
 *
 * Hazard: removing a node from a 2-voter cluster. The removal needs both voters to commit; if
 * the leader applies it but the other node never learns the commit (lost message, or shut down
 * at once), that node keeps the 2-voter config and, when the leader was the one removed, can
 * never win an election again. See docs/raft.md, "The 2-node removal hazard".
 */
export function applyConfChange(raft: Raft, change: ConfChange): ConfState {
  return switchToConfig(raft, computeChange(raft, change))
}

/** The configuration `change` leads to; throws RaftError('invalidConfChange') if it cannot apply. */
function computeChange(raft: Raft, change: ConfChange): ChangeResult {
  const changer = new Changer(raft.tracker, raft.raftLog.lastIndex())
  if (isLeaveJoint(change)) return changer.leaveJoint()
  const autoLeave = enterJointAutoLeave(change)
  return autoLeave === undefined
    ? changer.simple(change.changes)
    : changer.enterJoint(autoLeave, change.changes)
}

/** Throws RaftError('invalidConfChange') when `change` cannot apply to the current configuration (nothing changes). */
export function checkConfChangeApplies(raft: Raft, change: ConfChange): void {
  computeChange(raft, change)
}

/** Installs a configuration; a leader commits what the new quorum allows and probes new peers. */
export function switchToConfig(raft: Raft, result: ChangeResult): ConfState {
  raft.tracker.setConfig(result.config, result.progress)
  const confState = raft.tracker.confState()
  const self = raft.tracker.progress.get(raft.id)
  raft.isLearner = self?.isLearner ?? false
  if (raft.role !== 'leader') return confState
  if (self === undefined || raft.isLearner) {
    // Removed or demoted leader: tell the remaining peers the commit index and hand leadership
    // to the most up-to-date voter (it steps down when that voter's election reaches it).
    // See docs/raft.md on removing a node from 2 voters.
    bcastAppend(raft)
    handOverLeadership(raft)
    return confState
  }
  if (confState.voters.length === 0) return confState
  if (raft.maybeCommit()) bcastAppend(raft)
  else {
    for (const id of raft.tracker.progress.keys()) if (id !== raft.id) maybeSendAppend(raft, id, false)
  }
  if (raft.leadTransferee !== NONE && !raft.tracker.isVoter(raft.leadTransferee)) raft.abortLeaderTransfer()
  return confState
}
