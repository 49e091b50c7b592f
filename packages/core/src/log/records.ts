import { LaminarError } from '../errors/laminar-error'
import type { ConfState, Entry, EntryType, HardState, Snapshot } from '../raft/types'
import { crc32c } from './crc32c'
import { hex, readUint64, writeUint64 } from './keys'

/**
 * The stored values of the log. Every value is `crc32c u32 | body`; the checksum covers the
 * body and is verified on every read: a mismatch or a malformed body is STORAGE_CORRUPT with
 * the key in `details`. Fixed binary headers, no JSON on the hot path (only snapshot
 * metadata, written rarely, carries a JSON ConfState).
 */

const CRC_BYTES = 4
/** crc | type u8 | term u64 | index u64 | timestampMs f64 | data. */
export const ENTRY_HEADER_BYTES = CRC_BYTES + 1 + 8 + 8 + 8

/** A decoded entry plus the append timestamp the host passed. */
export interface StoredEntry {
  entry: Entry
  timestampMs: number
}

/** One row of the segment table. Invariant: baseIndex <= lastIndex. */
export interface SegmentRow {
  baseIndex: number
  lastIndex: number
  /** Stored bytes (keys + values) of the segment's entries. */
  bytes: number
  firstTimestampMs: number
  lastTimestampMs: number
}

function corrupt(key: Uint8Array, what: string): LaminarError {
  return new LaminarError('STORAGE_CORRUPT', `${what} at key ${hex(key)}`, { details: { key: hex(key) } })
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

export function encodeEntry(entry: Entry, timestampMs: number): Uint8Array {
  return encodeEntryInto(new Uint8Array(ENTRY_HEADER_BYTES + entry.data.length), entry, timestampMs)
}

/**
 * Encodes into `target`, exactly ENTRY_HEADER_BYTES + data bytes long (a view into a larger
 * buffer is fine: staging encodes a whole batch into one allocation).
 */
export function encodeEntryInto(target: Uint8Array, entry: Entry, timestampMs: number): Uint8Array {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength)
  view.setUint8(4, entryTypeCodes[entry.type])
  writeUint64(view, 5, entry.term)
  writeUint64(view, 13, entry.index)
  view.setFloat64(21, timestampMs)
  target.set(entry.data, ENTRY_HEADER_BYTES)
  view.setUint32(0, crc32c(target, CRC_BYTES))
  return target
}

/** Decodes an entry stored under `key` for index `expectedIndex`. */
export function decodeEntry(key: Uint8Array, value: Uint8Array, expectedIndex: number): StoredEntry {
  const view = unseal(key, value, ENTRY_HEADER_BYTES - CRC_BYTES)
  const type = entryTypesByCode[view.getUint8(4)]
  if (type === undefined) throw corrupt(key, 'unknown entry type')
  const index = readUint64(view, 13)
  if (index !== expectedIndex) throw corrupt(key, `entry ${index} stored under index ${expectedIndex}`)
  return {
    // A view, no copy: the storage handed this value to us (the port says callers own results).
    entry: { term: readUint64(view, 5), index, type, data: value.subarray(ENTRY_HEADER_BYTES) },
    timestampMs: view.getFloat64(21),
  }
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
