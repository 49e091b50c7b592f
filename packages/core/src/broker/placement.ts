import type { PartitionAssignment } from './commands'

/**
 * How many partitions each node leads (preferred leader = first replica) and holds, over all
 * topics: the load that placement balances.
 */
export interface PlacementLoad {
  leaders: Map<string, number>
  replicas: Map<string, number>
}

/** Count the current load of `nodeIds` from existing assignments. */
export function measureLoad(
  nodeIds: readonly string[],
  assignments: Iterable<PartitionAssignment>,
): PlacementLoad {
  const leaders = new Map(nodeIds.map((id) => [id, 0]))
  const replicas = new Map(nodeIds.map((id) => [id, 0]))
  for (const { replicas: set } of assignments) {
    const leader = set[0]
    if (leader !== undefined && leaders.has(leader)) leaders.set(leader, leaders.get(leader)! + 1)
    for (const id of set) if (replicas.has(id)) replicas.set(id, replicas.get(id)! + 1)
  }
  return { leaders, replicas }
}

/**
 * Place `partitions` new partitions of `replicationFactor` replicas over `nodeIds` (sorted), given
 * the load of existing topics, and update `load` as it goes.
 *
 * Each partition's preferred leader is the node leading the fewest partitions (then holding the
 * fewest replicas, then first in order); its followers are the nodes holding the fewest replicas,
 * ties broken by ring distance after the leader, so followers spread too. Pure: the same members
 * and load give the same placement on every replica.
 */
export function placePartitions(
  nodeIds: readonly string[],
  partitions: number,
  replicationFactor: number,
  load: PlacementLoad,
  /** Names each new replica (a fresh replica id per placement, `broker/replica-ids.ts`). */
  nameReplica: (nodeId: string) => string,
): PartitionAssignment[] {
  const assignments: PartitionAssignment[] = []
  for (let partition = 0; partition < partitions; partition++) {
    const leaderAt = argMin(nodeIds.length, (i) => [
      load.leaders.get(nodeIds[i]!)!,
      load.replicas.get(nodeIds[i]!)!,
      i,
    ])
    const leader = nodeIds[leaderAt]!
    const followers = chooseReplicas(nodeIds, [leader], replicationFactor - 1, load, leaderAt)
    const replicas = [leader, ...followers]
    load.leaders.set(leader, load.leaders.get(leader)! + 1)
    for (const id of replicas) load.replicas.set(id, load.replicas.get(id)! + 1)
    const replicaIds = replicas.map(nameReplica)
    assignments.push({
      partition,
      replicas,
      currentReplicas: [...replicas],
      replicaIds,
      currentReplicaIds: [...replicaIds],
      initialReplicas: [...replicaIds],
    })
  }
  return assignments
}

/**
 * Pick `count` nodes not in `exclude`, fewest replicas first, ties by ring distance after
 * position `from`. Does not update the load.
 */
export function chooseReplicas(
  nodeIds: readonly string[],
  exclude: readonly string[],
  count: number,
  load: PlacementLoad,
  from: number,
): string[] {
  const candidates = nodeIds
    .map((id, i) => ({
      id,
      replicas: load.replicas.get(id) ?? 0,
      distance: (i - from + nodeIds.length) % nodeIds.length,
    }))
    .filter((candidate) => !exclude.includes(candidate.id))
    .sort((a, b) => a.replicas - b.replicas || a.distance - b.distance)
  return candidates.slice(0, count).map((candidate) => candidate.id)
}

/** Index in [0, length) whose key tuple is smallest (lexicographic). */
function argMin(length: number, key: (i: number) => number[]): number {
  let best = 0
  let bestKey = key(0)
  for (let i = 1; i < length; i++) {
    const candidate = key(i)
    if (compareTuples(candidate, bestKey) < 0) {
      best = i
      bestKey = candidate
    }
  }
  return best
}

function compareTuples(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const diff = a[i]! - b[i]!
    if (diff !== 0) return diff
  }
  return 0
}
