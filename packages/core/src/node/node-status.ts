import { nodeOfReplica } from '../broker/replica-ids'
import type { NodeId } from '../raft/types'
import type { MultiRaft } from './multi-raft'
import type { PeerLinks } from './peer-links'

export type NodeState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/** A group as `status()` reports it. */
export interface GroupStatus {
  groupId: string
  /** This node's Raft id in the group: a partition replica's id for its placement, else the node id. */
  replicaId: string
  role: string
  /** The leader's node ('' when unknown). */
  leader: string
  term: number
  commit: number
  applied: number
}

export interface NodeStatus {
  id: NodeId
  state: NodeState
  controllerLeader: string | null
  groups: GroupStatus[]
  raftRounds: number
  peerFramesSent: number
  peerMessagesSent: number
  peerFramesDropped: number
  /** Raft messages dropped on arrival: addressed to a replica incarnation not hosted here. */
  staleReplicaMessagesDropped: number
}

/** A node's status from its parts (any of them absent before start). */
export function buildNodeStatus(
  node: { id: NodeId; state: NodeState; controllerLeader: string | null },
  multiRaft: MultiRaft | undefined,
  peerLinks: PeerLinks | undefined,
): NodeStatus {
  const groups: GroupStatus[] = []
  for (const group of multiRaft?.groups.values() ?? []) {
    const s = group.raft.status()
    groups.push({
      groupId: group.groupId,
      replicaId: group.replicaId,
      role: s.role,
      leader: nodeOfReplica(s.leader),
      term: s.term,
      commit: s.commit,
      applied: group.appliedIndex,
    })
  }
  return {
    ...node,
    groups,
    raftRounds: multiRaft?.rounds ?? 0,
    peerFramesSent: peerLinks?.framesSent ?? 0,
    peerMessagesSent: peerLinks?.messagesSent ?? 0,
    peerFramesDropped: peerLinks?.framesDropped ?? 0,
    staleReplicaMessagesDropped: multiRaft?.messagesDroppedStale ?? 0,
  }
}
