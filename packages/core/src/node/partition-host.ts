import type { AppendCommand, PartitionCommand, PartitionResult, TopicMetadata } from '../broker/commands'
import { PartitionStateMachine } from '../broker/partition-state-machine'
import { decodePartitionCommand, encodePartitionCommand, peekCommandType, RecordBatch } from '../codec/index'
import { LaminarError } from '../errors/laminar-error'
import type { Clock } from '../ports/clock'
import type { NodeId } from '../raft/types'
import { GroupDelivery } from './group-delivery'
import { decodeProposal } from './proposal-envelope'
import type { ProduceResult, ReadResult, StoredRecord, WireRecord } from './protocol'
import type { GroupApplier, RaftGroup } from './raft-group'
import { RecentRecords, recordBytes } from './recent-records'
import { SegmentedGroupLog } from './segmented-group-log'

export interface PartitionHostOptions {
  topic: TopicMetadata
  partition: number
  clock: Clock
  recentRecordsBytesMax: number
  /** How a dead letter is produced into another topic (through the node's own client). */
  produceDeadLetter: (topic: string, record: WireRecord) => Promise<void>
  memberSessionTimeoutMs: number
}

/** Records loaded at once for consumers behind the recent window, and their byte bound. */
const READ_AHEAD_MESSAGES = 4096
const READ_AHEAD_BYTES = 8 * 1024 * 1024

/** Bytes of log read per step when scanning for records (at most). */
const SCAN_BYTES = 8 * 1024 * 1024
const SCAN_BYTES_MIN = 256 * 1024

/**
 * One partition replica on one node: the partition state machine applied from its Raft
 * group, the read path (offsets -> Raft entries -> records), produce on the leader, and
 * consumer-group delivery on the leader.
 */
export class PartitionHost implements GroupApplier {
  readonly topic: TopicMetadata
  readonly partition: number
  /**
   * A dense-ish offset index (an entry at most every 16 records): retention and reads cut at
   * index entries, so a sparse one would make small topics lose whole batches to retention.
   */
  readonly stateMachine = new PartitionStateMachine({ indexIntervalRecords: 16 })
  readonly recent: RecentRecords
  readonly delivery: GroupDelivery
  readonly #clock: Clock
  #group: RaftGroup | undefined

  constructor(options: PartitionHostOptions) {
    this.topic = options.topic
    this.partition = options.partition
    this.#clock = options.clock
    this.recent = new RecentRecords(options.recentRecordsBytesMax)
    this.delivery = new GroupDelivery({
      host: this,
      clock: options.clock,
      produceDeadLetter: options.produceDeadLetter,
      memberSessionTimeoutMs: options.memberSessionTimeoutMs,
    })
  }

  attach(group: RaftGroup): void {
    this.#group = group
  }

  get group(): RaftGroup {
    if (this.#group === undefined) throw new LaminarError('INTERNAL', 'partition group not started')
    return this.#group
  }

  get leader(): NodeId | null {
    const leader = this.#group?.leader ?? ''
    return leader === '' ? null : leader
  }

  applyCommand(index: number, bytes: Uint8Array): PartitionResult | undefined {
    const command = decodePartitionCommand(bytes)
    const result = this.stateMachine.apply(index, command)
    if (command.type === 'append' && result.type === 'append' && !result.duplicate) {
      // Only the leader keeps the window (of batches, decoded when read): linearizable reads and
      // deliveries are served there, and a follower's stale reads scan the log. Apply reads the
      // batch header only, so a replica that never serves a record never builds one.
      if (this.#group?.isLeader === true) this.recent.append(result.baseOffset, command.batch)
      this.delivery.onAppended(result.baseOffset, command.batch)
    } else if (result.type !== 'error') {
      this.delivery.onGroupCommand(command)
    }
    return result
  }

  restoreSnapshot(data: Uint8Array): void {
    this.stateMachine.restore(data)
    this.recent.clear(this.stateMachine.endOffset)
  }

  /**
   * Retention: when the oldest segment is past the topic's size or age limit, snapshot the
   * state machine at the applied index (so Raft can still catch a lagging replica up), let the
   * log drop whole old segments, and move the partition's log start past them. Local to each
   * replica, as Kafka's is.
   */
  async applyRetention(nowMs: number): Promise<void> {
    const store = this.group.log
    if (!(store instanceof SegmentedGroupLog)) return
    const log = store.log
    const segments = log.segments()
    const oldest = segments[0]
    if (oldest === undefined || segments.length < 2) return
    const { retentionBytes, retentionMs } = this.topic.config
    const overSize = retentionBytes > 0 && log.totalBytes() > retentionBytes
    const overAge = retentionMs > 0 && oldest.lastTimestampMs < nowMs - retentionMs
    if (!overSize && !overAge) return
    const applied = this.group.appliedIndex
    if (applied > log.snapshot().metadata.index && applied >= log.firstIndex()) {
      await log.createSnapshot({
        metadata: { index: applied, term: log.term(applied), confState: this.group.raft.status().config },
        data: this.stateMachine.snapshot(),
      })
    }
    const before = log.firstIndex()
    await log.applyRetention({
      nowMs,
      retainFromIndexMin: Math.min(applied, log.snapshot().metadata.index) + 1,
    })
    if (log.firstIndex() === before) return
    this.stateMachine.truncatePrefix(log.firstIndex())
    this.delivery.onLogStartOffset(this.stateMachine.logStartOffset)
  }

  onRoleChange(isLeader: boolean): void {
    // A follower frees its window; a new leader starts one at its next append.
    if (!isLeader) this.recent.clear(this.stateMachine.endOffset)
    this.delivery.onRoleChange(isLeader)
  }

  /** Proposes a partition command on the leader; error results become LaminarErrors. */
  async propose(command: PartitionCommand): Promise<PartitionResult> {
    const result = (await this.group.proposeEncoded((prefixBytes) =>
      encodePartitionCommand(command, prefixBytes),
    )) as PartitionResult | undefined
    if (result === undefined) throw new LaminarError('INTERNAL', `partition ignored ${command.type}`)
    if (result.type === 'error') {
      throw new LaminarError(result.code, result.message, {
        details: { topic: this.topic.name, partition: this.partition, command: command.type },
      })
    }
    return result
  }

  /**
   * Appends a record batch (codec/record-batch bytes, as the producer encoded them); resolves
   * with its offsets once committed and applied. The batch is checked whole here, once, on the
   * leader: apply on every replica then trusts its header.
   */
  async produce(producerId: string | null, sequence: number, batchBytes: Uint8Array): Promise<ProduceResult> {
    if (!this.group.isLeader) throw this.group.notLeader()
    const maxMessageBytes = this.topic.config.maxMessageBytes
    let batch: RecordBatch
    let largestBytes: number
    try {
      batch = new RecordBatch(batchBytes)
      largestBytes = batch.validate()
    } catch (cause) {
      throw new LaminarError('INVALID_ARGUMENT', `malformed record batch: ${(cause as Error).message}`, {
        cause,
      })
    }
    if (largestBytes > maxMessageBytes) {
      throw new LaminarError(
        'MESSAGE_TOO_LARGE',
        `record of ${largestBytes} bytes exceeds ${maxMessageBytes}`,
        {
          details: { topic: this.topic.name, maxMessageBytes, recordBytes: largestBytes },
        },
      )
    }
    if (batch.count > 0 && !(batch.timestampMsMin > 0)) {
      // Records without a producer timestamp get the leader's (rare: producers stamp their own).
      const nowMs = this.#clock.now()
      const records = batch.records()
      for (const record of records) if (!(record.timestampMs > 0)) record.timestampMs = nowMs
      batch = RecordBatch.encode(records)
    }
    const command: AppendCommand = { type: 'append', batch }
    if (producerId !== null) {
      command.producerId = producerId
      command.sequence = sequence
    }
    const result = await this.propose(command)
    if (result.type !== 'append')
      throw new LaminarError('INTERNAL', 'append answered with a non-append result')
    return { baseOffset: result.baseOffset, count: result.count, duplicate: result.duplicate }
  }

  /** Committed records from `fromOffset`: any replica can answer (reads from followers). */
  async read(fromOffset: number, maxMessages: number, maxBytes: number): Promise<ReadResult> {
    const sm = this.stateMachine
    const endOffset = sm.endOffset
    const logStartOffset = sm.logStartOffset
    if (fromOffset < logStartOffset) {
      throw new LaminarError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${fromOffset} is below the log start ${logStartOffset}`,
        {
          details: { fromOffset, logStartOffset, endOffset },
        },
      )
    }
    if (fromOffset >= endOffset) return { records: [], nextOffset: fromOffset, endOffset, logStartOffset }
    let records: StoredRecord[]
    if (fromOffset >= this.recent.firstOffset && fromOffset < this.recent.endOffset) {
      records = this.recent.read(fromOffset, maxMessages, maxBytes)
    } else {
      records = await this.#scan(fromOffset, maxMessages, maxBytes)
    }
    const last = records[records.length - 1]
    return {
      records,
      nextOffset: last === undefined ? fromOffset : last.offset + 1,
      endOffset,
      logStartOffset,
    }
  }

  /** One record by offset (for deliveries): from the recent window, else from the log. */
  async record(offset: number): Promise<WireRecord | undefined> {
    const cached = this.recent.get(offset)
    if (cached !== undefined) return cached
    const [found] = await this.#scan(offset, 1, SCAN_BYTES)
    return found?.offset === offset ? found : undefined
  }

  /**
   * Records for deliveries that left the recent window. Consumers behind the head ask for
   * offsets a few at a time; reading the log for each ask would decode the same entries over and
   * over, so a read-ahead window (READ_AHEAD_MESSAGES, bounded by READ_AHEAD_BYTES) is loaded
   * once and served from, and concurrent asks share one load.
   */
  async readRange(fromOffset: number, count: number): Promise<StoredRecord[]> {
    for (;;) {
      const window = this.#readAhead
      if (
        window !== undefined &&
        fromOffset >= window.from &&
        fromOffset < window.from + window.records.length
      ) {
        const start = fromOffset - window.from
        return window.records.slice(start, start + count)
      }
      const loading = this.#readAheadLoading
      if (loading !== undefined && fromOffset >= loading.from && fromOffset < loading.to) {
        await loading.promise
        if (this.#readAhead === undefined || this.#readAhead.from > fromOffset) break
        continue
      }
      break
    }
    const to = fromOffset + Math.max(count, READ_AHEAD_MESSAGES)
    const promise = this.read(fromOffset, to - fromOffset, READ_AHEAD_BYTES).then(({ records }) => {
      if (records.length > 0) this.#readAhead = { from: records[0]!.offset, records }
    })
    this.#readAheadLoading = { from: fromOffset, to, promise }
    try {
      await promise
    } finally {
      if (this.#readAheadLoading?.promise === promise) this.#readAheadLoading = undefined
    }
    const window = this.#readAhead
    if (window === undefined || fromOffset < window.from) return []
    const start = fromOffset - window.from
    return window.records.slice(start, start + count)
  }

  #readAhead: { from: number; records: StoredRecord[] } | undefined
  #readAheadLoading: { from: number; to: number; promise: Promise<void> } | undefined

  async readKeys(fromOffset: number, count: number): Promise<Array<Uint8Array | null>> {
    const { records } = await this.read(fromOffset, count, 64 * 1024 * 1024)
    const keys: Array<Uint8Array | null> = []
    for (const record of records) {
      if (record.offset !== fromOffset + keys.length) break
      keys.push(record.key)
    }
    return keys
  }

  /** Walks the Raft log from the nearest indexed append entry, decoding appends only. */
  async #scan(fromOffset: number, maxMessages: number, maxBytes: number): Promise<StoredRecord[]> {
    const sm = this.stateMachine
    const location = sm.locate(fromOffset)
    if (location === undefined) return []
    const out: StoredRecord[] = []
    let bytes = 0
    let cursor = location.offset
    let index = location.index
    const lastIndex = this.group.appliedIndex
    while (index <= lastIndex && out.length < maxMessages && bytes < maxBytes) {
      // Big steps for big reads (fewer storage round trips); small ones for a single record.
      const entries = await this.group.log.readEntries(
        index,
        lastIndex + 1,
        Math.min(SCAN_BYTES, Math.max(maxBytes, SCAN_BYTES_MIN)),
      )
      if (entries.length === 0) break
      for (const entry of entries) {
        index = entry.index + 1
        if (entry.type !== 'normal' || entry.data.length === 0) continue
        const { command } = decodeProposal(entry.data)
        if (peekCommandType(command) !== 'append' || sm.isSkippedAppend(entry.index)) continue
        const append = decodePartitionCommand(command) as AppendCommand
        for (const record of decodeRecords(append.batch)) {
          const offset = cursor++
          if (offset < fromOffset) continue
          if (out.length >= maxMessages || (bytes >= maxBytes && out.length > 0)) break
          bytes += recordBytes(record)
          // A literal of one shape, not a spread: this runs for every record read from the log.
          out.push({
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestampMs: record.timestampMs,
            offset,
          })
        }
        if (out.length >= maxMessages || bytes >= maxBytes) break
      }
    }
    return out
  }

  /** The first offset whose timestamp may be at or after `timestampMs` (sparse index). */
  offsetForTime(timestampMs: number): number {
    return this.stateMachine.offsetForTime(timestampMs)
  }

  stop(): void {
    this.delivery.stop()
  }
}

/** A logged batch's records; malformed bytes in the log are STORAGE_CORRUPT. */
function decodeRecords(batch: RecordBatch): WireRecord[] {
  try {
    return batch.records()
  } catch (cause) {
    throw new LaminarError('STORAGE_CORRUPT', `record batch: ${(cause as Error).message}`, { cause })
  }
}
