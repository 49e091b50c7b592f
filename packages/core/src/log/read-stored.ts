import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { Entry } from '../raft/types'
import { hex, KeyKind } from './keys'
import type { LogState } from './log-state'
import { decodeChunk } from './records'

/** A sequential reader's storage read brings back this much ahead (whole chunks, a little more). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024
/** Chunks per storage range call at most (chunks of single entries are small). */
const READ_PAGE_CHUNKS_MAX = 1024
/** Entries one read returns at most, whatever its byte budget: every read is bounded. */
export const READ_ENTRIES_MAX = 65_536

/** A stored chunk held by a read, with the bound below which its entries may be used. */
interface HeldChunk {
  key: Uint8Array
  value: Uint8Array
  firstIndex: number
  /**
   * The hi of the read that fetched it: the caller bounded that read by what storage held, so
   * entries at or above it may since have been truncated and are read again.
   */
  validHi: number
}

/**
 * Where the last storage read of a log stopped, and the chunks it fetched but did not use up
 * (the one it stopped inside, and what it read ahead): a sequential reader's next read starts
 * there without a seek, and one range call serves several reads.
 * Invariants: valid only while the log's generation is `generation`; `chunks` are contiguous,
 * the first holds `nextIndex`, and they hold at most READ_AHEAD_BYTES plus one chunk.
 */
export interface ReadCursor {
  generation: number
  nextIndex: number
  chunks: HeldChunk[]
  averageChunkBytes: number
}

/**
 * Reads stored entries [lo, hi) from storage, verifying each checksum, its index and its term
 * against the in-memory term runs. Chunks come from the read cursor when the previous read
 * stopped at `lo`, else the chunk holding `lo` from one seek (the last chunk key at or before
 * it); later chunks come in pages of whole chunks, READ_AHEAD_BYTES at a time for sequential
 * readers. Stops once `maxBytes` of data is reached (always at least one entry) and
 * READ_ENTRIES_MAX entries. A missing entry inside the log is STORAGE_CORRUPT: the log never has
 * holes.
 * The caller bounds [lo, hi) by what storage holds (written entries). `timestampsMs`, when
 * given, receives each returned entry's append timestamp.
 */
export async function readStoredEntries(
  storage: Storage,
  state: LogState,
  lo: number,
  hi: number,
  maxBytes: number,
  timestampsMs?: number[],
): Promise<Entry[]> {
  const { keys } = state
  const result: Entry[] = []
  if (lo >= hi) return result
  const generation = state.generation
  let expected = lo
  let bytes = 0
  let done = false
  let chunk: HeldChunk | undefined
  /** Entries at or above this are not taken from the current chunk (see HeldChunk.validHi). */
  let chunkHi = hi
  let stoppedAtValidHi = false
  const visit = (entry: Entry, timestampMs: number): boolean | undefined => {
    if (entry.index >= chunkHi) {
      stoppedAtValidHi = true
      return false
    }
    const term = state.termRuns.termAt(entry.index)
    if (term !== undefined && entry.term !== term) {
      throw new LaminarError(
        'STORAGE_CORRUPT',
        `entry ${entry.index} of ${keys.groupId} has term ${entry.term}`,
        {
          details: { groupId: keys.groupId, index: entry.index, key: hex(chunk!.key), expectedTerm: term },
        },
      )
    }
    bytes += entry.data.length
    if (result.length > 0 && bytes > maxBytes) {
      done = true
      return false
    }
    result.push(entry)
    timestampsMs?.push(timestampMs)
    expected++
    // Full: stop here rather than read a page only to find the next entry does not fit.
    if (expected >= hi || bytes >= maxBytes || result.length >= READ_ENTRIES_MAX) {
      done = true
      return false
    }
    return undefined
  }

  const cursor = state.readCursor
  // Taken: a read failing halfway, or one running alongside, must not reuse what this one held.
  state.readCursor = undefined
  const sequential = cursor !== undefined && cursor.generation === generation && cursor.nextIndex === lo
  let held: HeldChunk[] = sequential ? cursor.chunks : []
  let averageChunkBytes = sequential ? cursor.averageChunkBytes : 0
  // A sequential read's cursor ends at a chunk boundary when it holds no chunk: no seek needed.
  let seek = !sequential
  let exhausted = false
  /** The current chunk came from the seek for `expected`, so it must hold it. */
  let sought = false
  while (!done) {
    sought = false
    if (held.length === 0) {
      if (exhausted) break
      if (seek) {
        seek = false
        const [holding] = await storage.range({
          gte: keys.kindStart(KeyKind.entry),
          lt: keys.indexed(KeyKind.entry, expected + 1),
          reverse: true,
          limit: 1,
          borrow: true,
        })
        if (holding === undefined) throw missingEntry(state, expected)
        const firstIndex = keys.parseIndexed(KeyKind.entry, holding.key)
        held = [{ key: holding.key, value: holding.value, firstIndex, validHi: hi }]
        sought = true
        averageChunkBytes ||= holding.value.length
      } else {
        // Enough whole chunks for the remaining byte budget, or READ_AHEAD_BYTES for a
        // sequential reader, plus one as chunks vary.
        const wantedBytes = sequential ? Math.max(maxBytes - bytes, READ_AHEAD_BYTES) : maxBytes - bytes
        const pageBytes = Math.min(READ_AHEAD_BYTES, wantedBytes)
        const limit = Math.max(
          1,
          Math.min(
            READ_PAGE_CHUNKS_MAX,
            hi - expected,
            averageChunkBytes === 0 ? 1 : Math.ceil(pageBytes / averageChunkBytes) + 1,
          ),
        )
        const page = await storage.range({
          gte: keys.indexed(KeyKind.entry, expected),
          lt: keys.indexed(KeyKind.entry, hi),
          limit,
          borrow: true,
        })
        exhausted = page.length < limit
        let pageBytesRead = 0
        for (const { key, value } of page) {
          held.push({ key, value, firstIndex: keys.parseIndexed(KeyKind.entry, key), validHi: hi })
          pageBytesRead += value.length
        }
        if (page.length > 0) averageChunkBytes = Math.max(1, pageBytesRead / page.length)
        if (held.length === 0) break
      }
    }
    chunk = held.shift()!
    if (chunk.firstIndex > expected) throw missingEntry(state, expected)
    const from = expected
    chunkHi = Math.min(hi, chunk.validHi)
    stoppedAtValidHi = false
    decodeChunk(chunk.key, chunk.value, chunk.firstIndex, from, visit)
    if (done) {
      held.unshift(chunk)
      break
    }
    if (stoppedAtValidHi) {
      // The rest of this chunk (and what was read with it) may be stale: from storage again.
      held = []
      seek = true
      exhausted = false
      continue
    }
    // The sought chunk ended before `from`: the entry there is missing. (A held chunk may just be
    // used up: the read that held it stopped at its end.)
    if (expected === from && sought) throw missingEntry(state, from)
  }
  if (!done && expected < hi) throw missingEntry(state, expected)
  state.readCursor = { generation, nextIndex: expected, chunks: done ? held : [], averageChunkBytes }
  return result
}

function missingEntry(state: LogState, index: number): LaminarError {
  const key = state.keys.indexed(KeyKind.entry, index)
  return new LaminarError('STORAGE_CORRUPT', `entry ${index} of ${state.keys.groupId} is missing`, {
    details: { groupId: state.keys.groupId, index, key: hex(key) },
  })
}
