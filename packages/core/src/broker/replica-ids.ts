import type { PartitionAssignment } from './commands'

/**
 * Replica identity. A partition's Raft replicas are named by replica id, never by node id: one
 * id per placement of a node on a partition (`<nodeId>@<epoch>`, the epoch from a cluster-wide
 * counter the controller bumps on every placement). A replica moved off a node and back, or
 * renewed after its node lost its disk, is a new Raft member with a new id, so messages to, and
 * votes of, the old incarnation can never reach or speak for the new one. Node ids match
 * `[a-zA-Z0-9._-]`, so the `@` is unambiguous.
 */
const SEPARATOR = '@'

/** The replica id of `nodeId`'s placement number `epoch`. */
export function replicaIdOf(nodeId: string, epoch: number): string {
  return `${nodeId}${SEPARATOR}${epoch}`
}

/** The node hosting a replica; an id without an epoch (a controller member) is the node id. */
export function nodeOfReplica(replicaId: string): string {
  const at = replicaId.lastIndexOf(SEPARATOR)
  return at < 0 ? replicaId : replicaId.slice(0, at)
}

/** The placement epoch of a replica id; 0 for an id without one. */
export function epochOfReplica(replicaId: string): number {
  const at = replicaId.lastIndexOf(SEPARATOR)
  if (at < 0) return 0
  const epoch = Number(replicaId.slice(at + 1))
  return Number.isSafeInteger(epoch) && epoch > 0 ? epoch : 0
}

/** True for a well-formed partition replica id (`<nodeId>@<epoch>`, epoch >= 1). */
export function isReplicaId(value: unknown): value is string {
  return typeof value === 'string' && epochOfReplica(value) > 0 && nodeOfReplica(value).length > 0
}

/**
 * Sets a partition's target to `replicas` (node ids), keeping the replica id of every node that
 * already hosts the partition (in the target or the current replicas) and giving each other node
 * a fresh one. Returns the next unused epoch.
 * Invariant: `replicaIds[i]` is the id of `replicas[i]`; a node has one id per partition, except
 * while a renewal (see {@link renewReplicaIds}) replaces its lost one.
 */
export function retarget(
  assignment: PartitionAssignment,
  replicas: readonly string[],
  nextEpoch: number,
): number {
  const known = new Map<string, string>()
  for (const [i, nodeId] of assignment.currentReplicas.entries())
    known.set(nodeId, assignment.currentReplicaIds[i]!)
  for (const [i, nodeId] of assignment.replicas.entries()) known.set(nodeId, assignment.replicaIds[i]!)
  let epoch = nextEpoch
  assignment.replicas = [...replicas]
  assignment.replicaIds = replicas.map((nodeId) => known.get(nodeId) ?? replicaIdOf(nodeId, epoch++))
  return epoch
}

/**
 * The replica id `nodeId` hosts for a partition (target first, then current), if any: only ids
 * of epoch `replicaFloor` or later (older ones were placed on a storage the node lost).
 */
export function hostedReplicaId(
  assignment: PartitionAssignment,
  nodeId: string,
  replicaFloor = 0,
): string | undefined {
  const target = assignment.replicas.indexOf(nodeId)
  const current = assignment.currentReplicas.indexOf(nodeId)
  for (const id of [assignment.replicaIds[target], assignment.currentReplicaIds[current]]) {
    if (id !== undefined && epochOfReplica(id) >= replicaFloor) return id
  }
  return undefined
}

/**
 * A node lost its storage: each of its target replica ids below `replicaFloor` gets a fresh one.
 * The old id stays among the current replicas (a voter whose state is gone) until the group's
 * leader has moved the membership onto the new one, as for any other move. Returns the next
 * unused epoch.
 */
export function renewReplicaIds(
  assignments: Iterable<PartitionAssignment>,
  nodeId: string,
  replicaFloor: number,
  nextEpoch: number,
): number {
  let epoch = nextEpoch
  for (const assignment of assignments) {
    const at = assignment.replicas.indexOf(nodeId)
    if (at >= 0 && epochOfReplica(assignment.replicaIds[at]!) < replicaFloor)
      assignment.replicaIds[at] = replicaIdOf(nodeId, epoch++)
  }
  return epoch
}
