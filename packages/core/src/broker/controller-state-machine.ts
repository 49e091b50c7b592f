import { decodeControllerCommand } from '../codec/command-codec'
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
  type ReassignmentDoneCommand,
  type ReassignPartitionCommand,
  TOPIC_PARTITIONS_MAX,
  TOPICS_MAX,
  type TopicConfig,
  type TopicMetadata,
} from './commands'
import {
  decodeControllerSnapshot,
  encodeControllerSnapshot,
  type StoredMember,
  sortedPairs,
} from './controller-snapshot'
import { definedFields } from './defined-fields'
import { chooseReplicas, measureLoad, placePartitions } from './placement'
import { hostedReplicaId, isReplicaId, renewReplicaIds, replicaIdOf, retarget } from './replica-ids'
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
  #appliedIndex = 0
  #version = 0
  #nextTopicId = 1
  /** The epoch of the next replica id (`broker/replica-ids.ts`); only grows. */
  #nextReplicaEpoch = 1
  #members = new Map<string, StoredMember>()
  #topics = new Map<string, TopicMetadata>()
  #removed = new Set<string>()

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

  /** Members sorted by node id, leaving ones included. */
  members(): ClusterMember[] {
    return this.#memberIds().map((nodeId) => {
      const member = this.#members.get(nodeId)!
      return {
        nodeId,
        addresses: { ...member.addresses },
        leaving: member.leaving,
        storageId: member.storageId,
        replicaFloor: member.replicaFloor,
      }
    })
  }

  member(nodeId: string): ClusterMember | undefined {
    return this.members().find((m) => m.nodeId === nodeId)
  }

  hasMember(nodeId: string): boolean {
    return this.#members.has(nodeId)
  }

  /** True for a node removed from the cluster (it comes back only by joining itself). */
  wasRemoved(nodeId: string): boolean {
    return this.#removed.has(nodeId)
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
        const replicaId = hostedReplicaId(assignment, nodeId, this.#members.get(nodeId)?.replicaFloor)
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
    return encodeControllerSnapshot({
      appliedIndex: this.#appliedIndex,
      version: this.#version,
      nextTopicId: this.#nextTopicId,
      nextReplicaEpoch: this.#nextReplicaEpoch,
      members: this.#members,
      topics: this.#topics,
      removed: this.#removed,
    })
  }

  /** Replace all state with a snapshot's. Throws STORAGE_CORRUPT (and changes nothing) on bad bytes. */
  restore(bytes: Uint8Array): void {
    const state = decodeControllerSnapshot(bytes)
    this.#appliedIndex = state.appliedIndex
    this.#version = state.version
    this.#nextTopicId = state.nextTopicId
    this.#nextReplicaEpoch = state.nextReplicaEpoch
    this.#members = state.members
    this.#topics = state.topics
    this.#removed = state.removed
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
        return this.#join(command.nodeId, command.addresses ?? {}, command.storageId)
      case 'leave':
        return this.#leave(command.nodeId)
      case 'createTopic':
        return this.#createTopic(command)
      case 'deleteTopic':
        if (!this.#topics.delete(command.name)) return topicNotFound(command.name)
        this.#forgetDrainedMembers()
        this.#version++
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

  #join(nodeId: string, addresses: Record<string, string>, storageId?: string): ErrorResult | undefined {
    if (!NAME_PATTERN.test(nodeId))
      return errorResult('INVALID_ARGUMENT', 'nodeId must match [a-zA-Z0-9._-]{1,249}')
    if (storageId !== undefined && (typeof storageId !== 'string' || !NAME_PATTERN.test(storageId)))
      return errorResult('INVALID_ARGUMENT', 'storageId must match [a-zA-Z0-9._-]{1,249}')
    const existing = this.#members.get(nodeId)
    if (existing === undefined && this.#members.size >= CLUSTER_MEMBERS_MAX) {
      return errorResult('INVALID_ARGUMENT', `at most ${CLUSTER_MEMBERS_MAX} members`)
    }
    const copy = Object.fromEntries(sortedPairs(addresses))
    const recorded = existing?.storageId ?? ''
    // A repeated join (a restarting node announcing itself) changes nothing and keeps the version.
    if (
      existing !== undefined &&
      !existing.leaving &&
      (storageId === undefined || storageId === recorded) &&
      JSON.stringify(sortedPairs(existing.addresses)) === JSON.stringify(sortedPairs(copy))
    )
      return
    let replicaFloor = existing?.replicaFloor ?? 0
    // Another storage than the recorded one: the node lost the state of every replica it hosted.
    // None of them may come back under its old id (it would vote and ack as if it remembered).
    if (storageId !== undefined && recorded !== '' && storageId !== recorded) {
      replicaFloor = this.#nextReplicaEpoch
      this.#nextReplicaEpoch = renewReplicaIds(this.#assignments(), nodeId, replicaFloor, replicaFloor)
    }
    // A leaving node that joins again stays (its replicas already moved off; new ones may come).
    this.#members.set(nodeId, {
      addresses: copy,
      leaving: false,
      storageId: storageId ?? recorded,
      replicaFloor,
    })
    this.#removed.delete(nodeId)
    this.#version++
    return undefined
  }

  /**
   * A node leaves: every partition it is a target replica of gets a replacement (the active member
   * holding the fewest replicas), so replication factors hold. The member is forgotten at once if
   * it hosts nothing, else marked leaving until the last move off it completes. Refused when some
   * partition could find no replacement (fewer active members than its replication factor).
   */
  #leave(nodeId: string): ErrorResult | undefined {
    const member = this.#members.get(nodeId)
    if (member === undefined) return errorResult('NODE_NOT_FOUND', `${nodeId} is not a member`)
    if (member.leaving) return undefined
    const remaining = this.#activeMemberIds().filter((id) => id !== nodeId)
    const load = measureLoad(remaining, this.#assignments())
    const moves: { assignment: PartitionAssignment; replicas: string[] }[] = []
    for (const assignment of this.#assignments()) {
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
      this.#nextReplicaEpoch = retarget(assignment, replicas, this.#nextReplicaEpoch)
    member.leaving = true
    this.#forgetDrainedMembers()
    this.#version++
    return undefined
  }

  /** Leaving members that host no replica any more are forgotten (and remembered as removed). */
  #forgetDrainedMembers(): void {
    for (const [nodeId, member] of [...this.#members]) {
      if (!member.leaving || this.#hostsAnything(nodeId)) continue
      this.#members.delete(nodeId)
      if (this.#removed.size < CLUSTER_MEMBERS_MAX) this.#removed.add(nodeId)
    }
  }

  #hostsAnything(nodeId: string): boolean {
    for (const assignment of this.#assignments()) {
      if (assignment.replicas.includes(nodeId) || assignment.currentReplicas.includes(nodeId)) return true
    }
    return false
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
      replicationFactor > this.#activeMemberIds().length
    ) {
      return errorResult(
        'INVALID_ARGUMENT',
        `replicationFactor must be an integer in [1, ${this.#activeMemberIds().length}] (the live members)`,
      )
    }
    const config = validateTopicConfig({
      ...DEFAULT_TOPIC_CONFIG,
      ...definedFields(command.config),
    } as TopicConfig)
    if (typeof config === 'string') return errorResult('INVALID_ARGUMENT', config)
    const nodeIds = this.#activeMemberIds()
    const placed = placePartitions(
      nodeIds,
      partitions,
      replicationFactor,
      measureLoad(nodeIds, this.#assignments()),
      (nodeId) => replicaIdOf(nodeId, this.#nextReplicaEpoch++),
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
    if (replicas.length !== topic.replicationFactor) {
      return errorResult(
        'INVALID_ARGUMENT',
        `${command.topic} has replication factor ${topic.replicationFactor}: give ${topic.replicationFactor} replicas, not ${replicas.length}`,
      )
    }
    const stranger = replicas.find((id) => this.#members.get(id)?.leaving !== false)
    if (stranger !== undefined) return errorResult('NODE_NOT_FOUND', `${stranger} is not an active member`)
    if (!sameSet(assignment.replicaIds, assignment.currentReplicaIds)) {
      return errorResult(
        'REASSIGNMENT_IN_PROGRESS',
        `${command.topic}/${command.partition} is still moving to ${assignment.replicas.join(',')}`,
      )
    }
    this.#nextReplicaEpoch = retarget(assignment, replicas, this.#nextReplicaEpoch)
    this.#version++
    return undefined
  }

  /** The group's voters reached the target: it becomes the current placement. */
  #reassignmentDone(command: ReassignmentDoneCommand): ErrorResult | undefined {
    const topic = this.#topics.get(command.topic)
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
    this.#forgetDrainedMembers()
    this.#version++
    return undefined
  }

  /** Members that take new replicas: not leaving. */
  #activeMemberIds(): string[] {
    return this.#memberIds().filter((id) => !this.#members.get(id)!.leaving)
  }

  #memberIds(): string[] {
    return [...this.#members.keys()].sort()
  }

  *#assignments(): Generator<PartitionAssignment> {
    for (const name of [...this.#topics.keys()].sort()) yield* this.#topics.get(name)!.partitions
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id))
}

function topicNotFound(name: string): ErrorResult {
  return errorResult('TOPIC_NOT_FOUND', `no topic ${name}`)
}

function errorResult(code: LaminarErrorCode, message: string): ErrorResult {
  return { type: 'error', code, message }
}
