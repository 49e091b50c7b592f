import { decodeSnapshot, encodeSnapshot } from '../codec/snapshot-codec'
import { arrayOf, int, str } from '../codec/value-checks'
import type { PartitionAssignment, TopicMetadata } from './commands'

/** A controller member as stored: its addresses and whether its removal was asked for. */
export interface StoredMember {
  addresses: Record<string, string>
  leaving: boolean
}

/** Everything the controller state machine holds. */
export interface ControllerState {
  appliedIndex: number
  version: number
  nextTopicId: number
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
 * Partitions are `[replicas, currentReplicas, initialReplicas]`; members `[id, addresses, leaving]`.
 */
export function encodeControllerSnapshot(state: ControllerState): Uint8Array {
  const members = [...state.members.keys()]
    .sort()
    .map((id) => [id, sortedPairs(state.members.get(id)!.addresses), state.members.get(id)!.leaving])
  const topics = [...state.topics.keys()].sort().map((name) => {
    const t = state.topics.get(name)!
    return [
      t.name,
      t.topicId,
      t.replicationFactor,
      [t.config.retentionBytes, t.config.retentionMs, t.config.maxMessageBytes, t.config.segmentBytes],
      t.partitions.map((p) => [p.replicas, p.currentReplicas, p.initialReplicas]),
    ]
  })
  return encodeSnapshot('controller', [
    state.appliedIndex,
    state.version,
    state.nextTopicId,
    members,
    topics,
    [...state.removed].sort(),
  ])
}

/**
 * Decodes a controller snapshot; throws STORAGE_CORRUPT on bad bytes. Snapshots written before
 * runtime membership (partitions as bare replica lists, no leaving flag, no removed list) read
 * as a cluster with no move in progress.
 */
export function decodeControllerSnapshot(bytes: Uint8Array): ControllerState {
  return decodeSnapshot('controller', bytes, (body) => {
    const [applied, version, nextTopicId, members, topics, removed] = body
    const memberMap = new Map<string, StoredMember>()
    for (const entry of arrayOf(members, 'members')) {
      const [id, pairs, leaving] = arrayOf(entry, 'member')
      const addresses: Record<string, string> = {}
      for (const pair of arrayOf(pairs, 'addresses')) {
        const [name, address] = arrayOf(pair, 'address')
        addresses[str(name, 'address name')] = str(address, 'address')
      }
      memberMap.set(str(id, 'nodeId'), { addresses, leaving: leaving === true })
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
  if (list.length > 0 && typeof list[0] === 'string') {
    const replicas = names(list)
    return { partition, replicas, currentReplicas: [...replicas], initialReplicas: [...replicas] }
  }
  const [replicas, current, initial] = list
  return {
    partition,
    replicas: names(replicas),
    currentReplicas: names(current),
    initialReplicas: names(initial),
  }
}
