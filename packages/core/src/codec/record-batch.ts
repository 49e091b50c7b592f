/**
 * The binary record batch: a producer's records encoded once into one Uint8Array that travels
 * unchanged through the produce request, the append command, the Raft entry and the log. Apply
 * reads only the fixed header (count, timestamps); records are decoded when someone reads them
 * (the leader's recent window, log scans, deliveries), as views into the batch, never copies.
 *
 * Layout (big-endian):
 * ```
 * header  [u8 format = 1][u32 batchBytes][u32 count][f64 timestampMsMin][f64 timestampMsMax]
 * record  [f64 timestampMs][i32 keyLength, -1 = null][key][u32 valueLength][value]
 *         [u16 headerCount] then per header [u16 nameLength][name utf8][u32 length][bytes]
 * ```
 * Timestamps are whole f64s, not deltas: exact for any finite number a producer stamps.
 */
import type { LaminarRecord } from '../broker/commands'

/** Bumped when the layout changes; readers refuse formats they do not know. */
export const RECORD_BATCH_FORMAT = 1

/** Bytes of the fixed header. */
export const RECORD_BATCH_HEADER_BYTES = 1 + 4 + 4 + 8 + 8

const RECORD_FIXED_BYTES = 8 + 4 + 4 + 2
const HEADER_FIXED_BYTES = 2 + 4
const NAME_BYTES_MAX = 0xffff
const HEADERS_PER_RECORD_MAX = 0xffff

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A view over an encoded batch. Construction checks only the header (cheap, what apply needs);
 * {@link records} and {@link keys} check the rest and throw a TypeError on malformed bytes.
 * The batch does not own its bytes: they must not change while it or its records are alive.
 */
export class RecordBatch {
  /** The whole encoded batch (header and records). */
  readonly bytes: Uint8Array
  readonly count: number
  readonly timestampMsMin: number
  readonly timestampMsMax: number

  /** Reads the header of `bytes`. Throws a TypeError if it is not a batch header. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length < RECORD_BATCH_HEADER_BYTES) {
      throw new TypeError('record batch shorter than its header')
    }
    if (bytes[0] !== RECORD_BATCH_FORMAT) throw new TypeError(`unknown record batch format ${bytes[0]}`)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    // The length catches a truncated or padded batch without walking its records.
    if (view.getUint32(1) !== bytes.length)
      throw new TypeError('record batch length does not match its header')
    this.bytes = bytes
    this.count = view.getUint32(5)
    this.timestampMsMin = view.getFloat64(9)
    this.timestampMsMax = view.getFloat64(17)
  }

  /** Encodes records into one new batch (the only copy of their bytes on the produce path). */
  static encode(records: readonly LaminarRecord[]): RecordBatch {
    return new RecordBatch(encodeRecords(records))
  }

  /** Every record, decoded; key, value and header bytes are views into {@link bytes}. */
  records(): LaminarRecord[] {
    const out: LaminarRecord[] = new Array(this.count)
    this.#walk((record, i) => {
      out[i] = record
    })
    return out
  }

  /** Every record's key, in order (what per-key ordering needs), without building records. */
  keys(): Array<Uint8Array | null> {
    const out: Array<Uint8Array | null> = new Array(this.count)
    this.#walk((record, i) => {
      out[i] = record.key
    })
    return out
  }

  /**
   * Checks the whole batch (every length in bounds, header values match the records) and
   * returns the largest record's size as {@link recordBytes} counts it. Throws a TypeError.
   */
  validate(): number {
    // Lengths only: nothing is built (this runs on the leader for every produced batch).
    const bytes = this.bytes
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = RECORD_BATCH_HEADER_BYTES
    const need = (length: number): void => {
      if (length < 0 || at + length > bytes.length) throw new TypeError('record batch truncated')
    }
    let largest = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (let i = 0; i < this.count; i++) {
      need(12)
      const timestampMs = view.getFloat64(at)
      if (!Number.isFinite(timestampMs)) throw new TypeError('record timestamp must be finite')
      if (timestampMs < min) min = timestampMs
      if (timestampMs > max) max = timestampMs
      const keyLength = view.getInt32(at + 8)
      at += 12
      // Counted as recordBytes() counts a record: value + key + 16 + header names and values.
      let recordBytes = 16
      if (keyLength !== -1) {
        need(keyLength)
        at += keyLength
        recordBytes += keyLength
      }
      need(4)
      const valueLength = view.getUint32(at)
      need(4 + valueLength + 2)
      at += 4 + valueLength
      recordBytes += valueLength
      const headerCount = view.getUint16(at)
      at += 2
      for (let h = 0; h < headerCount; h++) {
        need(2)
        const nameLength = view.getUint16(at)
        need(2 + nameLength + 4)
        // Header names must be UTF-8: decoding them later must not fail.
        const name = textDecoder.decode(bytes.subarray(at + 2, at + 2 + nameLength))
        at += 2 + nameLength
        const length = view.getUint32(at)
        need(4 + length)
        at += 4 + length
        recordBytes += name.length + length
      }
      if (recordBytes > largest) largest = recordBytes
    }
    if (at !== bytes.length) throw new TypeError('record batch has trailing bytes')
    if (this.count > 0 && (min !== this.timestampMsMin || max !== this.timestampMsMax)) {
      throw new TypeError('record batch header timestamps do not match its records')
    }
    return largest
  }

  #walk(visit: (record: LaminarRecord, index: number) => void): void {
    const bytes = this.bytes
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = RECORD_BATCH_HEADER_BYTES
    const need = (length: number): void => {
      if (length < 0 || at + length > bytes.length) throw new TypeError('record batch truncated')
    }
    for (let i = 0; i < this.count; i++) {
      need(12)
      const timestampMs = view.getFloat64(at)
      if (!Number.isFinite(timestampMs)) throw new TypeError('record timestamp must be finite')
      const keyLength = view.getInt32(at + 8)
      at += 12
      let key: Uint8Array | null = null
      if (keyLength !== -1) {
        need(keyLength)
        key = bytes.subarray(at, at + keyLength)
        at += keyLength
      }
      need(4)
      const valueLength = view.getUint32(at)
      at += 4
      need(valueLength)
      const value = bytes.subarray(at, at + valueLength)
      at += valueLength
      need(2)
      const headerCount = view.getUint16(at)
      at += 2
      // A fresh null-prototype object: header names come from producers and must not reach Object.prototype.
      const headers: Record<string, Uint8Array> = Object.create(null)
      for (let h = 0; h < headerCount; h++) {
        need(2)
        const nameLength = view.getUint16(at)
        at += 2
        need(nameLength)
        const name = textDecoder.decode(bytes.subarray(at, at + nameLength))
        at += nameLength
        need(4)
        const length = view.getUint32(at)
        at += 4
        need(length)
        headers[name] = bytes.subarray(at, at + length)
        at += length
      }
      visit({ key, value, headers, timestampMs }, i)
    }
    if (at !== bytes.length) throw new TypeError('record batch has trailing bytes')
  }
}

/**
 * Batches whose buffer has room in front of them that the holder hands over with the batch:
 * whoever takes it ({@link takeBatchHeadroom}) may write the bytes there (a produce frame's
 * header, the append command's and the log record's headers) instead of copying the batch.
 * Keyed by the batch view and taken once, like the log's record headroom: a batch sent twice
 * (a retry) finds no headroom the second time and is copied, so bytes some log adopted are
 * never written again. Weak: a batch nobody sends leaves nothing behind.
 */
const batchHeadroom = new WeakMap<Uint8Array, number>()

/**
 * Declares that the `bytes` bytes before `batch` in its buffer are free for whoever takes the
 * headroom, and that nobody modifies `batch` itself afterwards.
 */
export function giveBatchHeadroom(batch: Uint8Array, bytes: number): void {
  if (bytes > 0 && batch.byteOffset >= bytes) batchHeadroom.set(batch, bytes)
}

/** The headroom given with `batch` (0 if none), once: the caller now owns those bytes. */
export function takeBatchHeadroom(batch: Uint8Array): number {
  const bytes = batchHeadroom.get(batch)
  if (bytes === undefined) return 0
  batchHeadroom.delete(batch)
  return bytes
}

/**
 * Encodes records into batch bytes. Throws a TypeError for records that cannot be encoded. With
 * `headroomBytes`, the batch is encoded after that many free bytes of its buffer, given with it
 * ({@link giveBatchHeadroom}): the produce path writes its headers there, so the batch the
 * producer encoded is the bytes the leader's log stores.
 */
export function encodeRecords(records: readonly LaminarRecord[], headroomBytes = 0): Uint8Array {
  // First pass: sizes (header names encoded once and kept for the second pass).
  let total = RECORD_BATCH_HEADER_BYTES
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  const names: Uint8Array[][] = []
  for (const record of records) {
    if (!(record.value instanceof Uint8Array)) throw new TypeError('record value must be bytes')
    if (record.key !== null && !(record.key instanceof Uint8Array)) {
      throw new TypeError('record key must be bytes or null')
    }
    if (!Number.isFinite(record.timestampMs)) throw new TypeError('record timestamp must be finite')
    min = Math.min(min, record.timestampMs)
    max = Math.max(max, record.timestampMs)
    total += RECORD_FIXED_BYTES + (record.key?.length ?? 0) + record.value.length
    let recordNames: Uint8Array[] | undefined
    for (const name in record.headers) {
      const header = record.headers[name]
      if (!(header instanceof Uint8Array)) throw new TypeError(`header ${name} must be bytes`)
      const encoded = textEncoder.encode(name)
      if (encoded.length > NAME_BYTES_MAX)
        throw new TypeError(`header name longer than ${NAME_BYTES_MAX} bytes`)
      recordNames ??= []
      recordNames.push(encoded)
      total += HEADER_FIXED_BYTES + encoded.length + header.length
    }
    if (recordNames !== undefined && recordNames.length > HEADERS_PER_RECORD_MAX) {
      throw new TypeError(`more than ${HEADERS_PER_RECORD_MAX} headers on one record`)
    }
    names.push(recordNames ?? NO_NAMES)
  }
  if (records.length === 0) {
    min = 0
    max = 0
  }
  const out = new Uint8Array(headroomBytes + total).subarray(headroomBytes)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out[0] = RECORD_BATCH_FORMAT
  view.setUint32(1, total)
  view.setUint32(5, records.length)
  view.setFloat64(9, min)
  view.setFloat64(17, max)
  let at = RECORD_BATCH_HEADER_BYTES
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    view.setFloat64(at, record.timestampMs)
    at += 8
    if (record.key === null) {
      view.setInt32(at, -1)
      at += 4
    } else {
      view.setInt32(at, record.key.length)
      out.set(record.key, at + 4)
      at += 4 + record.key.length
    }
    view.setUint32(at, record.value.length)
    out.set(record.value, at + 4)
    at += 4 + record.value.length
    const recordNames = names[i]!
    view.setUint16(at, recordNames.length)
    at += 2
    let h = 0
    for (const name in record.headers) {
      const encoded = recordNames[h++]!
      const header = record.headers[name]!
      view.setUint16(at, encoded.length)
      out.set(encoded, at + 2)
      at += 2 + encoded.length
      view.setUint32(at, header.length)
      out.set(header, at + 4)
      at += 4 + header.length
    }
  }
  giveBatchHeadroom(out, headroomBytes)
  return out
}

const NO_NAMES: Uint8Array[] = []
