import type { TopicConfig } from '../broker/commands'
import type { GroupPartitionDescription, TopicDescription } from '../node/protocol'
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
        Array.from({ length: partitions }, (_, partition) =>
          this.#router.toPartition(options.topic, partition, {
            op: 'leader',
            topic: options.topic,
            partition,
          }),
        ),
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
    return this.#router.topic(options.topic)
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
}
