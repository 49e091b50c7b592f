/** Building the ConfState a brand-new cluster starts from. */
import { RaftError } from './errors'
import type { ConfState, NodeId } from './types'

/**
 * The initial configuration of a new cluster: every node's LogStorage returns it from
 * initialState() with term 0 and index 0; no bootstrap entries are needed.
 */
export function bootstrapConfState(voters: NodeId[], learners: NodeId[] = []): ConfState {
  if (voters.length === 0) throw new RaftError('invalidConfig', 'a cluster needs at least one voter')
  const voterSet = new Set(voters)
  for (const id of learners) {
    if (voterSet.has(id)) throw new RaftError('invalidConfig', `${id} cannot be both voter and learner`)
  }
  return {
    voters: [...voterSet].sort(),
    votersOutgoing: [],
    learners: [...new Set(learners)].sort(),
    learnersNext: [],
    autoLeave: false,
  }
}
