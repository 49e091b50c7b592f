import { LaminarError } from '../errors/laminar-error'
import type { StorageClearOptions, StorageOperation } from '../ports/storage'
import { type Entry, type HardState, RaftLogError, type Snapshot } from '../raft/types'
import type { EntryCache } from './entry-cache'
import type { LogKeys } from './keys'
import type { ReadCursor } from './read-stored'
import type { LogStart, SegmentRow } from './records'
import type { TermRuns } from './term-runs'

/** Tuning of one {@link SegmentedLog}; every field has a default. */
export interface SegmentedLogOptions {
  /** A segment rolls once its stored bytes reach this. Default 64 MiB. */
  segmentBytesMax?: number
  /** A segment rolls once its first entry is this old (by append timestamps). Default 1 day. */
  segmentAgeMsMax?: number
  /** Bound on entry bytes held in memory for Raft's synchronous reads. Default 32 MiB. */
  entryCacheBytesMax?: number
  /**
   * Bound on the cache while what it holds over `entryCacheBytesMax` is entries the host has not
   * applied yet ({@link SegmentedLog.retainFrom}): a pipelined group applies from the cache
   * instead of waiting for storage loads. Default 64 MiB (never below entryCacheBytesMax).
   */
  entryCacheRetainedBytesMax?: number
  /**
   * Entries of one write are stored as chunks of up to this many bytes (one stored value each,
   * each entry still checksummed on its own): sequential reads decode whole chunks, and a
   * truncation inside one rewrites its prefix. Default 128 KiB.
   */
  chunkBytesMax?: number
  /** One time index point every this many entries of a segment. Default 256. */
  timeIndexIntervalEntries?: number
  /** Retention drops oldest segments while the log holds more bytes than this. Default: unbounded. */
  retentionBytesMax?: number
  /** Retention drops segments whose newest entry is older than this. Default: unbounded. */
  retentionAgeMsMax?: number
  /**
   * Recovery verifies this many entries at the tail (plus checks for any past the table), and
   * keeps them cached. Every read verifies checksums anyway; this bounds the work of opening
   * many logs at node start. Default 256.
   */
  recoveryVerifyEntries?: number
}

export type ResolvedLogOptions = Required<SegmentedLogOptions>

const MIB = 1024 * 1024

export function resolveLogOptions(options: SegmentedLogOptions = {}): ResolvedLogOptions {
  const resolved: ResolvedLogOptions = {
    segmentBytesMax: options.segmentBytesMax ?? 64 * MIB,
    segmentAgeMsMax: options.segmentAgeMsMax ?? 24 * 60 * 60 * 1000,
    chunkBytesMax: options.chunkBytesMax ?? 128 * 1024,
    entryCacheBytesMax: options.entryCacheBytesMax ?? 32 * MIB,
    entryCacheRetainedBytesMax: options.entryCacheRetainedBytesMax ?? 64 * MIB,
    timeIndexIntervalEntries: options.timeIndexIntervalEntries ?? 256,
    retentionBytesMax: options.retentionBytesMax ?? Number.POSITIVE_INFINITY,
    retentionAgeMsMax: options.retentionAgeMsMax ?? Number.POSITIVE_INFINITY,
    recoveryVerifyEntries: options.recoveryVerifyEntries ?? 256,
  }
  for (const [name, value] of Object.entries(resolved)) {
    const integer = name === 'timeIndexIntervalEntries' || name === 'recoveryVerifyEntries'
    if (
      typeof value !== 'number' ||
      Number.isNaN(value) ||
      value <= 0 ||
      (integer && !Number.isInteger(value))
    ) {
      throw new LaminarError(
        'INVALID_ARGUMENT',
        `${name} must be a positive ${integer ? 'integer' : 'number'}`,
      )
    }
  }
  return resolved
}

/** A segment row plus its sparse time index (parallel arrays, ascending). */
export interface SegmentState extends SegmentRow {
  pointIndexes: number[]
  pointTimestampsMs: number[]
}

/**
 * The in-memory truth of one log, shared by the files that plan writes on it.
 * Invariants: firstIndex = start.index + 1 <= lastIndex + 1; segments are contiguous, the first
 * starts at firstIndex and the last ends at lastIndex (no segments when the log is empty);
 * snapshot.metadata.index <= lastIndex or the snapshot replaced the log.
 */
export interface LogState {
  readonly keys: LogKeys
  readonly options: ResolvedLogOptions
  hardState: HardState
  start: LogStart
  snapshot: Snapshot
  lastIndex: number
  segments: SegmentState[]
  termRuns: TermRuns
  cache: EntryCache
  /** Bumped whenever existing entries are removed or replaced; stale async loads compare it. */
  generation: number
  /** Timestamps are clamped to be non-decreasing so the time index can binary search. */
  lastTimestampMs: number
  /** The format key is in storage (or staged): a fresh log writes it with its first write. */
  formatWritten: boolean
  /** Where the last storage read stopped, so a sequential reader's next read needs no seek. */
  readCursor: ReadCursor | undefined
}

/**
 * Storage operations planned by a log, not yet written. A host may concatenate the
 * `operations` of many logs into one atomic `storage.write` (group commit); after that write it
 * must run `clearsAfterWrite` in order and then call `markWritten()` (or `markFailed(error)`).
 * {@link SegmentedLog.persist} and {@link GroupCommit} do all of that.
 */
export interface StagedWrite {
  readonly groupId: string
  readonly operations: StorageOperation[]
  /** Range clears of keys the write made unreachable (dropped segments); safe to skip on crash. */
  readonly clearsAfterWrite: StorageClearOptions[]
  /**
   * Completes `operations` from storage; the host awaits it just before the write, after this
   * log's earlier writes landed (rare: a truncation inside a chunk the cache no longer holds).
   */
  readonly prepare?: () => Promise<void>
  /** The write (and its clears) landed: staged entries may now leave the cache. */
  markWritten(): void
  /** The write failed: the log's memory is ahead of storage, so it refuses further writes. */
  markFailed(error: unknown): void
}

/** A write to stage on one log: what a Raft Ready asks the host to persist. */
export interface LogWrite {
  hardState?: HardState
  /** Entries to append; a conflicting suffix of the log is truncated first (Raft semantics). */
  entries?: readonly Entry[]
  /** A snapshot received from the leader: it replaces the log. */
  snapshot?: Snapshot
  /** The host's clock.now() for these entries; required with entries. */
  timestampMs?: number
}

export function firstIndexOf(state: LogState): number {
  return state.start.index + 1
}

/** The term of the entry at `index`, as Raft's LogStorage.term answers (RaftLogError outside the log). */
export function termOf(state: LogState, index: number): number {
  if (index === state.start.index) return state.start.term
  if (index < state.start.index) throw new RaftLogError('compacted')
  if (index > state.lastIndex) throw new RaftLogError('unavailable')
  return state.termRuns.termAt(index)!
}

/** Stored bytes of the log (keys + values of its entries). */
export function totalBytesOf(state: LogState): number {
  let bytes = 0
  for (const segment of state.segments) bytes += segment.bytes
  return bytes
}
