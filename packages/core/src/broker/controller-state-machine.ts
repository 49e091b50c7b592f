import { decodeControllerCommand } from '../codec/command-codec'
import { decodeSnapshot, encodeSnapshot } from '../codec/snapshot-codec'
import { arrayOf, int, str } from '../codec/value-checks'
import { isLaminarError, LaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import {
  CLUSTER_MEMBERS_MAX,
  type ClusterMember,
  type ControllerCommand,
  type ControllerResult,
  type CreateTopicCommand,
  DEFAULT_TOPIC_CONFIG,
  type ErrorResult,
  NAME_PATTERN,
  type PartitionAssignment,
  type ReassignPartitionCommand,
  TOPIC_PARTITIONS_MAX,
  TOPICS_MAX,
  type TopicConfig,
  type TopicMetadata,
} from './commands'
import { definedFields } from './defined-fields'
import { chooseReplicas, measureLoad, placePartitions } from './placement'
import { validateTopicConfig } from './topic-config'

/** One partition replica a node must host, as derived from the controller's state. */
export interface HostedPartition {
  topic: string
  topicId: number
  partition: number
  replicas: string[]
}

/**
 * The cluster's metadata, replicated by the controller Raft group: members, topics, their
 * config and partition placement. Nodes start and stop partition groups from it, reacting
 * whenever `version` changes.
 *
 * Deterministic: placement depends only on the state and the command, so every replica computes
 * the same assignment. Invariants: every replica of every partition is a member; replicas of a
 * partition are distinct; `version` increases by one on every change and never otherwise.
 */
export class ControllerStateMachine {
  #appliedIndex = 0
  #version = 0
  #nextTopicId = 1
  #members = new Map<string, Record<string, string>>()
  #topics = new Map<string, TopicMetadata>()

  /** Increases on every change to members or topics. */
  get version(): number {
    return this.#version
  }

  get appliedIndex(): number {
    return this.#appliedIndex
  }

  /**
   * Apply one committed command at Raft `index` (> appliedIndex, else throws INTERNAL). Invalid
   * commands yield an ErrorResult, identically on every replica.
   */
  apply(index: number, command: ControllerCommand): ControllerResult {
    this.#advanceApplied(index)
    const error = this.#applyCommand(command)
    return error ?? { type: 'ok', version: this.#version }
  }

  /** Apply raw entry data; empty data (a no-op) returns undefined; garbage yields STORAGE_CORRUPT. */
  applyEntry(index: number, data: Uint8Array): ControllerResult | undefined {
    if (data.length === 0) {
      this.#advanceApplied(index)
      return undefined
    }
    let command: ControllerCommand
    try {
      command = decodeControllerCommand(data)
    } catch (error) {
      this.#advanceApplied(index)
      return errorResult(isLaminarError(error) ? error.code : 'STORAGE_CORRUPT', String(error))
    }
    return this.apply(index, command)
  }

  /** Mark an entry that carries no command (a conf change) as applied. */
  skip(index: number): void {
    this.#advanceApplied(index)
  }

  /** Members sorted by node id. */
  members(): ClusterMember[] {
    return this.#memberIds().map((nodeId) => ({ nodeId, addresses: { ...this.#members.get(nodeId)! } }))
  }

  hasMember(nodeId: string): boolean {
    return this.#members.has(nodeId)
  }

  /** Topics sorted by name (copies: callers may not change state through them). */
  topics(): TopicMetadata[] {
    return [...this.#topics.keys()].sort().map((name) => this.topic(name)!)
  }

  topic(name: string): TopicMetadata | undefined {
    const topic = this.#topics.get(name)
    if (topic === undefined) return undefined
    return {
      ...topic,
      config: { ...topic.config },
      partitions: topic.partitions.map((p) => ({ partition: p.partition, replicas: [...p.replicas] })),
    }
  }

  /** Every partition replica `nodeId` should host, sorted by topic then partition. */
  partitionsOf(nodeId: string): HostedPartition[] {
    const hosted: HostedPartition[] = []
    for (const topic of this.topics()) {
      for (const { partition, replicas } of topic.partitions) {
        if (replicas.includes(nodeId))
          hosted.push({ topic: topic.name, topicId: topic.topicId, partition, replicas })
      }
    }
    return hosted
  }

  snapshot(): Uint8Array {
    const members = this.#memberIds().map((id) => [id, sortedPairs(this.#members.get(id)!)])
    const topics = this.topics().map((t) => [
      t.name,
      t.topicId,
      t.replicationFactor,
      [t.config.retentionBytes, t.config.retentionMs, t.config.maxMessageBytes, t.config.segmentBytes],
      t.partitions.map((p) => p.replicas),
    ])
    return encodeSnapshot('controller', [
      this.#appliedIndex,
      this.#version,
      this.#nextTopicId,
      members,
      topics,
    ])
  }

  /** Replace all state with a snapshot's. Throws STORAGE_CORRUPT (and changes nothing) on bad bytes. */
  restore(bytes: Uint8Array): void {
    const state = decodeSnapshot('controller', bytes, (body) => {
      const [applied, version, nextTopicId, members, topics] = body
      const memberMap = new Map<string, Record<string, string>>()
      for (const entry of arrayOf(members, 'members')) {
        const [id, pairs] = arrayOf(entry, 'member')
        const addresses: Record<string, string> = {}
        for (const pair of arrayOf(pairs, 'addresses')) {
          const [name, address] = arrayOf(pair, 'address')
          addresses[str(name, 'address name')] = str(address, 'address')
        }
        memberMap.set(str(id, 'nodeId'), addresses)
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
          partitions: arrayOf(partitions, 'partitions').map((replicas, partition) => ({
            partition,
            replicas: arrayOf(replicas, 'replicas').map((r) => str(r, 'replica')),
          })),
        }
        topicMap.set(topic.name, topic)
      }
      return {
        appliedIndex: int(applied, 'appliedIndex'),
        version: int(version, 'version'),
        nextTopicId: int(nextTopicId, 'nextTopicId'),
        members: memberMap,
        topics: topicMap,
      }
    })
    this.#appliedIndex = state.appliedIndex
    this.#version = state.version
    this.#nextTopicId = state.nextTopicId
    this.#members = state.members
    this.#topics = state.topics
  }

  #advanceApplied(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.#appliedIndex) {
      throw new LaminarError('INTERNAL', `apply at index ${index} but already applied ${this.#appliedIndex}`)
    }
    this.#appliedIndex = index
  }

  /** Returns an error, or undefined after applying (bumping version when something changed). */
  #applyCommand(command: ControllerCommand): ErrorResult | undefined {
    switch (command.type) {
      case 'join':
        return this.#join(command.nodeId, command.addresses ?? {})
      case 'leave':
        return this.#leave(command.nodeId)
      case 'createTopic':
        return this.#createTopic(command)
      case 'deleteTopic':
        if (!this.#topics.delete(command.name)) return topicNotFound(command.name)
        this.#version++
        return undefined
      case 'reassignPartition':
        return this.#reassign(command)
      default:
        return errorResult(
          'INVALID_ARGUMENT',
          `unknown command type ${String((command as { type: unknown }).type)}`,
        )
    }
  }

  #join(nodeId: string, addresses: Record<string, string>): ErrorResult | undefined {
    if (!NAME_PATTERN.test(nodeId))
      return errorResult('INVALID_ARGUMENT', 'nodeId must match [a-zA-Z0-9._-]{1,249}')
    const existing = this.#members.get(nodeId)
    if (existing === undefined && this.#members.size >= CLUSTER_MEMBERS_MAX) {
      return errorResult('INVALID_ARGUMENT', `at most ${CLUSTER_MEMBERS_MAX} members`)
    }
    const copy = Object.fromEntries(sortedPairs(addresses))
    // A repeated join (a restarting node announcing itself) changes nothing and keeps the version.
    if (existing !== undefined && JSON.stringify(sortedPairs(existing)) === JSON.stringify(sortedPairs(copy)))
      return
    this.#members.set(nodeId, copy)
    this.#version++
    return undefined
  }

  #leave(nodeId: string): ErrorResult | undefined {
    if (!this.#members.has(nodeId)) return undefined
    const remaining = this.#memberIds().filter((id) => id !== nodeId)
    const load = measureLoad(remaining, this.#assignments())
    const moves: { assignment: PartitionAssignment; replicas: string[] }[] = []
    for (const assignment of this.#assignments()) {
      if (!assignment.replicas.includes(nodeId)) continue
      const kept = assignment.replicas.filter((id) => id !== nodeId)
      // The replacement joins at the end: a replica that has the data becomes preferred leader.
      const replacement = chooseReplicas(remaining, kept, 1, load, 0)
      for (const id of replacement) load.replicas.set(id, load.replicas.get(id)! + 1)
      const replicas = [...kept, ...replacement]
      if (replicas.length === 0) {
        return errorResult(
          'INVALID_ARGUMENT',
          `${nodeId} holds the only replica of a partition; add a member first`,
        )
      }
      moves.push({ assignment, replicas })
    }
    for (const { assignment, replicas } of moves) assignment.replicas = replicas
    this.#members.delete(nodeId)
    this.#version++
    return undefined
  }

  #createTopic(command: CreateTopicCommand): ErrorResult | undefined {
    const { name, partitions, replicationFactor } = command
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name === '.' || name === '..') {
      return errorResult('INVALID_ARGUMENT', 'topic name must match [a-zA-Z0-9._-]{1,249}')
    }
    if (this.#topics.has(name)) return errorResult('TOPIC_EXISTS', `topic ${name} exists`)
    if (this.#topics.size >= TOPICS_MAX)
      return errorResult('INVALID_ARGUMENT', `at most ${TOPICS_MAX} topics`)
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
      return errorResult('INVALID_ARGUMENT', `partitions must be an integer in [1, ${TOPIC_PARTITIONS_MAX}]`)
    }
    if (
      !Number.isSafeInteger(replicationFactor) ||
      replicationFactor < 1 ||
      replicationFactor > this.#members.size
    ) {
      return errorResult(
        'INVALID_ARGUMENT',
        `replicationFactor must be an integer in [1, ${this.#members.size}] (the live members)`,
      )
    }
    const config = validateTopicConfig({
      ...DEFAULT_TOPIC_CONFIG,
      ...definedFields(command.config),
    } as TopicConfig)
    if (typeof config === 'string') return errorResult('INVALID_ARGUMENT', config)
    const nodeIds = this.#memberIds()
    const placed = placePartitions(
      nodeIds,
      partitions,
      replicationFactor,
      measureLoad(nodeIds, this.#assignments()),
    )
    this.#topics.set(name, {
      name,
      topicId: this.#nextTopicId++,
      replicationFactor,
      config,
      partitions: placed,
    })
    this.#version++
    return undefined
  }

  #reassign(command: ReassignPartitionCommand): ErrorResult | undefined {
    const topic = this.#topics.get(command.topic)
    if (topic === undefined) return topicNotFound(command.topic)
    const assignment = topic.partitions[command.partition]
    if (assignment === undefined) {
      return errorResult('PARTITION_NOT_FOUND', `${command.topic} has no partition ${command.partition}`)
    }
    const replicas = command.replicas
    if (!Array.isArray(replicas) || replicas.length === 0 || new Set(replicas).size !== replicas.length) {
      return errorResult('INVALID_ARGUMENT', 'replicas must be a non-empty list of distinct node ids')
    }
    const stranger = replicas.find((id) => !this.#members.has(id))
    if (stranger !== undefined) return errorResult('INVALID_ARGUMENT', `${stranger} is not a member`)
    assignment.replicas = [...replicas]
    this.#version++
    return undefined
  }

  #memberIds(): string[] {
    return [...this.#members.keys()].sort()
  }

  *#assignments(): Generator<PartitionAssignment> {
    for (const name of [...this.#topics.keys()].sort()) yield* this.#topics.get(name)!.partitions
  }
}

function sortedPairs(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

function topicNotFound(name: string): ErrorResult {
  return errorResult('TOPIC_NOT_FOUND', `no topic ${name}`)
}

function errorResult(code: LaminarErrorCode, message: string): ErrorResult {
  return { type: 'error', code, message }
}
