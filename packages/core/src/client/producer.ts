import { encodeRecords } from '../codec/record-batch'
import { isLaminarError, LaminarError } from '../errors/laminar-error'
import { produceHeadroomBytes } from '../node/produce-frame'
import type { ProduceResult, WireRecord } from '../node/protocol'
import { recordBytes } from '../node/recent-records'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { BrokerRouter } from './broker-router'
import { assertName, type ProducerMessage, toRecord } from './limits'
import { partitionForKey } from './partitioner'

export interface ProducerOptions {
  /** Producer id + per-partition sequence: retries are never written twice (default true). */
  idempotent?: boolean
  /** How long a batch waits for more messages; 0 = until the end of the current tick (default 0). */
  lingerMs?: number
  /** A batch is sent once it holds this many bytes (default 1 MiB). */
  maxBatchBytes?: number
  /** Bytes accepted and not yet acknowledged; more are refused with BUFFER_FULL (default 64 MiB). */
  bufferBytesMax?: number
  /** Batches in flight per partition: pipelining depth (default 16). */
  maxInFlightPerPartition?: number
  /** Largest single message accepted (default 1 MiB; the topic's own limit applies too). */
  maxMessageBytes?: number
}

export interface RecordMetadata {
  topic: string
  partition: number
  offset: number
}

export interface SendOptions {
  topic: string
  messages: ProducerMessage[]
}

/** One `send`/`sendBatch` call: settled once all its messages are, or at the first failure. */
interface SendCall {
  results: RecordMetadata[]
  remaining: number
  settled: boolean
  resolve: (results: RecordMetadata[]) => void
  reject: (error: unknown) => void
}

/**
 * Consecutive messages of one send call in one batch, at consecutive positions of the call's
 * results: no object per message once the batch is encoded, one per call and batch.
 */
interface Run {
  call: SendCall
  /** Position of the run's first message in its call's results. */
  index: number
  count: number
  bytes: number
}

interface Batch {
  /** Assigned when first sent, so sequences follow send order; kept for retries. */
  sequence: number
  /** The lane epoch the sequence belongs to. */
  epoch: number
  /** The records until the batch is sealed; then only {@link encoded} holds them. */
  records: WireRecord[]
  runs: Run[]
  bytes: number
  /**
   * The batch's bytes, encoded when it is sealed (so its records die young instead of waiting in
   * queues), with headroom for the produce frame and the leader's headers, handed over with its
   * first send; kept for retries, which send them again without headroom (one copy), since the
   * first send's receiver may have adopted the buffer.
   */
  encoded: Uint8Array | undefined
}

interface Lane {
  topic: string
  partition: number
  open: Batch | undefined
  queued: Batch[]
  inFlight: number
  failed: Batch[]
  nextSequence: number
  /**
   * Bumped when a batch failed for good: its sequence left a gap, so later batches start a new
   * sequence under a new producer id instead of being refused as out of order forever.
   */
  epoch: number
}

/** Errors a batch is retried after (in sequence order, once nothing is in flight). */
const LANE_RETRIABLE = new Set([
  'OUT_OF_ORDER_SEQUENCE',
  'TIMEOUT',
  'NOT_LEADER',
  'CONNECTION_CLOSED',
  'NODE_STOPPED',
  'PROPOSAL_DROPPED',
])
const LANE_ATTEMPTS_MAX = 8
/** An epoch as long as any a producer reaches (the digits of 2^53): sizes the headroom of a batch. */
const EPOCH_DIGITS_MAX = '9'.repeat(16)
const NO_RECORDS: WireRecord[] = []

/**
 * Sends messages in batches per partition, pipelined, idempotent by default: each batch
 * carries the producer id and a per-partition sequence, so a retried batch is answered with
 * its original offsets. A send resolves once every message is committed and applied.
 */
export class Producer {
  readonly #router: BrokerRouter
  readonly #clock: Clock
  readonly #producerId: string | null
  readonly #lingerMs: number
  readonly #maxBatchBytes: number
  readonly #bufferBytesMax: number
  readonly #maxInFlight: number
  readonly #maxMessageBytes: number
  readonly #lanes = new Map<string, Lane>()
  readonly #roundRobin = new Map<string, number>()
  readonly #attempts = new WeakMap<Batch, number>()
  #bufferedBytes = 0
  #sealScheduled = false
  #closed = false

  /** @internal Use `client.producer()`. */
  constructor(router: BrokerRouter, clock: Clock, random: Random, options: ProducerOptions = {}) {
    this.#router = router
    this.#clock = clock
    this.#producerId =
      options.idempotent === false
        ? null
        : `p-${Math.floor(random.next() * 2 ** 48).toString(36)}-${Math.floor(random.next() * 2 ** 48).toString(36)}`
    this.#lingerMs = options.lingerMs ?? 0
    this.#maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024
    this.#bufferBytesMax = options.bufferBytesMax ?? 64 * 1024 * 1024
    this.#maxInFlight = options.maxInFlightPerPartition ?? 16
    this.#maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024
  }

  /** Bytes accepted and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  /** Sends messages to one topic; resolves with their offsets, in the order given. */
  async send(options: SendOptions): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [options] })
  }

  /** Sends messages to several topics at once. */
  async sendBatch(options: { topicMessages: SendOptions[] }): Promise<RecordMetadata[]> {
    if (this.#closed) throw new LaminarError('INVALID_ARGUMENT', 'producer is closed')
    const nowMs = this.#clock.now()
    const prepared: Array<{ topic: string; partition: number; record: WireRecord; bytes: number }> = []
    let total = 0
    for (const { topic, messages } of options.topicMessages) {
      assertName(topic, 'topic')
      if (!Array.isArray(messages) || messages.length === 0) {
        throw new LaminarError('INVALID_ARGUMENT', 'messages must be a non-empty array')
      }
      const description = await this.#router.topic(topic)
      const partitions = description.partitions.length
      for (const message of messages) {
        const record = toRecord(message, nowMs)
        const bytes = recordBytes(record)
        if (bytes > this.#maxMessageBytes) {
          throw new LaminarError(
            'MESSAGE_TOO_LARGE',
            `message of ${bytes} bytes exceeds ${this.#maxMessageBytes}`,
            {
              details: { topic, maxMessageBytes: this.#maxMessageBytes, messageBytes: bytes },
            },
          )
        }
        let partition = message.partition
        if (partition === undefined) {
          if (record.key !== null) partition = partitionForKey(record.key, partitions)
          else {
            const next = this.#roundRobin.get(topic) ?? 0
            this.#roundRobin.set(topic, next + 1)
            partition = next % partitions
          }
        } else if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
          throw new LaminarError('PARTITION_NOT_FOUND', `topic ${topic} has no partition ${partition}`, {
            details: { topic, partition, partitions },
          })
        }
        total += bytes
        prepared.push({ topic, partition, record, bytes })
      }
    }
    if (this.#bufferedBytes + total > this.#bufferBytesMax) {
      throw new LaminarError('BUFFER_FULL', `producer buffer full (${this.#bufferBytesMax} bytes)`, {
        details: { bufferBytesMax: this.#bufferBytesMax, bufferedBytes: this.#bufferedBytes },
      })
    }
    this.#bufferedBytes += total
    const promise = new Promise<RecordMetadata[]>((resolve, reject) => {
      const call: SendCall = {
        results: new Array(prepared.length),
        remaining: prepared.length,
        settled: false,
        resolve,
        reject,
      }
      for (let index = 0; index < prepared.length; index++) {
        const p = prepared[index]!
        this.#add(p.topic, p.partition, p.record, p.bytes, call, index)
      }
    })
    this.#scheduleSeal()
    return promise
  }

  /** A run of messages was acknowledged from `baseOffset` on (error undefined), or failed for good. */
  #settle(lane: Lane, run: Run, error: unknown, baseOffset: number): void {
    this.#bufferedBytes -= run.bytes
    const call = run.call
    if (call.settled) return
    if (error !== undefined) {
      call.settled = true
      call.reject(error)
      return
    }
    for (let i = 0; i < run.count; i++) {
      call.results[run.index + i] = { topic: lane.topic, partition: lane.partition, offset: baseOffset + i }
    }
    call.remaining -= run.count
    if (call.remaining === 0) {
      call.settled = true
      call.resolve(call.results)
    }
  }

  #add(
    topic: string,
    partition: number,
    record: WireRecord,
    bytes: number,
    call: SendCall,
    index: number,
  ): void {
    const key = `${topic}\u0000${partition}`
    let lane = this.#lanes.get(key)
    if (lane === undefined) {
      lane = {
        topic,
        partition,
        open: undefined,
        queued: [],
        inFlight: 0,
        failed: [],
        nextSequence: 0,
        epoch: 0,
      }
      this.#lanes.set(key, lane)
    }
    let batch = lane.open
    if (batch === undefined) {
      batch = { sequence: -1, epoch: -1, records: [], runs: [], bytes: 0, encoded: undefined }
      lane.open = batch
    }
    batch.records.push(record)
    batch.bytes += bytes
    const last = batch.runs[batch.runs.length - 1]
    if (last !== undefined && last.call === call && last.index + last.count === index) {
      last.count++
      last.bytes += bytes
    } else batch.runs.push({ call, index, count: 1, bytes })
    if (batch.bytes >= this.#maxBatchBytes) this.#seal(lane)
  }

  #scheduleSeal(): void {
    if (this.#sealScheduled) return
    this.#sealScheduled = true
    const sealAll = (): void => {
      this.#sealScheduled = false
      for (const lane of this.#lanes.values()) if (lane.open !== undefined) this.#seal(lane)
    }
    if (this.#lingerMs <= 0) queueMicrotask(sealAll)
    else this.#clock.setTimer(sealAll, this.#lingerMs)
  }

  #seal(lane: Lane): void {
    const batch = lane.open
    if (batch === undefined) return
    lane.open = undefined
    // The producer id is only known when the batch is sent (its epoch): leave room for the
    // longest id this producer can have, any epoch.
    const producerId = this.#producerId === null ? null : `${this.#producerId}.${EPOCH_DIGITS_MAX}`
    try {
      batch.encoded = encodeRecords(batch.records, produceHeadroomBytes(lane.topic, producerId))
    } catch (cause) {
      // A record the batch format cannot hold (a header name over 64 KiB, too many headers).
      const error = new LaminarError(
        'INVALID_ARGUMENT',
        `cannot encode a message: ${(cause as Error).message}`,
        {
          cause,
        },
      )
      for (const run of batch.runs) this.#settle(lane, run, error, -1)
      return
    }
    batch.records = NO_RECORDS
    lane.queued.push(batch)
    this.#pump(lane)
  }

  #pump(lane: Lane): void {
    // After a failure, nothing new leaves until the failed batches were resent in order.
    if (lane.failed.length > 0) {
      if (lane.inFlight > 0) return
      lane.failed.sort((a, b) => a.sequence - b.sequence)
      lane.queued.unshift(...lane.failed.splice(0))
    }
    while (lane.inFlight < this.#maxInFlight && lane.queued.length > 0) {
      const batch = lane.queued.shift()!
      if (batch.epoch === -1) {
        batch.epoch = lane.epoch
        batch.sequence = lane.nextSequence++
      }
      lane.inFlight++
      void this.#sendBatch(lane, batch)
    }
  }

  async #sendBatch(lane: Lane, batch: Batch): Promise<void> {
    try {
      const producerId = this.#producerId === null ? null : `${this.#producerId}.${batch.epoch}`
      const result = (await this.#router.toPartition(lane.topic, lane.partition, {
        op: 'produce',
        topic: lane.topic,
        partition: lane.partition,
        producerId,
        sequence: batch.sequence,
        batch: batch.encoded!,
      })) as ProduceResult
      lane.inFlight--
      let offset = result.baseOffset
      for (const run of batch.runs) {
        this.#settle(lane, run, undefined, offset)
        offset += run.count
      }
    } catch (error) {
      lane.inFlight--
      const attempts = (this.#attempts.get(batch) ?? 0) + 1
      this.#attempts.set(batch, attempts)
      if (
        isLaminarError(error) &&
        LANE_RETRIABLE.has(error.code) &&
        attempts < LANE_ATTEMPTS_MAX &&
        !this.#closed
      ) {
        lane.failed.push(batch)
      } else {
        if (batch.epoch === lane.epoch) {
          lane.epoch++
          lane.nextSequence = 0
        }
        for (const run of batch.runs) this.#settle(lane, run, error, -1)
      }
    }
    this.#pump(lane)
  }

  /** Resolves once everything sent so far was acknowledged or failed. */
  async flush(): Promise<void> {
    for (const lane of this.#lanes.values()) if (lane.open !== undefined) this.#seal(lane)
    while (this.#bufferedBytes > 0) {
      await new Promise<void>((resolve) => this.#clock.setTimer(resolve, 1))
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
  }
}
