import { LaminarError } from '../errors/laminar-error'
import type { ReadResult, StoredRecord } from '../node/protocol'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import { Admin } from './admin'
import { BrokerRouter } from './broker-router'
import { Consumer, type ConsumerOptions } from './consumer'
import { assertName, assertPositiveInteger } from './limits'
import type { NodeChannel } from './node-channel'
import { Producer, type ProducerOptions } from './producer'

export interface LaminarClientOptions {
  channel: NodeChannel
  clock: Clock
  random: Random
  /** Per request, before a retry (default 10 s). */
  requestTimeoutMs?: number
  /** Attempts per request across NOT_LEADER hops and retries (default 20). */
  attemptsMax?: number
  retryBackoffMs?: number
}

export interface ReadOptions {
  topic: string
  partition: number
  fromOffset: number
  /** Exclusive end; reads stop at the partition's end otherwise. */
  toOffset?: number
  /** At most this many records (default 1000, max 100,000). */
  maxMessages?: number
  /**
   * Let any replica answer (a follower read: cheaper, but it may miss the latest writes).
   * By default the partition leader answers after confirming its leadership, so a read sees
   * every write acknowledged before it began.
   */
  stale?: boolean
}

/** Records read in one request at most. */
const READ_CHUNK_MESSAGES = 10_000
export const CLIENT_READ_MESSAGES_MAX = 100_000

/**
 * Entry point of the client API: admin, producers, consumers and stream reads. Get one from
 * `node.client()` (in-process) or `connect({ brokers, transport })`.
 */
export class LaminarClient {
  readonly #router: BrokerRouter
  readonly #clock: Clock
  readonly #random: Random
  #admin: Admin | undefined
  #closed = false

  constructor(options: LaminarClientOptions) {
    this.#clock = options.clock
    this.#random = options.random
    this.#router = new BrokerRouter({
      channel: options.channel,
      clock: options.clock,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      attemptsMax: options.attemptsMax ?? 20,
      retryBackoffMs: options.retryBackoffMs ?? 25,
    })
  }

  admin(): Admin {
    this.#admin ??= new Admin(this.#router)
    return this.#admin
  }

  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.#router, this.#clock, this.#random, options)
  }

  consumer(options: ConsumerOptions): Consumer {
    return new Consumer(this.#router, this.#clock, this.#random, options)
  }

  /**
   * Reads committed records by offset, in [fromOffset, toOffset) or up to maxMessages. Any
   * replica may answer: committed data is the same everywhere.
   */
  async read(options: ReadOptions): Promise<StoredRecord[]> {
    assertName(options.topic, 'topic')
    assertPositiveInteger(options.partition, 'partition')
    assertPositiveInteger(options.fromOffset, 'fromOffset')
    const maxMessages =
      options.maxMessages ?? (options.toOffset === undefined ? 1000 : CLIENT_READ_MESSAGES_MAX)
    assertPositiveInteger(maxMessages, 'maxMessages', CLIENT_READ_MESSAGES_MAX)
    if (options.toOffset !== undefined) assertPositiveInteger(options.toOffset, 'toOffset')
    const out: StoredRecord[] = []
    let offset = options.fromOffset
    const end = options.toOffset ?? Number.MAX_SAFE_INTEGER
    while (out.length < maxMessages && offset < end) {
      const want = Math.min(maxMessages - out.length, end - offset, READ_CHUNK_MESSAGES)
      const result = (await this.#router.toPartition(options.topic, options.partition, {
        op: 'read',
        topic: options.topic,
        partition: options.partition,
        fromOffset: offset,
        maxMessages: want,
        maxBytes: 4 * 1024 * 1024,
        stale: options.stale === true,
      })) as ReadResult
      for (const record of result.records) {
        if (record.offset >= end) break
        out.push(record)
      }
      if (result.records.length === 0 || result.nextOffset >= result.endOffset) break
      offset = result.nextOffset
    }
    return out
  }

  /**
   * The offset of the first record with a timestamp at or after `timestampMs` (the partition's
   * end offset when there is none): where a stream reader seeks to.
   */
  async seek(options: { topic: string; partition: number; timestampMs: number }): Promise<number> {
    assertName(options.topic, 'topic')
    let offset = (await this.#router.toPartition(
      options.topic,
      options.partition,
      {
        op: 'offsetForTime',
        topic: options.topic,
        partition: options.partition,
        timestampMs: options.timestampMs,
      },
      { anyReplica: true },
    )) as number
    // The time index is sparse: walk forward past the few earlier records it may include.
    for (;;) {
      const records = await this.read({
        topic: options.topic,
        partition: options.partition,
        fromOffset: offset,
        maxMessages: 1000,
      })
      if (records.length === 0) return offset
      const found = records.find((r) => r.timestampMs >= options.timestampMs)
      if (found !== undefined) return found.offset
      offset = records[records.length - 1]!.offset + 1
    }
  }

  /** Cluster metadata: nodes, controller leader, topics with placement. */
  metadata(): ReturnType<BrokerRouter['metadata']> {
    return this.#router.metadata(true)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#router.channel.close()
  }

  get closed(): boolean {
    return this.#closed
  }
}

export function assertOpen(client: LaminarClient): void {
  if (client.closed) throw new LaminarError('CONNECTION_CLOSED', 'client is closed')
}
