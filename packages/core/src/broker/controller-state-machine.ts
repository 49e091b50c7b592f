import { decodeControllerCommand } from '../codec/command-codec'
import { isLaminarError, LaminarError } from '../errors/laminar-error'
import {
  type ClusterMember,
  type ControllerCommand,
  type ControllerResult,
  type CreateTopicCommand,
  DEFAULT_TOPIC_CONFIG,
  type ErrorResult,
  NAME_PATTERN,
  type ReassignmentDoneCommand,
  type ReassignPartitionCommand,
  TOPIC_PARTITIONS_MAX,
  TOPICS_MAX,
  type TopicConfig,
  type TopicMetadata,
} from './commands'
import {
  activeMemberIds,
  applyJoin,
  applyLeave,
  assignmentsOf,
  errorResult,
  forgetDrainedMembers,
} from './controller-membership'
import {
  type ControllerState,
  decodeControllerSnapshot,
  encodeControllerSnapshot,
} from './controller-snapshot'
import { definedFields } from './defined-fields'
import { measureLoad, placePartitions } from './placement'
import { hostedReplicaId, isReplicaId, replicaIdOf, retarget } from './replica-ids'
import { validateTopicConfig } from './topic-config'

/** One partition replica a node must host, as derived from the controller's state. */
export interface HostedPartition {
  topic: string
  topicId: number
  partition: number
  replicas: string[]
  /** The Raft replica id this node hosts the partition as (one per placement). */
  replicaId: string
  /** The group's Raft configuration at creation, as replica ids (every replica starts from it). */
  initialReplicas: string[]
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
  /** Everything replicated; `nextReplicaEpoch` (`broker/replica-ids.ts`) only grows. */
  #state: ControllerState = {
    appliedIndex: 0,
    version: 0,
    nextTopicId: 1,
    nextReplicaEpoch: 1,
    members: new Map(),
    topics: new Map(),
    removed: new Set(),
  }

  /** Increases on every change to members or topics. */
  get version(): number {
    return this.#state.version
  }

  get appliedIndex(): number {
    return this.#state.appliedIndex
  }

  /**
   * Apply one committed command at Raft `index` (> appliedIndex, else throws INTERNAL). Invalid
   * commands yield an ErrorResult, identically on every replica.
   */
  apply(index: number, command: ControllerCommand): ControllerResult {
    this.#advanceApplied(index)
    const error = this.#applyCommand(command)
    return error ?? { type: 'ok', version: this.#state.version }
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

  /** Members sorted by node id, leaving ones included. */
  members(): ClusterMember[] {
    return [...this.#state.members.keys()].sort().map((nodeId) => {
      const member = this.#state.members.get(nodeId)!
      return {
        nodeId,
        addresses: { ...member.addresses },
        leaving: member.leaving,
        storageId: member.storageId,
        replicaFloor: member.replicaFloor,
        controllerReplicaId: member.controllerReplicaId,
      }
    })
  }

  member(nodeId: string): ClusterMember | undefined {
    return this.members().find((m) => m.nodeId === nodeId)
  }

  hasMember(nodeId: string): boolean {
    return this.#state.members.has(nodeId)
  }

  /** True for a node removed from the cluster (it comes back only by joining itself). */
  wasRemoved(nodeId: string): boolean {
    return this.#state.removed.has(nodeId)
  }

  /** Topics sorted by name (copies: callers may not change state through them). */
  topics(): TopicMetadata[] {
    return [...this.#state.topics.keys()].sort().map((name) => this.topic(name)!)
  }

  topic(name: string): TopicMetadata | undefined {
    const topic = this.#state.topics.get(name)
    if (topic === undefined) return undefined
    return {
      ...topic,
      config: { ...topic.config },
      partitions: topic.partitions.map((p) => ({
        partition: p.partition,
        replicas: [...p.replicas],
        currentReplicas: [...p.currentReplicas],
        replicaIds: [...p.replicaIds],
        currentReplicaIds: [...p.currentReplicaIds],
        initialReplicas: [...p.initialReplicas],
      })),
    }
  }

  /**
   * Every partition replica `nodeId` should host (in its target or its current replicas: a
   * replica being moved off keeps its group until the move commits), sorted by topic then partition.
   */
  partitionsOf(nodeId: string): HostedPartition[] {
    const hosted: HostedPartition[] = []
    for (const topic of this.topics()) {
      for (const assignment of topic.partitions) {
        const replicaId = hostedReplicaId(assignment, nodeId, this.#state.members.get(nodeId)?.replicaFloor)
        if (replicaId === undefined) continue
        hosted.push({
          topic: topic.name,
          topicId: topic.topicId,
          partition: assignment.partition,
          replicas: assignment.replicas,
          replicaId,
          initialReplicas: assignment.initialReplicas,
        })
      }
    }
    return hosted
  }

  snapshot(): Uint8Array {
    return encodeControllerSnapshot(this.#state)
  }

  /** Replace all state with a snapshot's. Throws STORAGE_CORRUPT (and changes nothing) on bad bytes. */
  restore(bytes: Uint8Array): void {
    this.#state = decodeControllerSnapshot(bytes)
  }

  #advanceApplied(index: number): void {
    const applied = this.#state.appliedIndex
    if (!Number.isSafeInteger(index) || index <= applied) {
      throw new LaminarError('INTERNAL', `apply at index ${index} but already applied ${applied}`)
    }
    this.#state.appliedIndex = index
  }

  /** Returns an error, or undefined after applying (bumping version when something changed). */
  #applyCommand(command: ControllerCommand): ErrorResult | undefined {
    switch (command.type) {
      case 'join':
        return applyJoin(this.#state, command)
      case 'leave':
        return applyLeave(this.#state, command.nodeId)
      case 'createTopic':
        return this.#createTopic(command)
      case 'deleteTopic':
        if (!this.#state.topics.delete(command.name)) return topicNotFound(command.name)
        forgetDrainedMembers(this.#state)
        this.#state.version++
        return undefined
      case 'reassignPartition':
        return this.#reassign(command)
      case 'reassignmentDone':
        return this.#reassignmentDone(command)
      default:
        return errorResult(
          'INVALID_ARGUMENT',
          `unknown command type ${String((command as { type: unknown }).type)}`,
        )
    }
  }

  #createTopic(command: CreateTopicCommand): ErrorResult | undefined {
    const { name, partitions, replicationFactor } = command
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name === '.' || name === '..') {
      return errorResult('INVALID_ARGUMENT', 'topic name must match [a-zA-Z0-9._-]{1,249}')
    }
    if (this.#state.topics.has(name)) return errorResult('TOPIC_EXISTS', `topic ${name} exists`)
    if (this.#state.topics.size >= TOPICS_MAX)
      return errorResult('INVALID_ARGUMENT', `at most ${TOPICS_MAX} topics`)
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
      return errorResult('INVALID_ARGUMENT', `partitions must be an integer in [1, ${TOPIC_PARTITIONS_MAX}]`)
    }
    if (
      !Number.isSafeInteger(replicationFactor) ||
      replicationFactor < 1 ||
      replicationFactor > activeMemberIds(this.#state).length
    ) {
      return errorResult(
        'INVALID_ARGUMENT',
        `replicationFactor must be an integer in [1, ${activeMemberIds(this.#state).length}] (the live members)`,
      )
    }
    const config = validateTopicConfig({
      ...DEFAULT_TOPIC_CONFIG,
      ...definedFields(command.config),
    } as TopicConfig)
    if (typeof config === 'string') return errorResult('INVALID_ARGUMENT', config)
    const nodeIds = activeMemberIds(this.#state)
    const placed = placePartitions(
      nodeIds,
      partitions,
      replicationFactor,
      measureLoad(nodeIds, assignmentsOf(this.#state)),
      (nodeId) => replicaIdOf(nodeId, this.#state.nextReplicaEpoch++),
    )
    this.#state.topics.set(name, {
      name,
      topicId: this.#state.nextTopicId++,
      replicationFactor,
      config,
      partitions: placed,
    })
    this.#state.version++
    return undefined
  }

  #reassign(command: ReassignPartitionCommand): ErrorResult | undefined {
    const topic = this.#state.topics.get(command.topic)
    if (topic === undefined) return topicNotFound(command.topic)
    const assignment = topic.partitions[command.partition]
    if (assignment === undefined) {
      return errorResult('PARTITION_NOT_FOUND', `${command.topic} has no partition ${command.partition}`)
    }
    const replicas = command.replicas
    if (!Array.isArray(replicas) || replicas.length === 0 || new Set(replicas).size !== replicas.length) {
      return errorResult('INVALID_ARGUMENT', 'replicas must be a non-empty list of distinct node ids')
    }
    if (replicas.length !== topic.replicationFactor) {
      return errorResult(
        'INVALID_ARGUMENT',
        `${command.topic} has replication factor ${topic.replicationFactor}: give ${topic.replicationFactor} replicas, not ${replicas.length}`,
      )
    }
    const stranger = replicas.find((id) => this.#state.members.get(id)?.leaving !== false)
    if (stranger !== undefined) return errorResult('NODE_NOT_FOUND', `${stranger} is not an active member`)
    if (!sameSet(assignment.replicaIds, assignment.currentReplicaIds)) {
      return errorResult(
        'REASSIGNMENT_IN_PROGRESS',
        `${command.topic}/${command.partition} is still moving to ${assignment.replicas.join(',')}`,
      )
    }
    this.#state.nextReplicaEpoch = retarget(assignment, replicas, this.#state.nextReplicaEpoch)
    this.#state.version++
    return undefined
  }

  /** The group's voters reached the target: it becomes the current placement. */
  #reassignmentDone(command: ReassignmentDoneCommand): ErrorResult | undefined {
    const topic = this.#state.topics.get(command.topic)
    if (topic === undefined || topic.topicId !== command.topicId) return topicNotFound(command.topic)
    const assignment = topic.partitions[command.partition]
    if (assignment === undefined) {
      return errorResult('PARTITION_NOT_FOUND', `${command.topic} has no partition ${command.partition}`)
    }
    if (
      !Array.isArray(command.replicas) ||
      !command.replicas.every(isReplicaId) ||
      !sameSet(command.replicas, assignment.replicaIds)
    ) {
      return errorResult(
        'INVALID_ARGUMENT',
        'reported replicas are not the target replica ids (it changed meanwhile, or node ids were sent)',
      )
    }
    if (sameSet(assignment.currentReplicaIds, assignment.replicaIds)) return undefined
    assignment.currentReplicas = [...assignment.replicas]
    assignment.currentReplicaIds = [...assignment.replicaIds]
    forgetDrainedMembers(this.#state)
    this.#state.version++
    return undefined
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id))
}

function topicNotFound(name: string): ErrorResult {
  return errorResult('TOPIC_NOT_FOUND', `no topic ${name}`)
}
