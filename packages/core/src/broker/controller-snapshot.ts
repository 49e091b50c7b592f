import { decodeSnapshot, encodeSnapshot } from '../codec/snapshot-codec'
import { arrayOf, int, str } from '../codec/value-checks'
import { LaminarError } from '../errors/laminar-error'
import type { PartitionAssignment, TopicMetadata } from './commands'

/** A controller member as stored: its addresses and whether its removal was asked for. */
export interface StoredMember {
  addresses: Record<string, string>
  leaving: boolean
  /** See ClusterMember. */
  storageId: string
  replicaFloor: number
  controllerReplicaId: string
}

/** Everything the controller state machine holds. */
export interface ControllerState {
  appliedIndex: number
  version: number
  nextTopicId: number
  /** The epoch the next replica id gets (`broker/replica-ids.ts`). */
  nextReplicaEpoch: number
  members: Map<string, StoredMember>
  topics: Map<string, TopicMetadata>
  /** Nodes removed from the cluster: never joined back implicitly (only by their own join). */
  removed: Set<string>
}

export function sortedPairs(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/**
 * Encodes the controller state (members and topics sorted, so equal states give equal bytes).
 * Partitions are `[replicas, currentReplicas, initialReplicas, replicaIds, currentReplicaIds]`
 * (initial ones as replica ids); members `[id, addresses, leaving, storageId, replicaFloor, controllerReplicaId]` (a snapshot
 * without the last names the node id); the body ends with the next replica epoch.
 */
export function encodeControllerSnapshot(state: ControllerState): Uint8Array {
  const members = [...state.members.keys()].sort().map((id) => {
    const member = state.members.get(id)!
    return [
      id,
      sortedPairs(member.addresses),
      member.leaving,
      member.storageId,
      member.replicaFloor,
      member.controllerReplicaId,
    ]
  })
  const topics = [...state.topics.keys()].sort().map((name) => {
    const t = state.topics.get(name)!
    return [
      t.name,
      t.topicId,
      t.replicationFactor,
      [t.config.retentionBytes, t.config.retentionMs, t.config.maxMessageBytes, t.config.segmentBytes],
      t.partitions.map((p) => [
        p.replicas,
        p.currentReplicas,
        p.initialReplicas,
        p.replicaIds,
        p.currentReplicaIds,
      ]),
    ]
  })
  return encodeSnapshot('controller', [
    state.appliedIndex,
    state.version,
    state.nextTopicId,
    members,
    topics,
    [...state.removed].sort(),
    state.nextReplicaEpoch,
  ])
}

/**
 * Decodes a controller snapshot; throws STORAGE_CORRUPT on bad bytes, and on a snapshot written
 * before replica ids (its partitions name Raft replicas by node id: reading it would reuse an
 * incarnation's name, the hazard replica ids exist to exclude).
 */
export function decodeControllerSnapshot(bytes: Uint8Array): ControllerState {
  return decodeSnapshot('controller', bytes, (body) => {
    const [applied, version, nextTopicId, members, topics, removed, nextReplicaEpoch] = body
    if (nextReplicaEpoch === undefined) throw beforeReplicaIds()
    const memberMap = new Map<string, StoredMember>()
    for (const entry of arrayOf(members, 'members')) {
      const [id, pairs, leaving, storageId, replicaFloor, controllerReplicaId] = arrayOf(entry, 'member')
      const addresses: Record<string, string> = {}
      for (const pair of arrayOf(pairs, 'addresses')) {
        const [name, address] = arrayOf(pair, 'address')
        addresses[str(name, 'address name')] = str(address, 'address')
      }
      const nodeId = str(id, 'nodeId')
      memberMap.set(nodeId, {
        addresses,
        leaving: leaving === true,
        storageId: str(storageId, 'storageId'),
        replicaFloor: int(replicaFloor, 'replicaFloor'),
        controllerReplicaId:
          controllerReplicaId === undefined ? nodeId : str(controllerReplicaId, 'controllerReplicaId'),
      })
    }
    const topicMap = new Map<string, TopicMetadata>()
    for (const entry of arrayOf(topics, 'topics')) {
      const [name, topicId, rf, config, partitions] = arrayOf(entry, 'topic')
      const [retentionBytes, retentionMs, maxMessageBytes, segmentBytes] = arrayOf(config, 'config').map(
        (v) => int(v, 'config value'),
      )
      const topic: TopicMetadata = {
        name: str(name, 'topic name'),
        topicId: int(topicId, 'topicId'),
        replicationFactor: int(rf, 'replicationFactor'),
        config: {
          retentionBytes: retentionBytes!,
          retentionMs: retentionMs!,
          maxMessageBytes: maxMessageBytes!,
          segmentBytes: segmentBytes!,
        },
        partitions: arrayOf(partitions, 'partitions').map(decodeAssignment),
      }
      topicMap.set(topic.name, topic)
    }
    return {
      appliedIndex: int(applied, 'appliedIndex'),
      version: int(version, 'version'),
      nextTopicId: int(nextTopicId, 'nextTopicId'),
      nextReplicaEpoch: int(nextReplicaEpoch, 'nextReplicaEpoch'),
      members: memberMap,
      topics: topicMap,
      removed: new Set(
        removed === undefined ? [] : arrayOf(removed, 'removed').map((id) => str(id, 'removed')),
      ),
    }
  })
}

function decodeAssignment(entry: unknown, partition: number): PartitionAssignment {
  const list = arrayOf(entry, 'partition')
  const names = (value: unknown): string[] => arrayOf(value, 'replicas').map((r) => str(r, 'replica'))
  if (list.length < 5 || typeof list[0] === 'string') throw beforeReplicaIds()
  const [replicas, current, initial, replicaIds, currentReplicaIds] = list
  const assignment: PartitionAssignment = {
    partition,
    replicas: names(replicas),
    currentReplicas: names(current),
    replicaIds: names(replicaIds),
    currentReplicaIds: names(currentReplicaIds),
    initialReplicas: names(initial),
  }
  if (
    assignment.replicaIds.length !== assignment.replicas.length ||
    assignment.currentReplicaIds.length !== assignment.currentReplicas.length
  )
    throw new TypeError('replica ids must align with replicas')
  return assignment
}

function beforeReplicaIds(): LaminarError {
  return new LaminarError(
    'STORAGE_CORRUPT',
    'controller snapshot of the format before replica ids (partitions named by node id); this version cannot read it: start the cluster on fresh storage',
    { details: { format: 'controller snapshot without replica ids' } },
  )
}
