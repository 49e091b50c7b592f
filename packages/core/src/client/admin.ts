import type { TopicConfig } from '../broker/commands'
import { LaminarError } from '../errors/laminar-error'
import type {
  ClusterDescription,
  GroupPartitionDescription,
  JoinResult,
  TopicDescription,
} from '../node/protocol'
import type { BrokerRouter } from './broker-router'
import { assertName, assertPartitionCount, assertPositiveInteger } from './limits'

export interface CreateTopicOptions {
  topic: string
  /** Default 1. */
  partitions?: number
  /** Default: 3, or the number of nodes when fewer. */
  replicationFactor?: number
  config?: Partial<TopicConfig>
  /** Resolve only once every partition has elected a leader (default true). */
  waitForLeaders?: boolean
}

export interface GroupDescription {
  groupId: string
  topic: string
  /** Messages not handled yet, over all partitions. */
  lag: number
  /** Messages delivered and awaiting ack, over all partitions. */
  pending: number
  partitions: GroupPartitionDescription[]
}

/** Topic and group administration, KafkaJS-style. */
export class Admin {
  readonly #router: BrokerRouter

  /** @internal Use `client.admin()`. */
  constructor(router: BrokerRouter) {
    this.#router = router
  }

  async createTopic(options: CreateTopicOptions): Promise<void> {
    assertName(options.topic, 'topic')
    const partitions = options.partitions ?? 1
    assertPartitionCount(partitions)
    const nodes = (await this.#router.metadata()).nodes.length
    const replicationFactor = options.replicationFactor ?? Math.min(3, nodes)
    assertPositiveInteger(replicationFactor, 'replicationFactor', nodes)
    await this.#router.toController({
      op: 'createTopic',
      topic: options.topic,
      partitions,
      replicationFactor,
      config: { ...options.config },
    })
    await this.#router.metadata(true)
    if (options.waitForLeaders !== false) {
      await Promise.all(
        Array.from({ length: partitions }, async (_, partition) => {
          const leader = await this.#router.toPartition(options.topic, partition, {
            op: 'leader',
            topic: options.topic,
            partition,
          })
          // So that describeTopic right after shows it even if the node it asks has not heard yet.
          this.#router.noteLeader(options.topic, partition, leader as string)
        }),
      )
    }
  }

  async deleteTopic(options: { topic: string }): Promise<void> {
    assertName(options.topic, 'topic')
    await this.#router.toController({ op: 'deleteTopic', topic: options.topic })
    await this.#router.metadata(true)
  }

  async listTopics(): Promise<string[]> {
    return (await this.#router.metadata(true)).topics.map((t) => t.name).sort()
  }

  async describeTopic(options: { topic: string }): Promise<TopicDescription> {
    assertName(options.topic, 'topic')
    await this.#router.metadata(true)
    return this.#router.withKnownLeaders(await this.#router.topic(options.topic))
  }

  /** Lag and pending per partition of one group on one topic (asked of each partition leader). */
  async describeGroup(options: { groupId: string; topic: string }): Promise<GroupDescription> {
    assertName(options.groupId, 'group')
    assertName(options.topic, 'topic')
    const topic = await this.#router.topic(options.topic)
    const partitions = (await Promise.all(
      topic.partitions.map((p) =>
        this.#router.toPartition(options.topic, p.partition, {
          op: 'describeGroup',
          topic: options.topic,
          partition: p.partition,
          group: options.groupId,
        }),
      ),
    )) as GroupPartitionDescription[]
    return {
      groupId: options.groupId,
      topic: options.topic,
      lag: partitions.reduce((sum, p) => sum + p.lag, 0),
      pending: partitions.reduce((sum, p) => sum + p.pending, 0),
      partitions,
    }
  }

  /**
   * Moves a partition onto `replicas` (as many as the topic's replication factor; the first is
   * the preferred leader). Resolves once the controller committed the target; the group's leader
   * then adds the new replicas as learners, promotes them once caught up and removes the old
   * ones, while production and consumption go on. `describeCluster()` (or `describeTopic`) shows
   * `currentReplicas` reaching `replicas`. Errors: NODE_NOT_FOUND, INVALID_ARGUMENT (count,
   * duplicates), REASSIGNMENT_IN_PROGRESS, TOPIC_NOT_FOUND, PARTITION_NOT_FOUND.
   */
  async reassignPartition(options: { topic: string; partition: number; replicas: string[] }): Promise<void> {
    assertName(options.topic, 'topic')
    if (!Number.isSafeInteger(options.partition) || options.partition < 0) {
      throw new LaminarError('INVALID_ARGUMENT', 'partition must be a non-negative integer')
    }
    if (!Array.isArray(options.replicas) || options.replicas.some((id) => typeof id !== 'string')) {
      throw new LaminarError('INVALID_ARGUMENT', 'replicas must be a list of node ids')
    }
    // Checked here too: the router retries PARTITION_NOT_FOUND (metadata may be stale), which
    // would only delay the same answer.
    const topic = await this.#router.topic(options.topic)
    if (!topic.partitions.some((p) => p.partition === options.partition)) {
      throw new LaminarError(
        'PARTITION_NOT_FOUND',
        `topic ${options.topic} has no partition ${options.partition}`,
        {
          details: {
            topic: options.topic,
            partition: options.partition,
            partitions: topic.partitions.length,
          },
        },
      )
    }
    await this.#router.toController({
      op: 'reassignPartition',
      topic: options.topic,
      partition: options.partition,
      replicas: [...options.replicas],
    })
    await this.#router.metadata(true)
  }

  /**
   * Removes a node from the cluster: each of its replicas moves to another member (the one
   * holding fewest), and the member is forgotten once the last move committed; the controller
   * group replaces it as a voter first. Resolves once the removal is committed (the moves run
   * on). Errors: NODE_NOT_FOUND; INVALID_ARGUMENT when it is the last active member or some
   * partition would have fewer members to live on than its replication factor.
   */
  async removeNode(nodeId: string): Promise<void> {
    if (typeof nodeId !== 'string' || nodeId.length === 0) {
      throw new LaminarError('INVALID_ARGUMENT', 'nodeId must be a non-empty string')
    }
    await this.#router.toController({ op: 'removeNode', nodeId })
    await this.#router.metadata(true)
  }

  /** Members, the controller group, and every partition's current and target replicas, as the controller leader knows them. */
  async describeCluster(): Promise<ClusterDescription> {
    return (await this.#router.toController({ op: 'describeCluster' })) as ClusterDescription
  }

  /** @internal A node joining at run time asks the controller to admit it. */
  async join(
    nodeId: string,
    address: string,
    storageId?: string,
    freshStorage?: boolean,
  ): Promise<JoinResult> {
    const request = storageId === undefined ? { nodeId, address } : { nodeId, address, storageId }
    if (freshStorage === true) Object.assign(request, { freshStorage })
    return (await this.#router.toController({ op: 'join', ...request })) as JoinResult
  }

  /** @internal A partition leader reports that its group's voters reached the target replicas. */
  async reassignmentDone(report: {
    topic: string
    topicId: number
    partition: number
    replicas: string[]
  }): Promise<void> {
    await this.#router.toController({ op: 'reassignmentDone', ...report })
  }
}
