import type { LaminarErrorCode } from '../errors/laminar-error'
import {
  CLUSTER_MEMBERS_MAX,
  type ErrorResult,
  type JoinCommand,
  NAME_PATTERN,
  type PartitionAssignment,
} from './commands'
import { type ControllerState, sortedPairs } from './controller-snapshot'
import { chooseReplicas, measureLoad } from './placement'
import { renewReplicaIds, replicaIdOf, retarget } from './replica-ids'

/**
 * The controller's membership commands (join, leave) and what follows from them, applied to the
 * controller state in place. Each returns an error (state unchanged) or undefined after applying;
 * `state.version` grows by one on every change and never otherwise.
 */

/** Every partition assignment, topics in name order (deterministic on every replica). */
export function* assignmentsOf(state: ControllerState): Generator<PartitionAssignment> {
  for (const name of [...state.topics.keys()].sort()) yield* state.topics.get(name)!.partitions
}

/** Members that take new replicas (not leaving), sorted by node id. */
export function activeMemberIds(state: ControllerState): string[] {
  return [...state.members.keys()].sort().filter((id) => !state.members.get(id)!.leaving)
}

/**
 * A node joins or announces itself again. A member joining with another storage id than the
 * recorded one lost its disk: none of its partition replicas may come back under its old ids
 * (they would vote and ack as if they remembered), so they are renewed above a replica floor;
 * with `freshStorage` (no controller state on that storage) its controller replica id is renewed
 * too, for the same reason. A founder admitted before it registered (recorded '') that comes back
 * fresh is renewed in the controller: it may have voted before it registered.
 */
export function applyJoin(state: ControllerState, command: JoinCommand): ErrorResult | undefined {
  const { nodeId, storageId } = command
  if (!NAME_PATTERN.test(nodeId))
    return errorResult('INVALID_ARGUMENT', 'nodeId must match [a-zA-Z0-9._-]{1,249}')
  if (storageId !== undefined && (typeof storageId !== 'string' || !NAME_PATTERN.test(storageId)))
    return errorResult('INVALID_ARGUMENT', 'storageId must match [a-zA-Z0-9._-]{1,249}')
  const existing = state.members.get(nodeId)
  if (existing === undefined && state.members.size >= CLUSTER_MEMBERS_MAX) {
    return errorResult('INVALID_ARGUMENT', `at most ${CLUSTER_MEMBERS_MAX} members`)
  }
  const addresses = Object.fromEntries(sortedPairs(command.addresses ?? {}))
  const recorded = existing?.storageId ?? ''
  const otherStorage = storageId !== undefined && storageId !== recorded
  // A repeated join (a restarting node announcing itself) changes nothing and keeps the version.
  if (
    existing !== undefined &&
    !existing.leaving &&
    !otherStorage &&
    JSON.stringify(sortedPairs(existing.addresses)) === JSON.stringify(sortedPairs(addresses))
  )
    return undefined
  let replicaFloor = existing?.replicaFloor ?? 0
  if (otherStorage && recorded !== '') {
    replicaFloor = state.nextReplicaEpoch
    state.nextReplicaEpoch = renewReplicaIds(assignmentsOf(state), nodeId, replicaFloor, replicaFloor)
  }
  let controllerReplicaId = existing?.controllerReplicaId ?? nodeId
  if (existing !== undefined && otherStorage && command.freshStorage === true)
    controllerReplicaId = replicaIdOf(nodeId, state.nextReplicaEpoch++)
  // A leaving node that joins again stays (its replicas already moved off; new ones may come).
  state.members.set(nodeId, {
    addresses,
    leaving: false,
    storageId: storageId ?? recorded,
    replicaFloor,
    controllerReplicaId,
  })
  state.removed.delete(nodeId)
  state.version++
  return undefined
}

/**
 * A node leaves: every partition it is a target replica of gets a replacement (the active member
 * holding the fewest replicas), so replication factors hold. The member is forgotten at once if
 * it hosts nothing, else marked leaving until the last move off it completes. Refused when some
 * partition could find no replacement (fewer active members than its replication factor).
 */
export function applyLeave(state: ControllerState, nodeId: string): ErrorResult | undefined {
  const member = state.members.get(nodeId)
  if (member === undefined) return errorResult('NODE_NOT_FOUND', `${nodeId} is not a member`)
  if (member.leaving) return undefined
  const remaining = activeMemberIds(state).filter((id) => id !== nodeId)
  const load = measureLoad(remaining, assignmentsOf(state))
  const moves: { assignment: PartitionAssignment; replicas: string[] }[] = []
  for (const assignment of assignmentsOf(state)) {
    if (!assignment.replicas.includes(nodeId)) continue
    const kept = assignment.replicas.filter((id) => id !== nodeId)
    // The replacement joins at the end: a replica that has the data becomes preferred leader.
    const replacement = chooseReplicas(remaining, kept, 1, load, 0)
    if (replacement.length === 0) {
      return errorResult(
        'INVALID_ARGUMENT',
        `no member can take ${nodeId}'s replica of a partition (each needs ${assignment.replicas.length} distinct replicas); add a member first`,
      )
    }
    for (const id of replacement) load.replicas.set(id, load.replicas.get(id)! + 1)
    moves.push({ assignment, replicas: [...kept, ...replacement] })
  }
  for (const { assignment, replicas } of moves)
    state.nextReplicaEpoch = retarget(assignment, replicas, state.nextReplicaEpoch)
  member.leaving = true
  forgetDrainedMembers(state)
  state.version++
  return undefined
}

/** Leaving members that host no replica any more are forgotten (and remembered as removed). */
export function forgetDrainedMembers(state: ControllerState): void {
  for (const [nodeId, member] of [...state.members]) {
    if (!member.leaving || hostsAnything(state, nodeId)) continue
    state.members.delete(nodeId)
    if (state.removed.size < CLUSTER_MEMBERS_MAX) state.removed.add(nodeId)
  }
}

function hostsAnything(state: ControllerState, nodeId: string): boolean {
  for (const assignment of assignmentsOf(state)) {
    if (assignment.replicas.includes(nodeId) || assignment.currentReplicas.includes(nodeId)) return true
  }
  return false
}

export function errorResult(code: LaminarErrorCode, message: string): ErrorResult {
  return { type: 'error', code, message }
}
