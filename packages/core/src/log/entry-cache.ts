import type { Entry } from '../raft/types'
import { RECORD_HEADER_BYTES } from './records'

/** The bytes an entry is charged in the cache. */
export function cachedEntryBytes(entry: Entry): number {
  return entry.data.length + RECORD_HEADER_BYTES
}

/** A stored chunk within the cached tail: its first entry's index and its append timestamp. */
export interface TailChunk {
  firstIndex: number
  timestampMs: number
}

interface Window {
  firstIndex: number
  entries: Entry[]
  bytes: number
}

/** At most this many loaded windows (one per lagging reader position, roughly). */
const WINDOWS_MAX = 4

/**
 * The bounded in-memory copy of entries Raft reads synchronously: a tail (the newest entries,
 * contiguous up to lastIndex, filled by appends) and a few windows loaded from storage on demand
 * for followers or readers that lag behind the tail.
 *
 * The cache also knows how the tail is split into stored chunks (see keys.ts): Raft's suffix
 * truncation inside a chunk rewrites the chunk's prefix from these entries, synchronously.
 *
 * Invariants: `bytes <= bytesMax` after every `evict()`, except for pinned entries (staged but
 * not yet written, so storage cannot serve them) and, up to `retainedBytesMax`, retained ones (not
 * yet applied by the host); tail entries are contiguous; the known chunks
 * are whole (every entry of each is in the tail) and cover the tail from the first one's
 * firstIndex to its end.
 */
export class EntryCache {
  readonly bytesMax: number
  /**
   * Bound on the cache while the tail entries over `bytesMax` are retained ones: entries the host
   * has not applied yet, which Raft hands out for apply from here (a miss makes apply wait for a
   * storage load). So `bytesMax` bounds the history kept, not the pipeline of a busy group.
   */
  readonly retainedBytesMax: number
  #tail: Entry[] = []
  /** Index into #tail of its first live entry (front eviction without shifting). */
  #tailHead = 0
  #tailBytes = 0
  #windows: Window[] = []
  #windowBytes = 0
  #chunks: TailChunk[] = []
  /** Index into #chunks of the first live chunk. */
  #chunksHead = 0

  constructor(bytesMax: number, retainedBytesMax = bytesMax) {
    this.bytesMax = bytesMax
    this.retainedBytesMax = Math.max(bytesMax, retainedBytesMax)
  }

  get bytes(): number {
    return this.#tailBytes + this.#windowBytes
  }

  /** The first index held in the tail, or undefined when it is empty. */
  get tailFirstIndex(): number | undefined {
    return this.#tail[this.#tailHead]?.index
  }

  get(index: number): Entry | undefined {
    const first = this.tailFirstIndex
    if (first !== undefined && index >= first) return this.#tail[this.#tailHead + index - first]
    for (let w = 0; w < this.#windows.length; w++) {
      const window = this.#windows[w]!
      const entry = window.entries[index - window.firstIndex]
      if (entry !== undefined) {
        if (w > 0) {
          // Most recently used first: eviction takes from the end.
          this.#windows.splice(w, 1)
          this.#windows.unshift(window)
        }
        return entry
      }
    }
    return undefined
  }

  /**
   * Appends entries that directly follow the tail (the caller truncated any conflict first),
   * stored as `chunks` (ascending, the first starting at the first entry).
   */
  appendTail(entries: readonly Entry[], chunks: readonly TailChunk[]): void {
    const first = entries[0]
    if (first === undefined) return
    const last = this.#tail[this.#tail.length - 1]
    if (this.#tail.length === this.#tailHead || (last !== undefined && last.index + 1 !== first.index)) {
      // Empty or not contiguous (the log was compacted or replaced): restart the tail here.
      this.#tail = []
      this.#tailHead = 0
      this.#tailBytes = 0
      this.#chunks = []
      this.#chunksHead = 0
    }
    for (const entry of entries) {
      this.#tail.push(entry)
      this.#tailBytes += cachedEntryBytes(entry)
    }
    // Chunks the tail does not know the start of cannot be rewritten: forget the split until the
    // next known chunk boundary (a truncation there reads the chunk from storage instead).
    if (chunks[0]?.firstIndex !== first.index) {
      this.#chunks = []
      this.#chunksHead = 0
      return
    }
    for (const chunk of chunks) this.#chunks.push(chunk)
  }

  /** The first index of the first chunk the tail holds whole, or undefined. */
  get knownChunksFirstIndex(): number | undefined {
    return this.#chunks[this.#chunksHead]?.firstIndex
  }

  /**
   * The known chunk holding `index` and the first indexes of the known chunks after it, or
   * undefined when `index` is before the first known chunk.
   */
  chunksFrom(index: number): { containing: TailChunk; laterFirstIndexes: number[] } | undefined {
    const chunks = this.#chunks
    let lo = this.#chunksHead
    let hi = chunks.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (chunks[mid]!.firstIndex <= index) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    if (found < 0) return undefined
    const laterFirstIndexes: number[] = []
    for (let i = found + 1; i < chunks.length; i++) laterFirstIndexes.push(chunks[i]!.firstIndex)
    return { containing: chunks[found]!, laterFirstIndexes }
  }

  /** Forgets entries at or after `index` (a known chunk holding `index` keeps its prefix). */
  truncateFrom(index: number): void {
    const first = this.tailFirstIndex
    if (first !== undefined) {
      const keep = Math.max(0, index - first)
      while (this.#tail.length - this.#tailHead > keep) this.#tailBytes -= cachedEntryBytes(this.#tail.pop()!)
    }
    while (
      this.#chunks.length > this.#chunksHead &&
      this.#chunks[this.#chunks.length - 1]!.firstIndex >= index
    ) {
      this.#chunks.pop()
    }
    this.#windows = this.#windows.filter((window) => {
      const keep = Math.max(0, index - window.firstIndex)
      while (window.entries.length > keep) {
        const bytes = cachedEntryBytes(window.entries.pop()!)
        window.bytes -= bytes
        this.#windowBytes -= bytes
      }
      return window.entries.length > 0
    })
  }

  /** Forgets entries before `index`. */
  compactBefore(index: number): void {
    const first = this.tailFirstIndex
    if (first !== undefined && first < index) this.#evictTailTo(Math.min(index, this.#tailEndIndex()))
    this.#windows = this.#windows.filter((window) => {
      if (window.firstIndex + window.entries.length <= index) {
        this.#windowBytes -= window.bytes
        return false
      }
      return true
    })
  }

  /** Adds contiguous entries loaded from storage as a window (most recently used). */
  addWindow(entries: Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    let bytes = 0
    for (const entry of entries) bytes += cachedEntryBytes(entry)
    this.#windows.unshift({ firstIndex: first.index, entries, bytes })
    this.#windowBytes += bytes
    while (this.#windows.length > WINDOWS_MAX) this.#windowBytes -= this.#windows.pop()!.bytes
  }

  /**
   * Evicts until under the byte bound: least recently used windows first (the newest window is
   * the one a lagging reader is about to use), then the oldest tail entries (never one at or
   * after `pinnedFromIndex`, nor one at or after `retainedFromIndex` while the cache is within
   * `retainedBytesMax`), then the end of the newest window.
   */
  evict(pinnedFromIndex: number, retainedFromIndex = Number.POSITIVE_INFINITY): void {
    while (this.bytes > this.bytesMax && this.#windows.length > 1) {
      this.#windowBytes -= this.#windows.pop()!.bytes
    }
    while (this.bytes > this.bytesMax) {
      const first = this.tailFirstIndex
      if (first === undefined || first >= pinnedFromIndex) break
      if (first >= retainedFromIndex && this.bytes <= this.retainedBytesMax) break
      this.#evictTailTo(first + 1)
    }
    const newest = this.#windows[0]
    while (newest !== undefined && this.bytes > this.bytesMax && newest.entries.length > 1) {
      const bytes = cachedEntryBytes(newest.entries.pop()!)
      newest.bytes -= bytes
      this.#windowBytes -= bytes
    }
  }

  clear(): void {
    this.#tail = []
    this.#tailHead = 0
    this.#tailBytes = 0
    this.#windows = []
    this.#windowBytes = 0
    this.#chunks = []
    this.#chunksHead = 0
  }

  #tailEndIndex(): number {
    const first = this.tailFirstIndex
    return first === undefined ? 0 : first + this.#tail.length - this.#tailHead
  }

  #evictTailTo(index: number): void {
    let first = this.tailFirstIndex
    while (first !== undefined && first < index) {
      this.#tailBytes -= cachedEntryBytes(this.#tail[this.#tailHead]!)
      this.#tail[this.#tailHead] = undefined as unknown as Entry
      this.#tailHead++
      first = this.tailFirstIndex
    }
    // A chunk whose first entries left the tail can no longer be rewritten from memory.
    const tailFirst = this.tailFirstIndex ?? Number.POSITIVE_INFINITY
    while (this.#chunksHead < this.#chunks.length && this.#chunks[this.#chunksHead]!.firstIndex < tailFirst) {
      this.#chunksHead++
    }
    // Shift out the dead prefixes once they dominate, keeping eviction amortised O(1).
    if (this.#tailHead > 1024 && this.#tailHead * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailHead)
      this.#tailHead = 0
    }
    if (this.#chunksHead > 1024 && this.#chunksHead * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#chunksHead)
      this.#chunksHead = 0
    }
  }
}
