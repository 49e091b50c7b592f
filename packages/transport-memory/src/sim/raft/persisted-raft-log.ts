import {
  bootstrapConfState,
  type ConfState,
  type Entry,
  type HardState,
  type LogStorage,
  NONE,
  type NodeId,
  RaftLogError,
  type Ready,
  type Snapshot,
  STORAGE_RANGE_LIMIT_MAX,
  type Storage,
  type StorageOperation,
} from '@laminar-ts/core'
import { pack, unpack } from 'msgpackr'
import type { DurableChange } from '../simulated-storage'
import { digestBytes } from '../trace-hash'
import type { RaftLogBackend } from './raft-log-backend'
import { decodeSegmentedEntryChange } from './segmented-raft-log'

/** Key of the hard state. */
const HARD_STATE_KEY = Uint8Array.of(0x01)
/** Entry keys: 0x02 then the index as 8 bytes big-endian, so keys sort by index. */
const ENTRY_PREFIX = 0x02

/**
 * The Raft process's log: Raft's LogStorage view over an in-memory copy of the entries, kept
 * in step with a Storage. The host persists a Ready (`persistOperations`), and only once that
 * write resolved does it make the Ready visible to Raft (`acceptPersisted`).
 * No compaction: the sim's runs are short, and firstIndex stays 1.
 *
 * Invariant: `entries[i].index === i + 1`.
 */
export class PersistedRaftLog implements LogStorage, RaftLogBackend {
  #hardState: HardState
  readonly recoveredHardState: HardState
  readonly #storage: Storage
  readonly #confState: ConfState
  readonly #entries: Entry[]
  /** Content digests, parallel to `#entries`, computed once per entry for the checkers. */
  readonly #digests: string[]

  private constructor(storage: Storage, hardState: HardState, confState: ConfState, entries: Entry[]) {
    this.#storage = storage
    this.#hardState = hardState
    this.recoveredHardState = { ...hardState }
    this.#confState = confState
    this.#entries = entries
    this.#digests = entries.map((entry) => digestBytes(entry.data))
  }

  /** Rebuild from storage (empty storage: a fresh node). Every node of `voters` votes. */
  static async load(storage: Storage, voters: readonly NodeId[]): Promise<PersistedRaftLog> {
    const hardStateBytes = await storage.get(HARD_STATE_KEY)
    const hardState: HardState =
      hardStateBytes === undefined
        ? { term: 0, vote: NONE, commit: 0 }
        : (unpack(hardStateBytes) as HardState)
    const entries: Entry[] = []
    let gte = entryKey(1)
    const lt = Uint8Array.of(ENTRY_PREFIX + 1)
    for (;;) {
      const page = await storage.range({ gte, lt, limit: STORAGE_RANGE_LIMIT_MAX })
      for (const { key, value } of page) {
        const index = entryIndex(key)
        if (index !== entries.length + 1) break
        entries.push(decodeEntry(index, value))
      }
      if (page.length < STORAGE_RANGE_LIMIT_MAX) break
      gte = entryKey(entries.length + 1)
    }
    // A commit beyond the surviving log cannot be trusted (it was never synced with it).
    hardState.commit = Math.min(hardState.commit, entries.length)
    const confState = bootstrapConfState([...voters])
    return new PersistedRaftLog(storage, hardState, confState, entries)
  }

  get logStorage(): LogStorage {
    return this
  }

  async persist(ready: Ready, sync: boolean): Promise<void> {
    const operations = this.persistOperations(ready)
    if (operations.length > 0 || sync) await this.#storage.write(operations, { sync })
    this.acceptPersisted(ready)
  }

  snapshotForChecks(): Array<{ term: number; digest: string }> {
    return this.#entries.map((entry, i) => ({ term: entry.term, digest: this.#digests[i]! }))
  }

  /** The storage batch that makes `ready` durable: hard state, and entries (truncating a conflicting suffix). */
  persistOperations(ready: Ready): StorageOperation[] {
    const operations: StorageOperation[] = []
    if (ready.hardState !== undefined) {
      operations.push({ type: 'put', key: HARD_STATE_KEY, value: pack(ready.hardState) })
    }
    const first = ready.entries[0]
    if (first !== undefined) {
      const newLast = ready.entries[ready.entries.length - 1]!.index
      for (let index = newLast + 1; index <= this.#entries.length; index++) {
        operations.push({ type: 'del', key: entryKey(index) })
      }
      for (const entry of ready.entries) {
        operations.push({ type: 'put', key: entryKey(entry.index), value: encodeEntry(entry) })
      }
    }
    return operations
  }

  /** After the write of `persistOperations(ready)` resolved: Raft may now read what it holds. */
  acceptPersisted(ready: Ready): void {
    if (ready.hardState !== undefined) this.#hardState = { ...ready.hardState }
    const first = ready.entries[0]
    if (first === undefined) return
    if (first.index > this.#entries.length + 1) {
      throw new Error(`log gap: appending ${first.index} after ${this.#entries.length}`)
    }
    this.#entries.length = first.index - 1
    this.#digests.length = first.index - 1
    for (const entry of ready.entries) {
      this.#entries.push(entry)
      this.#digests.push(digestBytes(entry.data))
    }
  }

  get hardState(): HardState {
    return this.#hardState
  }

  /** Terms by index (position 0 is index 1), for the checkers. */
  terms(): number[] {
    return this.#entries.map((entry) => entry.term)
  }

  entry(index: number): Entry | undefined {
    return this.#entries[index - 1]
  }

  /** The digest of the entry at `index` (see {@link digestBytes}). */
  digest(index: number): string | undefined {
    return this.#digests[index - 1]
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.#hardState }, confState: structuredClone(this.#confState) }
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < 1) throw new RaftLogError('compacted')
    if (hi > this.#entries.length + 1) throw new RaftLogError('unavailable')
    const result: Entry[] = []
    let bytes = 0
    for (let index = lo; index < hi; index++) {
      const entry = this.#entries[index - 1]!
      bytes += entry.data.byteLength
      if (result.length > 0 && bytes > maxBytes) break
      result.push(entry)
    }
    return result
  }

  term(index: number): number {
    if (index === 0) return 0
    if (index < 0) throw new RaftLogError('compacted')
    const entry = this.#entries[index - 1]
    if (entry === undefined) throw new RaftLogError('unavailable')
    return entry.term
  }

  lastIndex(): number {
    return this.#entries.length
  }

  firstIndex(): number {
    return 1
  }

  snapshot(): Snapshot {
    return {
      metadata: { index: 0, term: 0, confState: structuredClone(this.#confState) },
      data: new Uint8Array(0),
    }
  }
}

/**
 * What one node's disk durably holds of its Raft log, rebuilt from the changes the simulated
 * disk reports. The checkers read it; the process never does.
 */
export class DurableRaftMirror {
  readonly terms = new Map<number, number>()
  hardState: HardState = { term: 0, vote: NONE, commit: 0 }
  /** Highest index on disk (entries are contiguous from 1: appends and suffix truncations only). */
  lastIndex = 0

  /** Term of the last entry on disk (0 when empty): what a vote request is judged by. */
  get lastTerm(): number {
    return this.terms.get(this.lastIndex) ?? 0
  }

  apply(changes: readonly DurableChange[]): void {
    for (const change of changes) {
      if (change.type === 'clear') continue
      const key = change.key
      const segmented = decodeSegmentedEntryChange(key, change.type === 'put' ? change.value : undefined)
      if (segmented !== undefined) {
        // A chunk write replaces the log from its first index on.
        for (let index = this.lastIndex; index >= segmented.firstIndex; index--)
          this.#setTerm(index, undefined)
        for (let i = 0; i < segmented.terms.length; i++)
          this.#setTerm(segmented.firstIndex + i, segmented.terms[i])
        continue
      }
      if (key.length === 1 && key[0] === HARD_STATE_KEY[0]) {
        if (change.type === 'put') this.hardState = unpack(change.value) as HardState
      } else if (key[0] === ENTRY_PREFIX && key.length === 9) {
        this.#setTerm(entryIndex(key), change.type === 'put' ? entryTerm(change.value) : undefined)
      }
    }
  }

  /** Record the entry at `index` as having `term` on disk, or as gone (undefined). */
  #setTerm(index: number, term: number | undefined): void {
    if (term !== undefined) {
      this.terms.set(index, term)
      if (index > this.lastIndex) this.lastIndex = index
    } else {
      this.terms.delete(index)
      while (this.lastIndex > 0 && !this.terms.has(this.lastIndex)) this.lastIndex--
    }
  }

  /** The durable log holds an entry at `index` of `term`. */
  has(index: number, term: number): boolean {
    return this.terms.get(index) === term
  }
}

function entryKey(index: number): Uint8Array {
  const key = new Uint8Array(9)
  key[0] = ENTRY_PREFIX
  const view = new DataView(key.buffer)
  view.setUint32(1, Math.floor(index / 0x1_0000_0000))
  view.setUint32(5, index >>> 0)
  return key
}

function entryIndex(key: Uint8Array): number {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
  return view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5)
}

/** Entry value: term (8 bytes big-endian), type (1 byte: 0 normal, 1 confChange), data. */
const ENTRY_HEADER_BYTES = 9

function encodeEntry(entry: Entry): Uint8Array {
  const value = new Uint8Array(ENTRY_HEADER_BYTES + entry.data.byteLength)
  const view = new DataView(value.buffer)
  view.setUint32(0, Math.floor(entry.term / 0x1_0000_0000))
  view.setUint32(4, entry.term >>> 0)
  value[8] = entry.type === 'normal' ? 0 : 1
  value.set(entry.data, ENTRY_HEADER_BYTES)
  return value
}

function entryTerm(value: Uint8Array): number {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  return view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4)
}

function decodeEntry(index: number, value: Uint8Array): Entry {
  return {
    index,
    term: entryTerm(value),
    type: value[8] === 0 ? 'normal' : 'confChange',
    data: value.slice(ENTRY_HEADER_BYTES),
  }
}
