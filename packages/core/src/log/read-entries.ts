import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { Entry } from '../raft/types'
import type { LogState } from './log-state'
import { READ_ENTRIES_MAX, readStoredEntries } from './read-stored'

/**
 * Takes entries [lo, hi) from the cache while present, within `maxBytes` (at least one) and
 * READ_ENTRIES_MAX entries.
 */
export function takeCached(state: LogState, lo: number, hi: number, maxBytes: number): Entry[] {
  const result: Entry[] = []
  let bytes = 0
  for (let index = lo; index < Math.min(hi, lo + READ_ENTRIES_MAX); index++) {
    const entry = state.cache.get(index)
    if (entry === undefined) break
    bytes += entry.data.length
    if (result.length > 0 && bytes > maxBytes) break
    result.push(entry)
  }
  return result
}

/**
 * A reader's read of [lo, hi) (see SegmentedLog.readEntries): the cache where present, else
 * storage, continuing into the cached tail. Retries when a truncation or compaction raced it.
 */
export async function readEntriesForReader(
  storage: Storage,
  state: LogState,
  lo: number,
  hi: number,
  maxBytes: number,
): Promise<Entry[]> {
  for (let attempt = 0; ; attempt++) {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi || !(maxBytes >= 0)) {
      throw new LaminarError('INVALID_ARGUMENT', 'readEntries needs integer lo <= hi and maxBytes >= 0')
    }
    if (lo < state.start.index + 1) throw new LaminarError('LOG_COMPACTED', `entry ${lo} was compacted`)
    if (hi > state.lastIndex + 1)
      throw new LaminarError('LOG_UNAVAILABLE', `entry ${hi - 1} is not in the log`)
    if (lo === hi) return []
    const cached = takeCached(state, lo, hi, maxBytes)
    if (cached.length > 0) return cached
    const generation = state.generation
    // From the tail's first index on, entries are cached (and may not be written yet).
    const storedHi = Math.min(hi, state.cache.tailFirstIndex ?? hi)
    let entries: Entry[]
    try {
      entries = await readStoredEntries(storage, state, lo, storedHi, maxBytes)
    } catch (error) {
      // A compaction's clear can remove entries under a read: not corruption, read again.
      if (state.generation === generation || attempt >= 3) throw error
      continue
    }
    if (state.generation === generation) {
      const next = lo + entries.length
      if (next === storedHi && next < hi) {
        // Continue into the cached tail within the remaining byte budget.
        let bytes = 0
        for (const entry of entries) bytes += entry.data.length
        for (const entry of takeCached(state, next, hi, Number.POSITIVE_INFINITY)) {
          bytes += entry.data.length
          if (bytes > maxBytes || entries.length >= READ_ENTRIES_MAX) break
          entries.push(entry)
        }
      }
      return entries
    }
    // A truncation or compaction raced the read: read again against the new log.
    if (attempt >= 3) throw new LaminarError('LOG_UNAVAILABLE', 'the log kept changing during the read')
  }
}
