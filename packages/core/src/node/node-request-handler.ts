import { LaminarError } from '../errors/laminar-error'
import type { Clock } from '../ports/clock'
import { type ControllerHost, partitionGroupId } from './controller-host'
import type { NodeTuning } from './node-options'
import type { PartitionHost } from './partition-host'
import type { ClientRequest, GroupPartitionDescription } from './protocol'

/** What the handler needs from its node. */
export interface HandlerNode {
  readonly id: string
  readonly clock: Clock
  readonly tuning: NodeTuning
  status(): unknown
}

/**
 * Serves client requests on one node: controller requests on the controller leader, partition
 * writes and consumer-group requests on the partition leader, reads on any replica hosting the
 * partition. Anything else is answered NOT_LEADER with the best leader hint this node has.
 */
export class NodeRequestHandler {
  readonly #node: HandlerNode
  readonly #controller: ControllerHost
  readonly #partitions: ReadonlyMap<string, PartitionHost>

  constructor(node: HandlerNode, controller: ControllerHost, partitions: ReadonlyMap<string, PartitionHost>) {
    this.#node = node
    this.#controller = controller
    this.#partitions = partitions
  }

  /** Serves one request, failing it with TIMEOUT when it takes longer than requestTimeoutMs. */
  handle(request: ClientRequest, memberships?: Set<string>): Promise<unknown> {
    // A fetch bounds itself (its wait is capped below the timeout); failing it from outside
    // would drop the deliveries it carries on their way to the member.
    if (request.op === 'fetch') return this.#serve(request, memberships)
    const timeoutMs = this.#node.tuning.requestTimeoutMs
    const clock = this.#node.clock
    return new Promise((resolve, reject) => {
      const timer = clock.setTimer(() => {
        reject(
          new LaminarError('TIMEOUT', `${request.op} not served within ${timeoutMs} ms`, {
            details: { op: request.op },
          }),
        )
      }, timeoutMs)
      this.#serve(request, memberships).then(
        (result) => {
          clock.clearTimer(timer)
          resolve(result)
        },
        (error) => {
          clock.clearTimer(timer)
          reject(error)
        },
      )
    })
  }

  /** A client connection closed: its consumer members are lost, their messages redelivered. */
  onConnectionClosed(memberships: ReadonlySet<string>): void {
    for (const key of memberships) {
      const [groupId, group, memberId] = key.split('\u0000') as [string, string, string]
      const host = this.#partitions.get(groupId)
      if (host?.group.isLeader) host.delivery.leave(memberId, group)
    }
  }

  async #serve(request: ClientRequest, memberships: Set<string> | undefined): Promise<unknown> {
    switch (request.op) {
      case 'metadata':
        return this.#controller.metadata((topicId, partition) => {
          const host = this.#partitions.get(partitionGroupId(topicId, partition))
          return host?.leader ?? null
        })
      case 'status':
        return this.#node.status()
      case 'join':
      case 'removeNode':
      case 'reassignPartition':
      case 'reassignmentDone':
        this.#requireControllerLeader()
        return this.#controller.serveMembership(request)
      case 'describeCluster':
        return this.#controller.describeCluster()
      case 'createTopic': {
        this.#requireControllerLeader()
        await this.#controller.ensureMembers()
        await this.#controller.propose({
          type: 'createTopic',
          name: request.topic,
          partitions: request.partitions,
          replicationFactor: request.replicationFactor,
          config: request.config,
        })
        return null
      }
      case 'deleteTopic':
        this.#requireControllerLeader()
        await this.#controller.propose({ type: 'deleteTopic', name: request.topic })
        return null
      case 'produce': {
        const host = this.#leaderHost(request.topic, request.partition)
        return host.produce(request.producerId, request.sequence, request.batch)
      }
      case 'leader':
        this.#leaderHost(request.topic, request.partition)
        return this.#node.id
      case 'read': {
        const host = await this.#readableHost(request.topic, request.partition, request.stale === true)
        const maxMessages = Math.min(Math.max(0, request.maxMessages), this.#node.tuning.readMessagesMax)
        const maxBytes = Math.min(Math.max(1, request.maxBytes), this.#node.tuning.readBytesMax)
        return host.read(request.fromOffset, maxMessages, maxBytes)
      }
      case 'offsetForTime': {
        const host = await this.#readableHost(request.topic, request.partition, false)
        return host.offsetForTime(request.timestampMs)
      }
      case 'fetch': {
        const host = this.#leaderHost(request.topic, request.partition)
        memberships?.add(
          `${partitionGroupId(host.topic.topicId, host.partition)}\u0000${request.group}\u0000${request.memberId}`,
        )
        const waitMs = Math.min(Math.max(0, request.waitMs), this.#node.tuning.requestTimeoutMs / 2)
        return host.delivery.fetch(
          request.memberId,
          request.group,
          request.options,
          request.maxMessages,
          waitMs,
          request.fetchSeq,
          request.maxInFlight,
        )
      }
      case 'settle': {
        const host = this.#leaderHost(request.topic, request.partition)
        host.delivery.settle(request.memberId, request.group, request.acks, request.nacks, request.working)
        return null
      }
      case 'leave': {
        const host = this.#leaderHost(request.topic, request.partition)
        host.delivery.leave(request.memberId, request.group)
        return null
      }
      case 'describeGroup': {
        const host = this.#leaderHost(request.topic, request.partition)
        const state = host.stateMachine.group(request.group)
        if (state === undefined) {
          throw new LaminarError(
            'GROUP_NOT_FOUND',
            `group ${request.group} not found on ${request.topic}/${request.partition}`,
          )
        }
        const endOffset = host.stateMachine.endOffset
        const floor = Math.max(state.ackFloor, host.stateMachine.logStartOffset)
        const description: GroupPartitionDescription = {
          group: request.group,
          topic: request.topic,
          partition: request.partition,
          ackFloor: state.ackFloor,
          endOffset,
          lag: Math.max(0, endOffset - floor - state.acked.filter((o) => o >= floor).length),
          ...host.delivery.describe(request.group),
        }
        return description
      }
      default:
        throw new LaminarError('INVALID_ARGUMENT', `unknown operation ${(request as { op: unknown }).op}`)
    }
  }

  #requireControllerLeader(): void {
    this.#controller.requireLeader()
  }

  /** The partition's host on this node, or PARTITION_NOT_FOUND / NOT_LEADER with a hint. */
  #replicaHost(topicName: string, partition: number): PartitionHost {
    const topic = this.#controller.stateMachine.topic(topicName)
    if (topic === undefined) {
      throw new LaminarError('TOPIC_NOT_FOUND', `topic ${topicName} not found`, {
        details: { topic: topicName },
      })
    }
    const assignment = topic.partitions.find((p) => p.partition === partition)
    if (assignment === undefined) {
      throw new LaminarError('PARTITION_NOT_FOUND', `topic ${topicName} has no partition ${partition}`, {
        details: { topic: topicName, partition, partitions: topic.partitions.length },
      })
    }
    const host = this.#partitions.get(partitionGroupId(topic.topicId, partition))
    if (host === undefined) {
      // Not a replica here (or not started yet): point at the preferred replica.
      const hint = assignment.replicas.find((r) => r !== this.#node.id)
      throw new LaminarError('NOT_LEADER', `node ${this.#node.id} does not host ${topicName}/${partition}`, {
        leaderHint: hint,
      })
    }
    return host
  }

  /**
   * Where a read is served: by default the leader after a ReadIndex round (linearizable: it sees
   * every acknowledged write); with `stale`, any replica that has caught up (cheaper, may lag).
   */
  async #readableHost(topicName: string, partition: number, stale: boolean): Promise<PartitionHost> {
    if (stale) return this.#caughtUpHost(topicName, partition)
    const host = this.#leaderHost(topicName, partition)
    await host.group.readBarrier()
    return host
  }

  /** A replica that may serve reads: not one still replaying its log after a restart. */
  #caughtUpHost(topicName: string, partition: number): PartitionHost {
    const host = this.#replicaHost(topicName, partition)
    if (!host.group.caughtUp) throw host.group.notLeader()
    return host
  }

  #leaderHost(topicName: string, partition: number): PartitionHost {
    const host = this.#replicaHost(topicName, partition)
    if (!host.group.isLeader) throw host.group.notLeader()
    return host
  }
}
