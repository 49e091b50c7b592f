import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import { type ConfState, type Entry, type HardState, RaftLogError, type Snapshot } from '../raft/types'
import { planCreateSnapshot } from './create-snapshot'
import { type EntriesLoadedEvent, EntryLoader } from './entry-loader'
import { LogKeys } from './keys'
import {
  firstIndexOf,
  type LogState,
  type LogWrite,
  resolveLogOptions,
  type SegmentedLogOptions,
  type StagedWrite,
  termOf,
  totalBytesOf,
} from './log-state'
import { PendingWrites } from './pending-writes'
import { readEntriesForReader, takeCached } from './read-entries'
import type { SegmentRow } from './records'
import { type RecoveryReport, recoverLog } from './recovery'
import { segmentsToCompact, segmentsToRetire } from './retention'
import { emptyPlan, planDropOldestSegments, planWrite } from './staging'
import { findFirstIndexAtOrAfter } from './time-index'
import { WriteChain } from './write-chain'

/** What {@link SegmentedLog.applyRetention} dropped. */
export interface RetentionResult {
  segmentsDropped: number
  bytesDropped: number
  firstIndex: number
}

/**
 * A partition's Raft log, which is also its commit log: entries keyed by index under the group's
 * prefix in a shared {@link Storage}, grouped into segments that roll by size or age and are
 * dropped whole by retention. Implements Raft's synchronous LogStorage from memory (term runs, a
 * bounded entry cache); a cache miss starts an async load and throws
 * RaftLogError('temporarilyUnavailable'), and {@link onEntriesLoaded} tells the host to wake Raft.
 *
 * Writes are staged ({@link stage}) so a host can group-commit many logs in one storage write;
 * staged writes must be written in the order they were staged.
 */
export class SegmentedLog {
  readonly groupId: string
  readonly storage: Storage
  /** What recovery found when this log was opened. */
  readonly recovery: RecoveryReport
  readonly #state: LogState
  readonly #loader: EntryLoader
  readonly #pending: PendingWrites
  readonly #chain: WriteChain

  private constructor(storage: Storage, state: LogState, recovery: RecoveryReport) {
    this.storage = storage
    this.groupId = state.keys.groupId
    this.#state = state
    this.recovery = recovery
    this.#loader = new EntryLoader(storage, state, () => this.#evict())
    this.#pending = new PendingWrites(storage, state, () => this.#evict())
    this.#chain = new WriteChain(storage, this.groupId)
  }

  /**
   * Opens (or creates) the log of `groupId` in an open `storage`: reads the hard state, snapshot
   * and segment table, verifies the tail and cuts a torn one. Throws STORAGE_CORRUPT for
   * corruption it must not repair silently, INVALID_ARGUMENT for bad options.
   */
  static async open(
    storage: Storage,
    groupId: string,
    options: SegmentedLogOptions = {},
  ): Promise<SegmentedLog> {
    const keys = new LogKeys(groupId)
    const { state, report } = await recoverLog(storage, keys, resolveLogOptions(options))
    return new SegmentedLog(storage, state, report)
  }

  // --- Raft's LogStorage (synchronous, from memory) ---

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.#state.hardState }, confState: this.#state.snapshot.metadata.confState }
  }

  /** Entries in [lo, hi), at most `maxBytes` of data but at least one. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.#checkRange(lo, hi)
    if (lo === hi) return []
    const cached = takeCached(this.#state, lo, hi, maxBytes)
    if (cached.length > 0) return cached
    this.#loader.start(lo, hi)
    throw new RaftLogError('temporarilyUnavailable', `entries from ${lo} of ${this.groupId} are loading`)
  }

  term(index: number): number {
    return termOf(this.#state, index)
  }

  firstIndex(): number {
    return firstIndexOf(this.#state)
  }

  lastIndex(): number {
    return this.#state.lastIndex
  }

  /**
   * The latest snapshot (received or created); index 0 when there is none. Throws
   * RaftLogError('snapshotTemporarilyUnavailable') when retention dropped entries the snapshot
   * does not cover (snapshot index < firstIndex - 1): sending it would strand a follower in a
   * loop of stale snapshots, so Raft waits until the host creates a newer one.
   */
  snapshot(): Snapshot {
    const state = this.#state
    if (state.snapshot.metadata.index < state.start.index) {
      throw new RaftLogError(
        'snapshotTemporarilyUnavailable',
        `snapshot ${state.snapshot.metadata.index} of ${this.groupId} does not reach the log start ${state.start.index}`,
      )
    }
    return state.snapshot
  }

  // --- Inspection ---

  /** The latest snapshot as stored, even when it does not reach the log start (see {@link snapshot}). */
  latestSnapshot(): Snapshot {
    return this.#state.snapshot
  }

  hardState(): HardState {
    return { ...this.#state.hardState }
  }

  /** The segment table, oldest first (copies). */
  segments(): SegmentRow[] {
    return this.#state.segments.map(({ baseIndex, lastIndex, bytes, firstTimestampMs, lastTimestampMs }) => ({
      baseIndex,
      lastIndex,
      bytes,
      firstTimestampMs,
      lastTimestampMs,
    }))
  }

  /** Stored bytes of all entries (keys + values), as counted by the segment table. */
  totalBytes(): number {
    return totalBytesOf(this.#state)
  }

  /** Bytes of entries held in memory. */
  cachedBytes(): number {
    return this.#state.cache.bytes
  }

  // --- Writes ---

  /**
   * Plans a write (snapshot, then entries, then hard state) and applies it to memory at once;
   * returns the storage operations for the host to write (see {@link StagedWrite}).
   * Entries conflicting with the log's suffix truncate it first. Throws INVALID_ARGUMENT.
   */
  stage(write: LogWrite): StagedWrite {
    this.#pending.assertWritable()
    return this.#pending.toStaged(planWrite(this.#state, write))
  }

  /** Stages `write` and writes it (after any earlier write of this log), then releases it. */
  async persist(write: LogWrite, options: { sync?: boolean } = {}): Promise<void> {
    this.#chain.assertRoom()
    await this.writeStaged(this.stage(write), options.sync === true)
  }

  /**
   * Writes a staged write of this log in order with its other writes (those of persist,
   * createSnapshot, compact, applyRetention; GroupCommit keeps its own order).
   */
  writeStaged(staged: StagedWrite, sync: boolean): Promise<void> {
    return this.#chain.write(staged, sync)
  }

  /**
   * Records a snapshot the host took of its state machine at `snapshot.metadata.index` (within the
   * log). Entries stay: {@link compact} drops them. Throws INVALID_ARGUMENT for an index outside
   * the log, a wrong term or an index not newer than the current snapshot.
   */
  async createSnapshot(snapshot: Snapshot): Promise<void> {
    this.#chain.assertRoom()
    await this.writeStaged(this.stageCreateSnapshot(snapshot), true)
  }

  /**
   * {@link createSnapshot} as a staged write. A host that group-commits this log's Ready writes
   * must send this (and {@link stageCompact}, {@link stageRetention}) through the same
   * GroupCommit, so the log's writes reach storage in the order they were staged.
   */
  stageCreateSnapshot(snapshot: Snapshot): StagedWrite {
    this.#pending.assertWritable()
    return this.#pending.toStaged(planCreateSnapshot(this.#state, snapshot))
  }

  /**
   * Drops whole segments that end at or before `throughIndex` and the snapshot index (never the
   * active segment), with one range clear. Returns the new firstIndex.
   */
  async compact(throughIndex: number): Promise<number> {
    this.#chain.assertRoom()
    const staged = this.stageCompact(throughIndex)
    if (staged !== undefined) await this.writeStaged(staged, true)
    return this.firstIndex()
  }

  /** {@link compact} as a staged write; undefined when nothing is dropped. */
  stageCompact(throughIndex: number): StagedWrite | undefined {
    return this.#stageDropOldest(segmentsToCompact(this.#state, throughIndex))
  }

  /**
   * Drops the oldest whole segments while the log is over `retentionBytesMax` or a segment's
   * newest entry is older than `retentionAgeMsMax` at `nowMs` (the host's clock). Never drops an
   * entry at or after `retainFromIndexMin` (the host passes what Raft and readers still need,
   * e.g. the applied index + 1, and no further than its snapshot covers), nor the active segment.
   */
  async applyRetention(options: { nowMs: number; retainFromIndexMin: number }): Promise<RetentionResult> {
    this.#chain.assertRoom()
    const before = this.totalBytes()
    const { staged, segmentsDropped } = this.stageRetention(options)
    if (staged !== undefined) await this.writeStaged(staged, true)
    return { segmentsDropped, bytesDropped: before - this.totalBytes(), firstIndex: this.firstIndex() }
  }

  /** {@link applyRetention} as a staged write (undefined when nothing is dropped). */
  stageRetention(options: { nowMs: number; retainFromIndexMin: number }): {
    staged: StagedWrite | undefined
    segmentsDropped: number
  } {
    const count = segmentsToRetire(this.#state, options)
    return { staged: this.#stageDropOldest(count), segmentsDropped: count }
  }

  /**
   * Destroys the log: one range clear of every key under its group prefix, ordered after every
   * write staged before it when sent through the same path (GroupCommit or {@link writeStaged}).
   * From here on the log refuses writes (STORAGE_CLOSED); the host drops the object.
   */
  stageDestroy(): StagedWrite {
    const keys = this.#state.keys
    this.#pending.refuseWrites(new LaminarError('STORAGE_CLOSED', `log ${this.groupId} was destroyed`))
    return {
      groupId: this.groupId,
      operations: [],
      clearsAfterWrite: [{ gte: keys.prefix, lt: keys.groupEnd() }],
      markWritten: () => undefined,
      markFailed: () => undefined,
    }
  }

  /** {@link stageDestroy} written after this log's earlier {@link writeStaged} writes. */
  async destroy(): Promise<void> {
    await this.writeStaged(this.stageDestroy(), true)
  }

  /** Resolves once every write queued through {@link writeStaged} so far has landed or failed. */
  writesSettled(): Promise<void> {
    return this.#chain.settled()
  }

  // --- Readers ---

  /**
   * Entries in [lo, hi) for readers (consumers, followers catching up): from the cache where
   * present, else from storage, at most `maxBytes` of data but at least one entry.
   * Errors: LOG_COMPACTED below firstIndex, LOG_UNAVAILABLE past lastIndex, STORAGE_CORRUPT.
   */
  readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    return readEntriesForReader(this.storage, this.#state, lo, hi, maxBytes)
  }

  /**
   * The first index whose append timestamp is at or after `timestampMs`, or undefined when every
   * entry is older. Uses the segment table and the sparse time index, then reads at most one
   * index interval of entries.
   */
  firstIndexAtOrAfter(timestampMs: number): Promise<number | undefined> {
    return findFirstIndexAtOrAfter(this.storage, this.#state, this.#pending.unwritten, timestampMs)
  }

  /** Calls `listener` when an async load started by {@link entries} ends. Returns an unsubscribe. */
  onEntriesLoaded(listener: (event: EntriesLoadedEvent) => void): () => void {
    return this.#loader.listen(listener)
  }

  // --- Internals ---

  #checkRange(lo: number, hi: number): void {
    if (lo < firstIndexOf(this.#state)) throw new RaftLogError('compacted')
    if (hi > this.#state.lastIndex + 1) throw new RaftLogError('unavailable')
    if (lo > hi) throw new RaftLogError('unavailable', `invalid range [${lo}, ${hi})`)
  }

  /**
   * Entries from `index` on are not applied yet by the host: the cache keeps them past
   * `entryCacheBytesMax` (up to `entryCacheRetainedBytesMax`), since Raft hands committed
   * entries out for apply from it. Call with the applied index + 1 as apply moves on.
   */
  retainFrom(index: number): void {
    this.#retainedFromIndex = index
    this.#evict()
  }

  #retainedFromIndex = Number.POSITIVE_INFINITY

  #evict(): void {
    this.#state.cache.evict(this.#pending.pinnedFromIndex(), this.#retainedFromIndex)
  }

  #stageDropOldest(count: number): StagedWrite | undefined {
    if (count === 0) return undefined
    this.#pending.assertWritable()
    const plan = emptyPlan(this.#state.lastTimestampMs)
    planDropOldestSegments(this.#state, count, plan)
    return this.#pending.toStaged(plan)
  }
}
