import { LaminarError } from '../errors/laminar-error'
import { compareBytes, type Storage, type StorageOperation } from '../ports/storage'
import { cutSegmentsFrom } from './cut-segments'
import { EntryCache } from './entry-cache'
import { hex, KeyKind, type KeyKindValue, type LogKeys } from './keys'
import type { LogState, ResolvedLogOptions, SegmentState } from './log-state'
import { forEachInRange } from './range-pages'
import {
  chunkPrefixBytes,
  decodeFormat,
  decodeHardState,
  decodeLogStart,
  decodeNumber,
  decodeSegment,
  decodeSnapshot,
  emptyConfState,
  LOG_FORMAT_VERSION,
} from './records'
import { TermRuns } from './term-runs'
import { verifyTail } from './verify-tail'

/** What recovery found and repaired when opening a log. */
export interface RecoveryReport {
  /** The torn tail was cut from this index (entries at and after it were removed). */
  cutFromIndex: number | undefined
  /** Entries found past the segment table and removed. */
  entriesPastTableRemoved: boolean
  /** Entries found below the log start (an interrupted compaction) and removed. */
  entriesBelowStartRemoved: boolean
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
  const formatWritten = await checkFormat(storage, keys)
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
    cache: new EntryCache(options.entryCacheBytesMax, options.entryCacheRetainedBytesMax),
    generation: 0,
    lastTimestampMs: segments[segments.length - 1]?.lastTimestampMs ?? Number.NEGATIVE_INFINITY,
    formatWritten,
    readCursor: undefined,
  }

  const entryEnd = keys.kindEnd(KeyKind.entry)
  const pastTableStart = keys.indexed(KeyKind.entry, tableLastIndex + 1)
  const verified = await verifyTail(storage, state)
  report.entriesPastTableRemoved =
    verified.chunkPastTable ||
    (await storage.range({ gte: pastTableStart, lt: entryEnd, limit: 1 })).length > 0
  report.cutFromIndex = verified.cutFromIndex
  if (report.cutFromIndex !== undefined) {
    const sizes = verified.sizes
    cutSegmentsFrom(
      state,
      report.cutFromIndex,
      ops,
      (index, averageBytes) => sizes.get(index) ?? averageBytes,
    )
    state.lastIndex = report.cutFromIndex - 1
  }
  if (report.entriesPastTableRemoved || report.cutFromIndex !== undefined) {
    // The chunk holding the new end keeps its prefix; every chunk key after the end is cleared.
    const trimAt = state.lastIndex + 1
    let holding: (typeof verified.walked)[number] | undefined
    for (const chunk of verified.walked) if (chunk.firstIndex < trimAt) holding = chunk
    if (holding !== undefined) {
      const prefixBytes = chunkPrefixBytes(holding.value, trimAt - holding.firstIndex)
      if (prefixBytes === undefined)
        throw new LaminarError('INTERNAL', `verified chunk ${hex(holding.key)} does not parse`)
      if (prefixBytes < holding.value.length) {
        ops.push({ type: 'put', key: holding.key, value: holding.value.slice(0, prefixBytes) })
      }
    }
  }
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
  state.cache.appendTail(
    verified.entries.filter((entry) => entry.index <= state.lastIndex),
    verified.chunks.filter((chunk) => chunk.firstIndex <= state.lastIndex),
  )
  state.cache.evict(Number.POSITIVE_INFINITY)
  return { state, report }
}

/**
 * Checks the log's layout version. A log without the format key but with other keys was written
 * by an older layout (one entry per value): STORAGE_CORRUPT, never a wrong read. Returns whether
 * the key is there (a fresh log writes it with its first write).
 */
async function checkFormat(storage: Storage, keys: LogKeys): Promise<boolean> {
  const key = keys.single(KeyKind.format)
  // The format key sorts first in the group: one seek tells a fresh, a current and an old log apart.
  const [first] = await storage.range({ gte: keys.prefix, lt: keys.groupEnd(), limit: 1 })
  if (first === undefined) return false
  if (compareBytes(first.key, key) !== 0) {
    throw new LaminarError(
      'STORAGE_CORRUPT',
      `log ${keys.groupId} has no format key: it was written by an older layout (this code reads format ${LOG_FORMAT_VERSION})`,
      { details: { groupId: keys.groupId, key: hex(key), formatVersion: LOG_FORMAT_VERSION } },
    )
  }
  const version = decodeFormat(key, first.value)
  if (version !== LOG_FORMAT_VERSION) {
    throw new LaminarError(
      'STORAGE_CORRUPT',
      `log ${keys.groupId} has format ${version}; this code reads format ${LOG_FORMAT_VERSION}`,
      { details: { groupId: keys.groupId, key: hex(key), formatVersion: version } },
    )
  }
  return true
}
