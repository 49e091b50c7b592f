import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { Entry } from '../raft/types'
import { hex, KeyKind } from './keys'
import type { LogState } from './log-state'
import { decodeChunk, type StoredEntry } from './records'

/** Bytes one storage range call aims to bring back (whole chunks, so a little more). */
const READ_PAGE_BYTES = 4 * 1024 * 1024
/** Chunks per storage range call at most (chunks of single entries are small). */
const READ_PAGE_CHUNKS_MAX = 1024
/** Entries one read returns at most, whatever its byte budget: every read is bounded. */
export const READ_ENTRIES_MAX = 65_536

/**
 * Reads stored entries [lo, hi) from storage, verifying each checksum, its index and its term
 * against the in-memory term runs. One seek finds the chunk holding `lo` (the last chunk key at
 * or before it); later chunks are read in pages of whole chunks. Stops once `maxBytes` of data
 * is reached (always at least one entry) and READ_ENTRIES_MAX entries. A missing entry inside
 * the log is STORAGE_CORRUPT: the log never has holes.
 * The caller bounds [lo, hi) by what storage holds (written entries).
 */
export async function readStoredEntries(
  storage: Storage,
  state: LogState,
  lo: number,
  hi: number,
  maxBytes: number,
): Promise<StoredEntry[]> {
  const { keys } = state
  const result: StoredEntry[] = []
  if (lo >= hi) return result
  let expected = lo
  let bytes = 0
  let done = false
  let chunkKey: Uint8Array = keys.indexed(KeyKind.entry, lo)
  const visit = (stored: StoredEntry): boolean | undefined => {
    const { entry } = stored
    const term = state.termRuns.termAt(entry.index)
    if (term !== undefined && entry.term !== term) {
      throw new LaminarError(
        'STORAGE_CORRUPT',
        `entry ${entry.index} of ${keys.groupId} has term ${entry.term}`,
        {
          details: { groupId: keys.groupId, index: entry.index, key: hex(chunkKey), expectedTerm: term },
        },
      )
    }
    bytes += entry.data.length
    if (result.length > 0 && bytes > maxBytes) {
      done = true
      return false
    }
    result.push(stored)
    expected++
    // Full: stop here rather than read a page only to find the next entry does not fit.
    if (expected >= hi || bytes >= maxBytes || result.length >= READ_ENTRIES_MAX) {
      done = true
      return false
    }
    return undefined
  }

  const [holding] = await storage.range({
    gte: keys.kindStart(KeyKind.entry),
    lt: keys.indexed(KeyKind.entry, lo + 1),
    reverse: true,
    limit: 1,
  })
  if (holding === undefined) throw missingEntry(state, lo)
  chunkKey = holding.key
  decodeChunk(holding.key, holding.value, keys.parseIndexed(KeyKind.entry, holding.key), lo, visit)
  if (expected === lo) throw missingEntry(state, lo)
  let chunksRead = 1
  let chunkBytesRead = holding.value.length
  while (!done) {
    const averageChunkBytes = Math.max(1, chunkBytesRead / chunksRead)
    // Enough whole chunks for the remaining byte budget (plus one, as chunks vary), within a page.
    const pageBytes = Math.min(READ_PAGE_BYTES, maxBytes - bytes)
    const limit = Math.max(
      1,
      Math.min(READ_PAGE_CHUNKS_MAX, hi - expected, Math.ceil(pageBytes / averageChunkBytes) + 1),
    )
    const page = await storage.range({
      gte: keys.indexed(KeyKind.entry, expected),
      lt: keys.indexed(KeyKind.entry, hi),
      limit,
    })
    for (const { key, value } of page) {
      const firstIndex = keys.parseIndexed(KeyKind.entry, key)
      if (firstIndex !== expected) throw missingEntry(state, expected)
      chunkKey = key
      chunksRead++
      chunkBytesRead += value.length
      decodeChunk(key, value, firstIndex, firstIndex, visit)
      if (done) break
    }
    if (page.length < limit) break
  }
  if (!done && expected < hi) throw missingEntry(state, expected)
  return result
}

function missingEntry(state: LogState, index: number): LaminarError {
  const key = state.keys.indexed(KeyKind.entry, index)
  return new LaminarError('STORAGE_CORRUPT', `entry ${index} of ${state.keys.groupId} is missing`, {
    details: { groupId: state.keys.groupId, index, key: hex(key) },
  })
}

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
    let stored: StoredEntry[]
    try {
      stored = await readStoredEntries(storage, state, lo, storedHi, maxBytes)
    } catch (error) {
      // A compaction's clear can remove entries under a read: not corruption, read again.
      if (state.generation === generation || attempt >= 3) throw error
      continue
    }
    if (state.generation === generation) {
      const entries = stored.map((item) => item.entry)
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
