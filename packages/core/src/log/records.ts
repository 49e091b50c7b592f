import { LaminarError } from '../errors/laminar-error'
import type { ConfState, Entry, EntryType, HardState, Snapshot } from '../raft/types'
import { crc32c, crc32cCombine } from './crc32c'
import { DATA_CHECKSUM_BYTES_MIN, dataChecksum } from './data-checksum'
import { hex, readUint64, writeUint64 } from './keys'

/**
 * The stored values of the log. Every value is `crc32c u32 | body`; the checksum covers the
 * body and is verified on every read: a mismatch or a malformed body is STORAGE_CORRUPT with
 * the key in `details`. Fixed binary headers, no JSON on the hot path (only snapshot
 * metadata, written rarely, carries a JSON ConfState).
 */

const CRC_BYTES = 4

/**
 * One entry inside a chunk: `crc u32 | bodyBytes u32 | type u8 | term u64 | index u64 |
 * timestampMs f64 | data`. The CRC covers bodyBytes and the body, so each entry is verified on
 * its own; bodyBytes sits outside the body so a reader can step over an entry whose data is
 * damaged and tell corruption in the middle (good entries follow) from a torn tail.
 */
export const RECORD_HEADER_BYTES = CRC_BYTES + 4 + 1 + 8 + 8 + 8
/** bodyBytes of an entry with no data. */
const RECORD_BODY_BYTES_MIN = RECORD_HEADER_BYTES - CRC_BYTES - 4

/** The layout this code writes, stored under the format key; a log without it is refused. */
export const LOG_FORMAT_VERSION = 2

/** A decoded entry plus the append timestamp the host passed. */
export interface StoredEntry {
  entry: Entry
  timestampMs: number
}

/** One row of the segment table. Invariant: baseIndex <= lastIndex. */
export interface SegmentRow {
  baseIndex: number
  lastIndex: number
  /** Stored bytes (keys + values) of the segment's entry chunks. */
  bytes: number
  firstTimestampMs: number
  lastTimestampMs: number
}

function corrupt(key: Uint8Array, what: string, index?: number): LaminarError {
  return new LaminarError('STORAGE_CORRUPT', `${what} at key ${hex(key)}`, {
    details: index === undefined ? { key: hex(key) } : { key: hex(key), index },
  })
}

function seal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, crc32c(bytes, CRC_BYTES))
  return bytes
}

/** Verifies the checksum and returns a view on the value; throws STORAGE_CORRUPT. */
function unseal(key: Uint8Array, value: Uint8Array, bodyBytesMin: number): DataView {
  if (value.length < CRC_BYTES + bodyBytesMin) throw corrupt(key, 'value too short')
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  if (view.getUint32(0) !== crc32c(value, CRC_BYTES)) throw corrupt(key, 'checksum mismatch')
  return view
}

const entryTypeCodes: Record<EntryType, number> = { normal: 0, confChange: 1 }
const entryTypesByCode: readonly EntryType[] = ['normal', 'confChange']

/** The stored bytes of one entry record (its chunk's key not included). */
export function recordBytes(dataBytes: number): number {
  return RECORD_HEADER_BYTES + dataBytes
}

/**
 * Encodes `entry` as a record at `offset` of `target` (which has room for it); returns the
 * offset after it. Staging encodes a whole write's chunks into one allocation this way.
 */
export function encodeRecordInto(
  target: Uint8Array,
  view: DataView,
  offset: number,
  entry: Entry,
  timestampMs: number,
): number {
  target.set(entry.data, offset + RECORD_HEADER_BYTES)
  return sealRecordInPlace(target, view, offset, entry, timestampMs)
}

/**
 * Seals the record whose data already sits at `offset + RECORD_HEADER_BYTES` of `target` (entry
 * data with record headroom, see record-headroom.ts): writes its header and checksum around the
 * data in place; returns the offset after it.
 */
export function sealRecordInPlace(
  target: Uint8Array,
  view: DataView,
  offset: number,
  entry: Entry,
  timestampMs: number,
): number {
  writeRecordHeader(view, offset, entry, timestampMs)
  const dataAt = offset + RECORD_HEADER_BYTES
  const end = dataAt + entry.data.length
  if (entry.data.length < DATA_CHECKSUM_BYTES_MIN) return sealRecord(target, view, offset)
  // The header's checksum combined with the data's (known when a Raft frame carried it, else
  // computed once and remembered for the frames that send this entry on): see data-checksum.ts.
  const checksum = crc32cCombine(
    crc32c(target, offset + CRC_BYTES, dataAt),
    dataChecksum(entry.data),
    entry.data.length,
  )
  view.setUint32(offset, checksum)
  return end
}

/**
 * Writes a record's header but its checksum (left as is) at `offset`. The Raft wire lays entries
 * out this way too (timestamp 0), so a receiver's log can seal them where they arrived.
 */
export function writeRecordHeader(view: DataView, offset: number, entry: Entry, timestampMs: number): void {
  view.setUint32(offset + 4, RECORD_BODY_BYTES_MIN + entry.data.length)
  view.setUint8(offset + 8, entryTypeCodes[entry.type])
  writeUint64(view, offset + 9, entry.term)
  writeUint64(view, offset + 17, entry.index)
  view.setFloat64(offset + 25, timestampMs)
}

/** The header fields of a record at `offset` as the Raft wire reads them (no checksum check). */
export function readRecordHeader(
  view: DataView,
  offset: number,
): { dataBytes: number; type: EntryType | undefined; term: number; index: number } {
  return {
    dataBytes: view.getUint32(offset + 4) - RECORD_BODY_BYTES_MIN,
    type: entryTypesByCode[view.getUint8(offset + 8)],
    term: readUint64(view, offset + 9),
    index: readUint64(view, offset + 17),
  }
}

function sealRecord(target: Uint8Array, view: DataView, offset: number): number {
  const end = offset + 8 + view.getUint32(offset + 4)
  view.setUint32(offset, crc32c(target, offset + CRC_BYTES, end))
  return end
}

/** One chunk value holding `entries` (consecutive), all appended at `timestampMs`. */
export function encodeChunk(entries: readonly Entry[], timestampMs: number): Uint8Array {
  let bytes = 0
  for (const entry of entries) bytes += recordBytes(entry.data.length)
  const value = new Uint8Array(bytes)
  const view = new DataView(value.buffer)
  let offset = 0
  for (const entry of entries) offset = encodeRecordInto(value, view, offset, entry, timestampMs)
  return value
}

/** What {@link readRecord} found at an offset of a chunk. */
export type RecordRead =
  | { ok: true; stored: StoredEntry; end: number }
  /** `end` is where the next record starts if the length field is usable, else undefined. */
  | { ok: false; reason: string; end: number | undefined }

/**
 * Reads the record at `offset` of a chunk value, expected to hold entry `expectedIndex`. Never
 * throws: recovery needs to tell a damaged record followed by good ones from a torn tail.
 */
export function readRecord(
  value: Uint8Array,
  view: DataView,
  offset: number,
  expectedIndex: number,
): RecordRead {
  if (value.length - offset < RECORD_HEADER_BYTES)
    return { ok: false, reason: 'entry cut short', end: undefined }
  const bodyBytes = view.getUint32(offset + 4)
  const end = offset + 8 + bodyBytes
  if (bodyBytes < RECORD_BODY_BYTES_MIN || end > value.length) {
    return { ok: false, reason: 'entry length overruns the chunk', end: undefined }
  }
  if (view.getUint32(offset) !== crc32c(value, offset + CRC_BYTES, end)) {
    return { ok: false, reason: 'checksum mismatch', end }
  }
  const type = entryTypesByCode[view.getUint8(offset + 8)]
  if (type === undefined) return { ok: false, reason: 'unknown entry type', end }
  const index = readUint64(view, offset + 17)
  if (index !== expectedIndex) {
    return { ok: false, reason: `entry ${index} stored where ${expectedIndex} belongs`, end }
  }
  return {
    ok: true,
    stored: {
      // A view, no copy: the storage handed this value to us (the port says callers own results).
      entry: {
        term: readUint64(view, offset + 9),
        index,
        type,
        data: value.subarray(offset + RECORD_HEADER_BYTES, end),
      },
      timestampMs: view.getFloat64(offset + 25),
    },
    end,
  }
}

/**
 * Decodes the entries of the chunk stored under `key` (first entry `firstIndex`), verifying each
 * checksum; calls `visit` for each entry at or after `fromIndex` until it returns false.
 * A damaged entry is STORAGE_CORRUPT with the chunk's key and the entry's index.
 * The hot path of every read: no allocation per entry beyond the Entry and its data view.
 */
export function decodeChunk(
  key: Uint8Array,
  value: Uint8Array,
  firstIndex: number,
  fromIndex: number,
  visit: (entry: Entry, timestampMs: number) => boolean | undefined,
): void {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const length = value.length
  if (length === 0) throw corrupt(key, 'empty chunk', firstIndex)
  let index = firstIndex
  for (let offset = 0; offset < length; index++) {
    if (length - offset < RECORD_HEADER_BYTES) throw corrupt(key, 'entry cut short', index)
    const bodyBytes = view.getUint32(offset + 4)
    const end = offset + 8 + bodyBytes
    if (bodyBytes < RECORD_BODY_BYTES_MIN || end > length) {
      throw corrupt(key, 'entry length overruns the chunk', index)
    }
    // Entries before fromIndex are stepped over, not verified: they are not returned.
    if (index >= fromIndex) {
      if (view.getUint32(offset) !== crc32c(value, offset + CRC_BYTES, end)) {
        throw corrupt(key, 'checksum mismatch', index)
      }
      const type = entryTypesByCode[view.getUint8(offset + 8)]
      if (type === undefined) throw corrupt(key, 'unknown entry type', index)
      if (readUint64(view, offset + 17) !== index) {
        throw corrupt(key, `entry ${readUint64(view, offset + 17)} stored where ${index} belongs`, index)
      }
      // A view, no copy: the storage handed this value to us (the port says callers own results).
      const entry: Entry = {
        term: readUint64(view, offset + 9),
        index,
        type,
        data: value.subarray(offset + RECORD_HEADER_BYTES, end),
      }
      if (visit(entry, view.getFloat64(offset + 25)) === false) return
    }
    offset = end
  }
}

/**
 * The byte length of the first `count` records of a chunk value (a prefix to keep when a cut
 * falls inside the chunk); undefined when the records do not parse that far.
 */
export function chunkPrefixBytes(value: Uint8Array, count: number): number | undefined {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  let offset = 0
  for (let i = 0; i < count; i++) {
    if (value.length - offset < RECORD_HEADER_BYTES) return undefined
    offset += 8 + view.getUint32(offset + 4)
    if (offset > value.length) return undefined
  }
  return offset
}

/** The format key's value: the layout version. */
export function encodeFormat(version: number): Uint8Array {
  const bytes = new Uint8Array(CRC_BYTES + 4)
  new DataView(bytes.buffer).setUint32(4, version)
  return seal(bytes)
}

export function decodeFormat(key: Uint8Array, value: Uint8Array): number {
  return unseal(key, value, 4).getUint32(4)
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export function encodeHardState(state: HardState): Uint8Array {
  const vote = textEncoder.encode(state.vote)
  const bytes = new Uint8Array(CRC_BYTES + 16 + vote.length)
  const view = new DataView(bytes.buffer)
  writeUint64(view, 4, state.term)
  writeUint64(view, 12, state.commit)
  bytes.set(vote, 20)
  return seal(bytes)
}

export function decodeHardState(key: Uint8Array, value: Uint8Array): HardState {
  const view = unseal(key, value, 16)
  try {
    return {
      term: readUint64(view, 4),
      commit: readUint64(view, 12),
      vote: textDecoder.decode(value.subarray(20)),
    }
  } catch {
    throw corrupt(key, 'bad vote')
  }
}

/** Where the log starts: `index` is firstIndex - 1 and `term` its term. */
export interface LogStart {
  index: number
  term: number
}

export function encodeLogStart(start: LogStart): Uint8Array {
  const bytes = new Uint8Array(CRC_BYTES + 16)
  const view = new DataView(bytes.buffer)
  writeUint64(view, 4, start.index)
  writeUint64(view, 12, start.term)
  return seal(bytes)
}

export function decodeLogStart(key: Uint8Array, value: Uint8Array): LogStart {
  const view = unseal(key, value, 16)
  return { index: readUint64(view, 4), term: readUint64(view, 12) }
}

/** A segment row's value; its baseIndex is in the key. */
export function encodeSegment(row: SegmentRow): Uint8Array {
  const bytes = new Uint8Array(CRC_BYTES + 32)
  const view = new DataView(bytes.buffer)
  writeUint64(view, 4, row.lastIndex)
  writeUint64(view, 12, row.bytes)
  view.setFloat64(20, row.firstTimestampMs)
  view.setFloat64(28, row.lastTimestampMs)
  return seal(bytes)
}

export function decodeSegment(key: Uint8Array, value: Uint8Array, baseIndex: number): SegmentRow {
  const view = unseal(key, value, 32)
  const row = {
    baseIndex,
    lastIndex: readUint64(view, 4),
    bytes: readUint64(view, 12),
    firstTimestampMs: view.getFloat64(20),
    lastTimestampMs: view.getFloat64(28),
  }
  if (row.lastIndex < baseIndex) throw corrupt(key, 'segment ends before it starts')
  return row
}

/** A u64 (term run) or f64 (time point) value. */
export function encodeNumber(value: number, asFloat: boolean): Uint8Array {
  const bytes = new Uint8Array(CRC_BYTES + 8)
  const view = new DataView(bytes.buffer)
  if (asFloat) view.setFloat64(4, value)
  else writeUint64(view, 4, value)
  return seal(bytes)
}

export function decodeNumber(key: Uint8Array, value: Uint8Array, asFloat: boolean): number {
  const view = unseal(key, value, 8)
  return asFloat ? view.getFloat64(4) : readUint64(view, 4)
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const confState = textEncoder.encode(JSON.stringify(snapshot.metadata.confState))
  const headerBytes = CRC_BYTES + 20
  const bytes = new Uint8Array(headerBytes + confState.length + snapshot.data.length)
  const view = new DataView(bytes.buffer)
  writeUint64(view, 4, snapshot.metadata.index)
  writeUint64(view, 12, snapshot.metadata.term)
  view.setUint32(20, confState.length)
  bytes.set(confState, headerBytes)
  bytes.set(snapshot.data, headerBytes + confState.length)
  return seal(bytes)
}

export function decodeSnapshot(key: Uint8Array, value: Uint8Array): Snapshot {
  const view = unseal(key, value, 20)
  const confStateBytes = view.getUint32(20)
  const dataStart = CRC_BYTES + 20 + confStateBytes
  if (dataStart > value.length) throw corrupt(key, 'snapshot metadata overruns the value')
  let confState: ConfState
  try {
    confState = JSON.parse(textDecoder.decode(value.subarray(CRC_BYTES + 20, dataStart))) as ConfState
  } catch (cause) {
    throw new LaminarError('STORAGE_CORRUPT', `bad snapshot conf state at key ${hex(key)}`, {
      cause,
      details: { key: hex(key) },
    })
  }
  return {
    metadata: { index: readUint64(view, 4), term: readUint64(view, 12), confState },
    data: value.slice(dataStart),
  }
}

/** An empty configuration: what a fresh log reports. */
export function emptyConfState(): ConfState {
  return { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
}
