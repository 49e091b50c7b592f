import { isLaminarError, LaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import type { ClientRequest, ClusterMetadata, TopicDescription } from '../node/protocol'
import type { Clock } from '../ports/clock'
import type { NodeChannel } from './node-channel'

export interface BrokerRouterOptions {
  channel: NodeChannel
  clock: Clock
  requestTimeoutMs: number
  /** Attempts per request before the last error is thrown (each NOT_LEADER hop counts). */
  attemptsMax: number
  /** Wait before retrying when no leader is known; doubles up to 8x. */
  retryBackoffMs: number
}

/** Errors after which another attempt (maybe on another node) can succeed. */
const RETRIABLE: ReadonlySet<LaminarErrorCode> = new Set([
  'NOT_LEADER',
  'CONNECTION_CLOSED',
  'NODE_STOPPED',
  'TIMEOUT',
  'PROPOSAL_DROPPED',
  'PARTITION_NOT_FOUND',
])

/**
 * Sends requests where they can be served: controller requests to the controller leader,
 * partition requests to the partition leader, following NOT_LEADER hints, refreshing metadata,
 * and retrying a bounded number of times before surfacing the last error.
 */
export class BrokerRouter {
  readonly #options: BrokerRouterOptions
  #metadata: ClusterMetadata | undefined
  #metadataLoading: Promise<ClusterMetadata> | undefined
  readonly #leaders = new Map<string, string>()
  #controllerLeader: string | undefined

  constructor(options: BrokerRouterOptions) {
    this.#options = options
  }

  get channel(): NodeChannel {
    return this.#options.channel
  }

  /** Cluster metadata, cached; `refresh` asks a node again. */
  async metadata(refresh = false): Promise<ClusterMetadata> {
    if (this.#metadata !== undefined && !refresh) return this.#metadata
    if (this.#metadataLoading === undefined) {
      this.#metadataLoading = this.#retrying(
        () => this.#controllerLeader,
        { op: 'metadata' },
        this.#options.requestTimeoutMs,
        (hint) => {
          this.#controllerLeader = hint
        },
      )
        .then((result) => {
          const metadata = result as ClusterMetadata
          this.#metadata = metadata
          this.#options.channel.setAddresses(new Map(metadata.nodes.map((n) => [n.id, n.address])))
          if (metadata.controllerLeader !== null) this.#controllerLeader = metadata.controllerLeader
          for (const topic of metadata.topics) {
            for (const p of topic.partitions) {
              if (p.leader !== null) this.#leaders.set(partitionKey(topic.name, p.partition), p.leader)
            }
          }
          return metadata
        })
        .finally(() => {
          this.#metadataLoading = undefined
        })
    }
    return this.#metadataLoading
  }

  /** The topic's description; TOPIC_NOT_FOUND after one metadata refresh. */
  async topic(name: string): Promise<TopicDescription> {
    let topic = (await this.metadata()).topics.find((t) => t.name === name)
    if (topic === undefined) topic = (await this.metadata(true)).topics.find((t) => t.name === name)
    if (topic === undefined)
      throw new LaminarError('TOPIC_NOT_FOUND', `topic ${name} not found`, { details: { topic: name } })
    return topic
  }

  /** Sends a controller request (createTopic, deleteTopic) to the controller leader. */
  toController(request: ClientRequest): Promise<unknown> {
    return this.#retrying(
      () => this.#controllerLeader,
      request,
      this.#options.requestTimeoutMs,
      (hint) => {
        this.#controllerLeader = hint
      },
    )
  }

  /**
   * Sends a partition request to the partition's leader (or, with `anyReplica`, to a replica:
   * committed data may be read from followers).
   */
  async toPartition(
    topic: string,
    partition: number,
    request: ClientRequest,
    options: { timeoutMs?: number; anyReplica?: boolean } = {},
  ): Promise<unknown> {
    const key = partitionKey(topic, partition)
    const description = await this.topic(topic)
    const replicas = description.partitions.find((p) => p.partition === partition)?.replicas
    if (replicas === undefined) {
      throw new LaminarError('PARTITION_NOT_FOUND', `topic ${topic} has no partition ${partition}`, {
        details: { topic, partition },
      })
    }
    let rotation = 0
    return this.#retrying(
      () => {
        const leader = this.#leaders.get(key)
        if (leader !== undefined) return leader
        return replicas[rotation++ % replicas.length]
      },
      request,
      options.timeoutMs ?? this.#options.requestTimeoutMs,
      (hint) => {
        if (hint === undefined) this.#leaders.delete(key)
        else this.#leaders.set(key, hint)
      },
      // The topic exists (metadata said so): a node that does not know it yet is behind.
      true,
    )
  }

  /** Records a partition leader learned from a partition's own answer (a `leader` request). */
  noteLeader(topic: string, partition: number, nodeId: string): void {
    this.#leaders.set(partitionKey(topic, partition), nodeId)
  }

  /**
   * The description with each leader the answering node did not know (it hosts no replica of
   * that partition, or has not heard from a new leader yet) filled in from what this client
   * learned from the partitions themselves.
   */
  withKnownLeaders(topic: TopicDescription): TopicDescription {
    return {
      ...topic,
      partitions: topic.partitions.map((p) =>
        p.leader !== null
          ? p
          : { ...p, leader: this.#leaders.get(partitionKey(topic.name, p.partition)) ?? null },
      ),
    }
  }

  /** Forgets a cached partition leader (after a connection failure to it). */
  forgetLeader(topic: string, partition: number): void {
    this.#leaders.delete(partitionKey(topic, partition))
  }

  async #retrying(
    target: () => string | undefined,
    request: ClientRequest,
    timeoutMs: number,
    setLeader: (hint: string | undefined) => void,
    retryUnknownTopic = false,
  ): Promise<unknown> {
    let lastError: unknown
    let backoffMs = this.#options.retryBackoffMs
    /** Leaders hinted since the last pause: a hint seen again means the hints go round. */
    const hinted = new Set<string>()
    for (let attempt = 0; attempt < this.#options.attemptsMax; attempt++) {
      const nodeId = target()
      try {
        return await this.#options.channel.request(nodeId, request, timeoutMs)
      } catch (error) {
        lastError = error
        if (
          !isLaminarError(error) ||
          !(RETRIABLE.has(error.code) || (retryUnknownTopic && error.code === 'TOPIC_NOT_FOUND'))
        ) {
          throw error
        }
        if (error.code === 'NOT_LEADER' && error.leaderHint !== undefined && error.leaderHint !== nodeId) {
          const hint = error.leaderHint
          setLeader(hint)
          // A leader the cached metadata does not list (a node that joined since): learn its address.
          if (request.op !== 'metadata' && this.#metadata?.nodes.some((n) => n.id === hint) === false) {
            await this.metadata(true).catch(() => undefined)
          }
          // Follow a hint at once, but not round a loop: nodes whose views of the leader disagree
          // (mid-election) can point at each other, and would burn every attempt in milliseconds.
          if (!hinted.has(hint)) {
            hinted.add(hint)
            continue
          }
          hinted.clear()
          await this.#sleep(backoffMs)
          backoffMs = Math.min(backoffMs * 2, this.#options.retryBackoffMs * 8)
          continue
        }
        hinted.clear()
        setLeader(undefined)
        if (error.code === 'PARTITION_NOT_FOUND') this.#metadata = undefined
        await this.#sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, this.#options.retryBackoffMs * 8)
      }
    }
    if (isLaminarError(lastError)) {
      throw new LaminarError(
        lastError.code === 'NOT_LEADER' ? 'TIMEOUT' : lastError.code,
        `${request.op} failed after ${this.#options.attemptsMax} attempts: ${lastError.message}`,
        { cause: lastError, leaderHint: lastError.leaderHint, details: { op: request.op } },
      )
    }
    throw lastError
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#options.clock.setTimer(resolve, ms))
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
