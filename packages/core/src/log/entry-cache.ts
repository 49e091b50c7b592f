import type { Entry } from '../raft/types'
import { ENTRY_HEADER_BYTES } from './records'

/** The bytes an entry is charged in the cache. */
export function cachedEntryBytes(entry: Entry): number {
  return entry.data.length + ENTRY_HEADER_BYTES
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
 * Invariants: `bytes <= bytesMax` after every `evict()`, except for pinned entries (staged but
 * not yet written, so storage cannot serve them); tail entries are contiguous.
 */
export class EntryCache {
  readonly bytesMax: number
  #tail: Entry[] = []
  /** Index into #tail of its first live entry (front eviction without shifting). */
  #tailHead = 0
  #tailBytes = 0
  #windows: Window[] = []
  #windowBytes = 0

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax
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

  /** Appends entries that directly follow the tail (the caller truncated any conflict first). */
  appendTail(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    const last = this.#tail[this.#tail.length - 1]
    if (last !== undefined && this.#tail.length > this.#tailHead && last.index + 1 !== first.index) {
      // Not contiguous (the log was compacted or replaced): restart the tail here.
      this.#tail = []
      this.#tailHead = 0
      this.#tailBytes = 0
    }
    for (const entry of entries) {
      this.#tail.push(entry)
      this.#tailBytes += cachedEntryBytes(entry)
    }
  }

  /** Forgets entries at or after `index`. */
  truncateFrom(index: number): void {
    const first = this.tailFirstIndex
    if (first !== undefined) {
      const keep = Math.max(0, index - first)
      while (this.#tail.length - this.#tailHead > keep) this.#tailBytes -= cachedEntryBytes(this.#tail.pop()!)
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
   * after `pinnedFromIndex`), then the end of the newest window.
   */
  evict(pinnedFromIndex: number): void {
    while (this.bytes > this.bytesMax && this.#windows.length > 1) {
      this.#windowBytes -= this.#windows.pop()!.bytes
    }
    while (this.bytes > this.bytesMax) {
      const first = this.tailFirstIndex
      if (first === undefined || first >= pinnedFromIndex) break
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
    // Shift out the dead prefix once it dominates, keeping eviction amortised O(1).
    if (this.#tailHead > 1024 && this.#tailHead * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailHead)
      this.#tailHead = 0
    }
  }
}
