import { isLaminarError, LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { LogState } from './log-state'
import { readStoredEntries } from './read-stored'

/** Reported to {@link SegmentedLog.onEntriesLoaded} listeners when an async load finishes. */
export interface EntriesLoadedEvent {
  groupId: string
  /** The loaded range [lo, hi); empty when the load failed or went stale. */
  lo: number
  hi: number
  /** Set when the load failed (e.g. STORAGE_CORRUPT); Raft will ask again. */
  error?: LaminarError
}

/** Async loads in flight per log, and the entries one load may bring in. */
const LOADS_IN_FLIGHT_MAX = 2
const LOAD_ENTRIES_MAX = 16_384

/**
 * Loads entries Raft asked for but the cache lacks, in the background, into a cache window;
 * then tells the listeners so the host wakes Raft, which asks again. Bounded: at most
 * LOADS_IN_FLIGHT_MAX loads, each at most a quarter of the cache (so a lagging reader's window
 * never pushes the tail out entirely). A load that a truncation or compaction made stale is
 * dropped (the generation changed) but still reported, so Raft retries.
 */
export class EntryLoader {
  readonly #storage: Storage
  readonly #state: LogState
  /** Evicts the cache down to its bounds, keeping what the log pins or retains. */
  readonly #evict: () => void
  readonly #listeners = new Set<(event: EntriesLoadedEvent) => void>()
  readonly #loads: Array<{ lo: number; hi: number }> = []

  constructor(storage: Storage, state: LogState, evict: () => void) {
    this.#storage = storage
    this.#state = state
    this.#evict = evict
  }

  listen(listener: (event: EntriesLoadedEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Starts loading from `lo` (towards `hi`) unless a load covers it or too many run. */
  start(lo: number, hi: number): void {
    const state = this.#state
    const groupId = state.keys.groupId
    if (this.#loads.some((load) => lo >= load.lo && lo < load.hi)) return
    if (this.#loads.length >= LOADS_IN_FLIGHT_MAX) return
    // Entries from the tail's first index on are cached (and may not be written yet).
    const loadHi = Math.min(hi, lo + LOAD_ENTRIES_MAX, state.cache.tailFirstIndex ?? hi)
    const load = { lo, hi: loadHi }
    this.#loads.push(load)
    const generation = state.generation
    const maxBytes = Math.floor(state.options.entryCacheBytesMax / 4)
    readStoredEntries(this.#storage, state, lo, loadHi, maxBytes).then(
      (stored) => {
        this.#end(load)
        if (state.generation !== generation) return this.#emit({ groupId, lo, hi: lo })
        state.cache.addWindow(stored)
        this.#evict()
        this.#emit({ groupId, lo, hi: lo + stored.length })
      },
      (error: unknown) => {
        this.#end(load)
        // Entries removed under the load (a compaction's clear) are not corruption.
        if (state.generation !== generation) return this.#emit({ groupId, lo, hi: lo })
        const wrapped = isLaminarError(error)
          ? error
          : new LaminarError('STORAGE_FAILED', `loading entries of ${groupId} failed`, { cause: error })
        this.#emit({ groupId, lo, hi: lo, error: wrapped })
      },
    )
  }

  #end(load: { lo: number; hi: number }): void {
    const at = this.#loads.indexOf(load)
    if (at >= 0) this.#loads.splice(at, 1)
  }

  #emit(event: EntriesLoadedEvent): void {
    for (const listener of this.#listeners) listener(event)
  }
}
