import {
  bootstrapConfState,
  bootstrappedLogStorage,
  type ConfState,
  decodeEntryChunkChange,
  type Entry,
  type HardState,
  LogKeys,
  type LogStorage,
  type NodeId,
  RaftLogError,
  type Ready,
  SegmentedLog,
  type Storage,
} from '@laminar-ts/core'
import { digestBytes } from '../trace-hash'
import type { RaftLogBackend } from './raft-log-backend'

/** The group id of the Raft process's log inside the node's storage. */
export const SIM_RAFT_GROUP_ID = 'raft'

/** Entries Raft may read synchronously: the sim's logs are small, keep them all cached. */
const ENTRY_CACHE_BYTES_MAX = 256 * 1024 * 1024

/**
 * The Raft process's log on core's SegmentedLog: the same segmented, checksummed commit log a
 * LaminarNode partition uses, with its crash recovery, on the simulated disk.
 */
export class SegmentedRaftLog implements RaftLogBackend {
  readonly logStorage: LogStorage
  readonly recoveredHardState: HardState
  readonly #log: SegmentedLog
  readonly #now: () => number

  private constructor(log: SegmentedLog, bootstrap: ConfState, now: () => number) {
    this.#log = log
    this.#now = now
    this.recoveredHardState = log.hardState()
    this.logStorage = bootstrappedLogStorage(log, bootstrap)
  }

  static async open(
    storage: Storage,
    voters: readonly NodeId[],
    now: () => number,
  ): Promise<SegmentedRaftLog> {
    const log = await SegmentedLog.open(storage, SIM_RAFT_GROUP_ID, {
      entryCacheBytesMax: ENTRY_CACHE_BYTES_MAX,
      // Small segments, so runs roll segments and recovery crosses segment boundaries.
      segmentBytesMax: 4 * 1024,
    })
    return new SegmentedRaftLog(log, bootstrapConfState([...voters]), now)
  }

  persist(ready: Ready, sync: boolean): Promise<void> {
    if (ready.hardState === undefined && ready.entries.length === 0) return Promise.resolve()
    return this.#log.persist(
      { hardState: ready.hardState, entries: ready.entries, timestampMs: this.#now() },
      { sync },
    )
  }

  lastIndex(): number {
    return this.#log.lastIndex()
  }

  terms(): number[] {
    const terms: number[] = []
    for (let index = this.#log.firstIndex(); index <= this.#log.lastIndex(); index++) {
      terms.push(this.#log.term(index))
    }
    return terms
  }

  /**
   * Undefined while part of the log is not in the entry cache (a read from storage is started):
   * the check is skipped this round rather than blocking or reading a partial log.
   */
  snapshotForChecks(): Array<{ term: number; digest: string }> | undefined {
    const snapshot: Array<{ term: number; digest: string }> = []
    const last = this.#log.lastIndex()
    for (let next = this.#log.firstIndex(); next <= last; ) {
      let entries: Entry[]
      try {
        entries = this.#log.entries(next, last + 1, Number.MAX_SAFE_INTEGER)
      } catch (error) {
        if (error instanceof RaftLogError && error.kind === 'temporarilyUnavailable') return undefined
        throw error
      }
      for (const entry of entries) snapshot.push({ term: entry.term, digest: digestBytes(entry.data) })
      next += entries.length
    }
    return snapshot
  }
}

/**
 * Reads a SegmentedLog entry chunk change from the disk (for the durable mirror): the sim's Raft
 * group's log from `firstIndex` on is replaced by entries of `terms` (empty for a delete), or
 * undefined for any other key.
 */
export function decodeSegmentedEntryChange(
  key: Uint8Array,
  value: Uint8Array | undefined,
): { firstIndex: number; terms: number[] } | undefined {
  keysCache ??= new LogKeys(SIM_RAFT_GROUP_ID)
  return decodeEntryChunkChange(keysCache, key, value)
}

let keysCache: LogKeys | undefined
