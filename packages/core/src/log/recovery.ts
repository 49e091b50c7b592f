import { isLaminarError, LaminarError } from '../errors/laminar-error'
import {
  STORAGE_RANGE_LIMIT_MAX,
  type Storage,
  type StorageEntry,
  type StorageOperation,
} from '../ports/storage'
import type { Entry } from '../raft/types'
import { cutSegmentsFrom } from './cut-segments'
import { EntryCache } from './entry-cache'
import { hex, KeyKind, type KeyKindValue, type LogKeys } from './keys'
import type { LogState, ResolvedLogOptions, SegmentState } from './log-state'
import {
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeNumber,
  decodeSegment,
  decodeSnapshot,
  emptyConfState,
} from './records'
import { TermRuns } from './term-runs'

/** What recovery found and repaired when opening a log. */
export interface RecoveryReport {
  /** The torn tail was cut from this index (entries at and after it were removed). */
  cutFromIndex: number | undefined
  /** Entries found past the segment table and removed. */
  entriesPastTableRemoved: boolean
  /** Entries found below the log start (an interrupted compaction) and removed. */
  entriesBelowStartRemoved: boolean
}

const PAGE_ENTRIES = 1024

/** Reads every key in [gte, lt) page by page (each page bounded). */
export async function forEachInRange(
  storage: Storage,
  gte: Uint8Array,
  lt: Uint8Array,
  visit: (item: StorageEntry) => boolean | undefined,
  pageEntries = PAGE_ENTRIES,
): Promise<void> {
  let from = gte
  for (;;) {
    const page = await storage.range({ gte: from, lt, limit: Math.min(pageEntries, STORAGE_RANGE_LIMIT_MAX) })
    for (const item of page) if (visit(item) === false) return
    const last = page[page.length - 1]
    if (last === undefined || page.length < pageEntries) return
    from = successor(last.key)
  }
}

/** The smallest key greater than `key`. */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1)
  next.set(key)
  return next
}

async function readIndexed(
  storage: Storage,
  keys: LogKeys,
  kind: KeyKindValue,
  decode: (key: Uint8Array, value: Uint8Array, index: number) => void,
): Promise<void> {
  await forEachInRange(storage, keys.kindStart(kind), keys.kindEnd(kind), ({ key, value }) => {
    decode(key, value, keys.parseIndexed(kind, key))
    return undefined
  })
}

/**
 * Rebuilds a log's state from storage: hard state, log start, snapshot, segment table, term
 * runs, time index; then verifies the tail and cuts a torn one (a gap, entries past the table,
 * a bad checksum on the last entry). A bad entry followed by good ones is STORAGE_CORRUPT: a
 * silent cut there would lose data that was acknowledged.
 */
export async function recoverLog(
  storage: Storage,
  keys: LogKeys,
  options: ResolvedLogOptions,
): Promise<{ state: LogState; report: RecoveryReport }> {
  const report: RecoveryReport = {
    cutFromIndex: undefined,
    entriesPastTableRemoved: false,
    entriesBelowStartRemoved: false,
  }
  const getDecoded = async <T>(kind: KeyKindValue, decode: (key: Uint8Array, value: Uint8Array) => T) => {
    const key = keys.single(kind)
    const value = await storage.get(key)
    return value === undefined ? undefined : decode(key, value)
  }
  const hardState = (await getDecoded(KeyKind.hardState, decodeHardState)) ?? { term: 0, vote: '', commit: 0 }
  const start = (await getDecoded(KeyKind.logStart, decodeLogStart)) ?? { index: 0, term: 0 }
  const snapshot = (await getDecoded(KeyKind.snapshot, decodeSnapshot)) ?? {
    metadata: { index: 0, term: 0, confState: emptyConfState() },
    data: new Uint8Array(0),
  }

  const segments: SegmentState[] = []
  await readIndexed(storage, keys, KeyKind.segment, (key, value, base) => {
    segments.push({ ...decodeSegment(key, value, base), pointIndexes: [], pointTimestampsMs: [] })
  })
  let expectedBase = start.index + 1
  for (const segment of segments) {
    if (segment.baseIndex !== expectedBase) {
      throw new LaminarError('STORAGE_CORRUPT', `segment table of ${keys.groupId} is not contiguous`, {
        details: { groupId: keys.groupId, baseIndex: segment.baseIndex, expectedBaseIndex: expectedBase },
      })
    }
    expectedBase = segment.lastIndex + 1
  }
  const tableLastIndex = expectedBase - 1

  const termRuns = new TermRuns()
  const ops: StorageOperation[] = []
  await readIndexed(storage, keys, KeyKind.termRun, (key, value, index) => {
    if (index > tableLastIndex) ops.push({ type: 'del', key })
    else termRuns.append(index, decodeNumber(key, value, false))
  })
  let segmentCursor = 0
  await readIndexed(storage, keys, KeyKind.timePoint, (key, value, index) => {
    while (segmentCursor < segments.length && segments[segmentCursor]!.lastIndex < index) segmentCursor++
    const segment = segments[segmentCursor]
    if (segment === undefined || index < segment.baseIndex) {
      ops.push({ type: 'del', key })
      return
    }
    segment.pointIndexes.push(index)
    segment.pointTimestampsMs.push(decodeNumber(key, value, true))
  })
  if (tableLastIndex > start.index && termRuns.termAt(start.index + 1) === undefined) {
    throw new LaminarError('STORAGE_CORRUPT', `no term recorded for the first entry of ${keys.groupId}`, {
      details: { groupId: keys.groupId, index: start.index + 1 },
    })
  }

  const state: LogState = {
    keys,
    options,
    hardState,
    start,
    snapshot,
    lastIndex: tableLastIndex,
    segments,
    termRuns,
    cache: new EntryCache(options.entryCacheBytesMax),
    generation: 0,
    lastTimestampMs: segments[segments.length - 1]?.lastTimestampMs ?? Number.NEGATIVE_INFINITY,
  }

  const entryEnd = keys.kindEnd(KeyKind.entry)
  const pastTableStart = keys.indexed(KeyKind.entry, tableLastIndex + 1)
  report.entriesPastTableRemoved =
    (await storage.range({ gte: pastTableStart, lt: entryEnd, limit: 1 })).length > 0
  const verified = await verifyTail(storage, state, report)
  if (report.cutFromIndex !== undefined) cutTail(state, report.cutFromIndex, verified.sizes, ops)
  if (ops.length > 0) await storage.write(ops, { sync: true })
  if (report.entriesPastTableRemoved || report.cutFromIndex !== undefined) {
    await storage.clear({ gte: keys.indexed(KeyKind.entry, state.lastIndex + 1), lt: entryEnd })
  }
  const belowStart = keys.indexed(KeyKind.entry, state.start.index + 1)
  if ((await storage.range({ gte: keys.kindStart(KeyKind.entry), lt: belowStart, limit: 1 })).length > 0) {
    report.entriesBelowStartRemoved = true
    await storage.clear({ gte: keys.kindStart(KeyKind.entry), lt: belowStart })
  }
  // Warm the cache with the verified tail: Raft's first reads after a restart hit memory.
  state.cache.appendTail(verified.entries.filter((entry) => entry.index <= state.lastIndex))
  state.cache.evict(Number.POSITIVE_INFINITY)
  return { state, report }
}

/**
 * Walks the last `recoveryVerifyEntries` entries of the table plus any past it. Sets
 * `report.cutFromIndex` for a torn tail; throws STORAGE_CORRUPT for a bad entry followed by good ones.
 */
async function verifyTail(
  storage: Storage,
  state: LogState,
  report: RecoveryReport,
): Promise<{ entries: Entry[]; sizes: Map<number, number> }> {
  const { keys } = state
  const firstIndex = state.start.index + 1
  const verifyFrom = Math.max(firstIndex, state.lastIndex - state.options.recoveryVerifyEntries + 1)
  const entries: Entry[] = []
  const sizes = new Map<number, number>()
  let expected = verifyFrom
  let bad: { index: number; error: unknown } | undefined
  let gapAt: number | undefined
  await forEachInRange(
    storage,
    keys.indexed(KeyKind.entry, verifyFrom),
    keys.kindEnd(KeyKind.entry),
    ({ key, value }) => {
      const index = keys.parseIndexed(KeyKind.entry, key)
      // Past the table: written without its segment row, so never acknowledged; cleared below.
      if (index > state.lastIndex) return false
      sizes.set(index, key.length + value.length)
      // After a gap everything is cut; keep walking only to account the bytes.
      if (index !== expected) gapAt ??= expected
      expected = index + 1
      if (gapAt !== undefined) return undefined
      let entry: Entry
      try {
        entry = decodeEntry(key, value, index).entry
        if (entry.term !== state.termRuns.termAt(index)) {
          throw new LaminarError(
            'STORAGE_CORRUPT',
            `entry ${index} of ${keys.groupId} has an unrecorded term`,
            {
              details: { groupId: keys.groupId, index, term: entry.term, key: hex(key) },
            },
          )
        }
      } catch (error) {
        if (!isLaminarError(error, 'STORAGE_CORRUPT')) throw error
        // Bad entries running to the end are a torn tail; remember where the run starts.
        bad ??= { index, error }
        return undefined
      }
      // A good entry after a bad one: the bad one is not a torn tail but corruption.
      if (bad !== undefined) throw bad.error
      entries.push(entry)
      return undefined
    },
  )
  if (gapAt === undefined && expected <= state.lastIndex) gapAt = expected
  const cutFrom = bad?.index ?? gapAt
  if (cutFrom !== undefined) {
    if (cutFrom <= state.hardState.commit) {
      throw new LaminarError(
        'STORAGE_CORRUPT',
        `committed entry ${cutFrom} of ${keys.groupId} is missing or bad`,
        {
          cause: bad?.error,
          details: { groupId: keys.groupId, index: cutFrom, commit: state.hardState.commit },
        },
      )
    }
    report.cutFromIndex = cutFrom
  }
  return { entries, sizes }
}

/** Cuts the in-memory state at `from` and plans the matching row updates. */
function cutTail(state: LogState, from: number, sizes: Map<number, number>, ops: StorageOperation[]): void {
  cutSegmentsFrom(state, from, ops, (index, averageBytes) => sizes.get(index) ?? averageBytes)
  state.lastIndex = from - 1
}
