import type { Clock } from '../ports/clock'
import type { NodeId } from '../raft/types'
import type { MultiRaft } from './multi-raft'

export interface HandoverOptions {
  selfId: NodeId
  clock: Clock
  tickIntervalMs: number
  /** The wait is bounded by two election timeouts. */
  electionTicks: number
}

/**
 * Before a graceful stop: every group this node leads hands its leadership to the most
 * up-to-date active voter, and the stop waits (a bounded time) until none is led here, so
 * clients meet a new leader at once instead of an election timeout later.
 */
export async function handOverLeaderships(multiRaft: MultiRaft, options: HandoverOptions): Promise<void> {
  const leading = [...multiRaft.groups.values()].filter((g) => g.isLeader)
  for (const group of leading) {
    const status = group.raft.status()
    let best: string | undefined
    let bestMatch = -1
    for (const [peer, progress] of Object.entries(status.progress)) {
      if (peer === group.replicaId || progress.isLearner || !progress.recentActive) continue
      if (progress.match > bestMatch) {
        best = peer
        bestMatch = progress.match
      }
    }
    if (best !== undefined) group.raft.transferLeadership(best)
  }
  multiRaft.schedule()
  const deadlineMs = options.clock.now() + options.tickIntervalMs * options.electionTicks * 2
  while (leading.some((g) => g.isLeader) && options.clock.now() < deadlineMs) {
    await new Promise<void>((resolve) => options.clock.setTimer(resolve, options.tickIntervalMs))
  }
}
