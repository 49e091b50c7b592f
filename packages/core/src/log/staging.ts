import { LaminarError } from '../errors/laminar-error'
import type { StorageClearOptions, StorageOperation } from '../ports/storage'
import type { Entry, Snapshot } from '../raft/types'
import { cutSegmentsFrom } from './cut-segments'
import type { TailChunk } from './entry-cache'
import { KeyKind } from './keys'
import { firstIndexOf, type LogState, type LogWrite, type SegmentState } from './log-state'
import { takeRecordHeadroom } from './record-headroom'
import {
  encodeChunk,
  encodeHardState,
  encodeLogStart,
  encodeNumber,
  encodeRecordInto,
  encodeSegment,
  encodeSnapshot,
  RECORD_HEADER_BYTES,
  recordBytes,
  sealRecordInPlace,
} from './records'

/**
 * Planning of writes: each function mutates the in-memory {@link LogState} at once (so the next
 * plan builds on it) and returns the storage operations that make storage match.
 */
export interface WritePlan {
  operations: StorageOperation[]
  clearsAfterWrite: StorageClearOptions[]
  /** The first entry index this plan writes, if any: it stays pinned in the cache until written. */
  appendedFromIndex: number | undefined
  /** The clamped timestamp of the appended entries. */
  timestampMs: number
  /** Truncations inside chunks the cache no longer holds: finished from storage before the write. */
  deferredTruncations: DeferredTruncation[]
}

/**
 * A suffix truncation at `fromIndex` whose chunk left the cache: just before the write, the
 * chunk holding `fromIndex` is read from storage and its prefix rewritten, and every stored chunk
 * after it deleted; those operations go in at `operationsAt` (before the write's new chunks).
 */
export interface DeferredTruncation {
  fromIndex: number
  operationsAt: number
}

/** A plan with nothing in it yet, its timestamp the log's last (nothing appended). */
export function emptyPlan(timestampMs: number): WritePlan {
  return {
    operations: [],
    clearsAfterWrite: [],
    appendedFromIndex: undefined,
    timestampMs,
    deferredTruncations: [],
  }
}

/**
 * Plans a Raft Ready's persistence: snapshot first, then entries, then hard state. Everything
 * is validated before anything changes, so an INVALID_ARGUMENT leaves the log as it was.
 */
export function planWrite(state: LogState, write: LogWrite): WritePlan {
  const plan = emptyPlan(state.lastTimestampMs)
  validateWrite(state, write)
  if (write.snapshot !== undefined) planSnapshot(state, write.snapshot, plan)
  if (write.entries !== undefined && write.entries.length > 0) {
    planAppend(state, write.entries, write.timestampMs!, plan)
  }
  if (write.hardState !== undefined) {
    const { term, vote, commit } = write.hardState
    state.hardState = { term, vote, commit }
    plan.operations.push({
      type: 'put',
      key: state.keys.single(KeyKind.hardState),
      value: encodeHardState(state.hardState),
    })
  }
  return plan
}

function validateWrite(state: LogState, write: LogWrite): void {
  if (write === null || typeof write !== 'object')
    throw new LaminarError('INVALID_ARGUMENT', 'write must be an object')
  if (write.hardState !== undefined) {
    const { term, vote, commit } = write.hardState
    if (!isIndex(term) || !isIndex(commit) || typeof vote !== 'string') {
      throw new LaminarError('INVALID_ARGUMENT', 'hardState needs integer term and commit and a string vote')
    }
  }
  let lastIndex = state.lastIndex
  let startIndex = state.start.index
  let startTerm = state.start.term
  if (write.snapshot !== undefined) {
    const { index, term } = write.snapshot.metadata ?? {}
    if (!isIndex(index) || !isIndex(term) || !(write.snapshot.data instanceof Uint8Array)) {
      throw new LaminarError('INVALID_ARGUMENT', 'snapshot needs integer index and term and Uint8Array data')
    }
    if (index <= state.snapshot.metadata.index) {
      throw new LaminarError(
        'INVALID_ARGUMENT',
        `snapshot ${index} is not newer than ${state.snapshot.metadata.index}`,
      )
    }
    lastIndex = index
    startIndex = index
    startTerm = term
  }
  const entries = write.entries
  if (entries === undefined || entries.length === 0) return
  if (!Array.isArray(entries)) throw new LaminarError('INVALID_ARGUMENT', 'entries must be an array')
  if (typeof write.timestampMs !== 'number' || !Number.isFinite(write.timestampMs)) {
    throw new LaminarError('INVALID_ARGUMENT', 'timestampMs (the host clock) is required with entries')
  }
  validateEntries(entries)
  const first = entries[0]!.index
  if (first > lastIndex + 1) {
    throw new LaminarError('INVALID_ARGUMENT', `entry ${first} would leave a gap after ${lastIndex}`, {
      details: { groupId: state.keys.groupId, index: first, lastIndex },
    })
  }
  const kept = entries.find((entry) => entry.index > startIndex)
  if (kept === undefined) return
  const previousIndex = kept.index - 1
  const previousTerm =
    previousIndex === startIndex
      ? startTerm
      : write.snapshot === undefined
        ? state.termRuns.termAt(previousIndex)
        : undefined
  if (previousTerm !== undefined && kept.term < previousTerm) {
    throw new LaminarError('INVALID_ARGUMENT', `entry ${kept.index} has a term below its predecessor's`)
  }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function planAppend(state: LogState, input: readonly Entry[], timestampMs: number, plan: WritePlan): void {
  // Entries at or before the log start are already covered by a snapshot or compaction.
  const entries = input.filter((entry) => entry.index >= firstIndexOf(state))
  if (entries.length === 0) return
  const from = entries[0]!.index
  if (from <= state.lastIndex) planTruncate(state, from, plan)

  // Clamp so timestamps never decrease along the log: the time index relies on it.
  const clampedMs = Math.max(timestampMs, state.lastTimestampMs)
  state.lastTimestampMs = clampedMs
  plan.timestampMs = clampedMs
  plan.appendedFromIndex ??= from

  const touched = new Set<SegmentState>()
  const { keys, options } = state
  const ops = plan.operations
  const keyBytes = keys.prefix.length + 9
  // Entries with record headroom are sealed where they are (no copy); the others are encoded
  // into one allocation for the whole write. A chunk is a run of records contiguous in one
  // buffer. Not pooled: storages may keep the buffers they are given (memory-level does).
  const inPlace = entries.map((entry) => takeRecordHeadroom(entry.data))
  let valueBytes = 0
  for (let i = 0; i < entries.length; i++) if (!inPlace[i]) valueBytes += recordBytes(entries[i]!.data.length)
  const values = new Uint8Array(valueBytes)
  let valuesAt = 0
  // The buffer of the chunk being built (values or an entry's own), and its bounds in it.
  let target: Uint8Array = values
  let view: DataView = new DataView(values.buffer)
  const chunks: TailChunk[] = []
  let chunkStart = 0
  let offset = 0
  const closeChunk = () => {
    const chunk = chunks[chunks.length - 1]
    if (chunk === undefined || offset === chunkStart) return
    ops.push({
      type: 'put',
      key: keys.indexed(KeyKind.entry, chunk.firstIndex),
      value: target.subarray(chunkStart, offset),
    })
  }
  let segment = state.segments[state.segments.length - 1]
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    const entryBytes = recordBytes(entry.data.length)
    const own = inPlace[i]!
    const source = own ? entry.data.buffer : values.buffer
    const recordAt = own ? entry.data.byteOffset - RECORD_HEADER_BYTES : valuesAt
    const rolls =
      segment === undefined ||
      segment.bytes >= options.segmentBytesMax ||
      clampedMs - segment.firstTimestampMs >= options.segmentAgeMsMax
    // A chunk never spans two segments (retention clears whole segments by key range), nor
    // grows past chunkBytesMax unless a single entry does, nor leaves its buffer.
    if (
      i === 0 ||
      rolls ||
      offset - chunkStart + entryBytes > options.chunkBytesMax ||
      source !== target.buffer ||
      recordAt !== offset
    ) {
      closeChunk()
      if (source !== target.buffer) {
        target = new Uint8Array(source)
        view = new DataView(source)
      }
      chunkStart = recordAt
      offset = recordAt
      chunks.push({ firstIndex: entry.index, timestampMs: clampedMs })
      if (rolls) {
        segment = {
          baseIndex: entry.index,
          lastIndex: entry.index,
          bytes: 0,
          firstTimestampMs: clampedMs,
          lastTimestampMs: clampedMs,
          pointIndexes: [],
          pointTimestampsMs: [],
        }
        state.segments.push(segment)
      }
      segment!.bytes += keyBytes
    }
    segment = segment!
    if (own) offset = sealRecordInPlace(target, view, offset, entry, clampedMs)
    else {
      offset = encodeRecordInto(target, view, offset, entry, clampedMs)
      valuesAt = offset
    }
    segment.lastIndex = entry.index
    segment.bytes += entryBytes
    segment.lastTimestampMs = clampedMs
    touched.add(segment)
    if ((entry.index - segment.baseIndex) % options.timeIndexIntervalEntries === 0) {
      segment.pointIndexes.push(entry.index)
      segment.pointTimestampsMs.push(clampedMs)
      ops.push({
        type: 'put',
        key: keys.indexed(KeyKind.timePoint, entry.index),
        value: encodeNumber(clampedMs, true),
      })
    }
    if (state.termRuns.append(entry.index, entry.term)) {
      ops.push({
        type: 'put',
        key: keys.indexed(KeyKind.termRun, entry.index),
        value: encodeNumber(entry.term, false),
      })
    }
    state.lastIndex = entry.index
  }
  closeChunk()
  for (const touchedSegment of touched) ops.push(putSegment(state, touchedSegment))
  state.cache.appendTail(entries, chunks)
}

function validateEntries(entries: readonly Entry[]): void {
  let previous: Entry | undefined
  for (const entry of entries) {
    if (
      entry === null ||
      typeof entry !== 'object' ||
      !isIndex(entry.index) ||
      entry.index === 0 ||
      !isIndex(entry.term) ||
      !(entry.data instanceof Uint8Array) ||
      (entry.type !== 'normal' && entry.type !== 'confChange')
    ) {
      throw new LaminarError(
        'INVALID_ARGUMENT',
        'each entry needs index >= 1, a term, a type and Uint8Array data',
      )
    }
    if (previous !== undefined && (entry.index !== previous.index + 1 || entry.term < previous.term)) {
      throw new LaminarError('INVALID_ARGUMENT', 'entries must be contiguous with non-decreasing terms')
    }
    previous = entry
  }
}

function putSegment(state: LogState, segment: SegmentState): StorageOperation {
  return {
    type: 'put',
    key: state.keys.indexed(KeyKind.segment, segment.baseIndex),
    value: encodeSegment(segment),
  }
}

/**
 * Removes entries at and after `from` (from > firstIndex - 1), Raft's conflict truncation: the
 * chunk holding `from` keeps its prefix (rewritten in this same write), later chunks are deleted.
 * From the cache when it holds the chunk whole (the usual case: the truncated entries are
 * recent), else deferred to just before the write (see DeferredTruncation).
 */
export function planTruncate(state: LogState, from: number, plan: WritePlan): void {
  const { keys, cache } = state
  const ops = plan.operations
  const keyBytes = keys.prefix.length + 9
  const deletedChunkStarts = new Set<number>()
  const deleteChunk = (firstIndex: number) => {
    deletedChunkStarts.add(firstIndex)
    ops.push({ type: 'del', key: keys.indexed(KeyKind.entry, firstIndex) })
  }
  const known = cache.chunksFrom(from)
  if (known !== undefined) {
    const { containing, laterFirstIndexes } = known
    for (const first of laterFirstIndexes) deleteChunk(first)
    if (containing.firstIndex === from) deleteChunk(from)
    else {
      const prefix: Entry[] = []
      for (let index = containing.firstIndex; index < from; index++) prefix.push(cache.get(index)!)
      ops.push({
        type: 'put',
        key: keys.indexed(KeyKind.entry, containing.firstIndex),
        value: encodeChunk(prefix, containing.timestampMs),
      })
    }
  } else {
    plan.deferredTruncations.push({ fromIndex: from, operationsAt: ops.length })
    // Known chunks may not be written yet, so storage cannot list them: delete them here.
    const knownFirst = cache.knownChunksFirstIndex
    const later = knownFirst === undefined ? undefined : cache.chunksFrom(knownFirst)
    if (later !== undefined) {
      deleteChunk(later.containing.firstIndex)
      for (const first of later.laterFirstIndexes) deleteChunk(first)
    }
  }
  // Exact byte accounting for cached entries (the usual case); otherwise the segment's average.
  cutSegmentsFrom(state, from, ops, (index, averageBytes) => {
    const entry = cache.get(index)
    if (entry === undefined) return averageBytes
    return recordBytes(entry.data.length) + (deletedChunkStarts.has(index) ? keyBytes : 0)
  })
  cache.truncateFrom(from)
  state.lastIndex = from - 1
  state.generation++
}

/** A snapshot from the leader replaces the whole log (etcd's ApplySnapshot). */
function planSnapshot(state: LogState, snapshot: Snapshot, plan: WritePlan): void {
  const { index, term } = snapshot.metadata
  const { keys } = state
  const ops = plan.operations
  // Entries above the snapshot are deleted one by one (new entries may reuse their keys in
  // this same write); entries at or below it are unreachable and cleared after the write.
  if (state.lastIndex > index) planTruncate(state, Math.max(index + 1, firstIndexOf(state)), plan)
  for (const segment of state.segments) {
    ops.push({ type: 'del', key: keys.indexed(KeyKind.segment, segment.baseIndex) })
    for (const point of segment.pointIndexes)
      ops.push({ type: 'del', key: keys.indexed(KeyKind.timePoint, point) })
  }
  for (const [start] of state.termRuns.runs())
    ops.push({ type: 'del', key: keys.indexed(KeyKind.termRun, start) })
  plan.clearsAfterWrite.push({
    gte: keys.kindStart(KeyKind.entry),
    lt: keys.indexed(KeyKind.entry, index + 1),
  })
  state.segments = []
  state.termRuns.clear()
  state.cache.clear()
  state.start = { index, term }
  state.lastIndex = index
  state.snapshot = snapshot
  state.generation++
  ops.push({ type: 'put', key: keys.single(KeyKind.logStart), value: encodeLogStart(state.start) })
  ops.push({ type: 'put', key: keys.single(KeyKind.snapshot), value: encodeSnapshot(snapshot) })
}

/**
 * Drops the `count` oldest segments (never the last, active one): the log start moves to the
 * next segment's base; their entries go with ONE range clear after the write.
 */
export function planDropOldestSegments(state: LogState, count: number, plan: WritePlan): void {
  if (count <= 0) return
  if (count >= state.segments.length)
    throw new LaminarError('INTERNAL', 'the active segment is never dropped')
  const { keys } = state
  const ops = plan.operations
  const newFirst = state.segments[count]!.baseIndex
  const startTerm = state.termRuns.termAt(newFirst - 1)
  if (startTerm === undefined) throw new LaminarError('INTERNAL', `no term for index ${newFirst - 1}`)
  for (const segment of state.segments.splice(0, count)) {
    ops.push({ type: 'del', key: keys.indexed(KeyKind.segment, segment.baseIndex) })
    for (const point of segment.pointIndexes)
      ops.push({ type: 'del', key: keys.indexed(KeyKind.timePoint, point) })
  }
  for (const start of state.termRuns.compactBefore(newFirst)) {
    ops.push({ type: 'del', key: keys.indexed(KeyKind.termRun, start) })
  }
  state.start = { index: newFirst - 1, term: startTerm }
  ops.push({ type: 'put', key: keys.single(KeyKind.logStart), value: encodeLogStart(state.start) })
  plan.clearsAfterWrite.push({
    gte: keys.kindStart(KeyKind.entry),
    lt: keys.indexed(KeyKind.entry, newFirst),
  })
  state.cache.compactBefore(newFirst)
  state.generation++
}
