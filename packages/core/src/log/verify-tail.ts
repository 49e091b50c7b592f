import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { Entry } from '../raft/types'
import type { TailChunk } from './entry-cache'
import { hex, KeyKind } from './keys'
import type { LogState } from './log-state'
import { forEachInRange } from './range-pages'
import { readRecord } from './records'

/** A stored chunk recovery walked: kept so a cut inside it can rewrite its prefix. */
export interface WalkedChunk {
  key: Uint8Array
  firstIndex: number
  value: Uint8Array
}

/** What {@link verifyTail} found. */
export interface VerifiedTail {
  /** Good entries from the first walked chunk's start, contiguous, up to the cut. */
  entries: Entry[]
  /** The chunks of `entries` (whole, ascending), for the cache. */
  chunks: TailChunk[]
  /** Every chunk walked within the table, ascending. */
  walked: WalkedChunk[]
  /** Stored bytes per walked index (its record, plus its chunk's key for a chunk's first entry). */
  sizes: Map<number, number>
  /** Where a torn tail starts (a gap, or bad entries running to the end), if any. */
  cutFromIndex: number | undefined
  /** A walked chunk holds entries past the segment table (its write never finished). */
  chunkPastTable: boolean
}

/** Chunks per page while walking the tail. */
const WALK_PAGE_CHUNKS = 64

/**
 * Walks the chunks holding the last `recoveryVerifyEntries` entries of the table and checks
 * every entry: checksum, index, term against the term runs. Bad entries running to the end, or
 * a gap, are a torn tail (`cutFromIndex`); a bad entry followed by a good one is STORAGE_CORRUPT
 * with the chunk's key, as is a cut that would remove committed entries.
 */
export async function verifyTail(storage: Storage, state: LogState): Promise<VerifiedTail> {
  const { keys } = state
  const firstIndex = state.start.index + 1
  const lastIndex = state.lastIndex
  const verifyFrom = Math.max(firstIndex, lastIndex - state.options.recoveryVerifyEntries + 1)
  const tail: VerifiedTail = {
    entries: [],
    chunks: [],
    walked: [],
    sizes: new Map(),
    cutFromIndex: undefined,
    chunkPastTable: false,
  }
  if (lastIndex < firstIndex) return tail
  // The chunk holding verifyFrom is the last chunk key at or before it.
  const [holding] = await storage.range({
    gte: keys.indexed(KeyKind.entry, firstIndex),
    lt: keys.indexed(KeyKind.entry, verifyFrom + 1),
    reverse: true,
    limit: 1,
  })
  // Undefined after a chunk whose rest did not parse: the next chunk's key says where it ended.
  let expected: number | undefined =
    holding === undefined ? verifyFrom : keys.parseIndexed(KeyKind.entry, holding.key)
  let bad: { index: number; error: LaminarError } | undefined
  let gapAt: number | undefined
  await forEachInRange(
    storage,
    holding?.key ?? keys.indexed(KeyKind.entry, verifyFrom),
    keys.kindEnd(KeyKind.entry),
    ({ key, value }) => {
      const chunkFirst = keys.parseIndexed(KeyKind.entry, key)
      // Past the table: written without its segment row, so never acknowledged; cleared later.
      if (chunkFirst > lastIndex) return false
      if (expected !== undefined && chunkFirst < expected && gapAt === undefined) {
        throw new LaminarError(
          'STORAGE_CORRUPT',
          `chunk ${chunkFirst} of ${keys.groupId} overlaps the one before`,
          {
            details: { groupId: keys.groupId, index: chunkFirst, key: hex(key) },
          },
        )
      }
      if (expected !== undefined && chunkFirst !== expected) gapAt ??= expected
      tail.walked.push({ key, firstIndex: chunkFirst, value })
      const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
      let index = chunkFirst
      let chunkGood = 0
      for (let offset = 0; offset < value.length; index++) {
        if (index > lastIndex) {
          tail.chunkPastTable = true
          break
        }
        const read = readRecord(value, view, offset, index)
        tail.sizes.set(index, (read.end ?? value.length) - offset + (index === chunkFirst ? key.length : 0))
        // After a gap everything is cut; keep walking only to account the bytes.
        if (gapAt === undefined) {
          const term = read.ok ? read.stored.entry.term : undefined
          if (read.ok && term === state.termRuns.termAt(index)) {
            // A good entry after a bad one: the bad one is not a torn tail but corruption.
            if (bad !== undefined) throw bad.error
            if (chunkGood === 0) tail.chunks.push({ firstIndex: index, timestampMs: read.stored.timestampMs })
            chunkGood++
            tail.entries.push(read.stored.entry)
          } else {
            // Bad entries running to the end are a torn tail; remember where the run starts.
            bad ??= {
              index,
              error: new LaminarError(
                'STORAGE_CORRUPT',
                `entry ${index} of ${keys.groupId} is damaged (${read.ok ? `unrecorded term ${term}` : read.reason}) at key ${hex(key)}`,
                { details: { groupId: keys.groupId, index, key: hex(key) } },
              ),
            }
          }
        }
        // A damaged length hides where the chunk's next entry starts: the rest of it is lost.
        if (read.end === undefined) {
          index = Number.NaN
          break
        }
        offset = read.end
      }
      expected = Number.isNaN(index) ? undefined : index
      return undefined
    },
    WALK_PAGE_CHUNKS,
  )
  if (gapAt === undefined && expected !== undefined && expected <= lastIndex) gapAt = expected
  const cutFrom = bad?.index ?? gapAt
  if (cutFrom !== undefined) {
    if (cutFrom <= state.hardState.commit) {
      throw new LaminarError(
        'STORAGE_CORRUPT',
        `committed entry ${cutFrom} of ${keys.groupId} is missing or bad`,
        {
          cause: bad?.error,
          details: {
            groupId: keys.groupId,
            index: cutFrom,
            commit: state.hardState.commit,
            key: bad?.error.details?.['key'],
          },
        },
      )
    }
    tail.cutFromIndex = cutFrom
  }
  return tail
}
