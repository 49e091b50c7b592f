import { RECORD_HEADER_BYTES } from './records'

/**
 * Entry data with room for its log record header just before it, in bytes nobody else reads or
 * keeps: a Raft frame's entry (the wire lays each entry out as a record) or a leader's freshly
 * encoded proposal. The log writes the header there and stores `[header][data]` as it is, with no
 * copy of the data (one fewer copy per replica and message, and the entry cache and the storage
 * share the bytes).
 *
 * Keyed by the data view itself and taken once: a second append of the same data (after a
 * truncation) copies, so bytes a storage adopted are never written again. Weak: an entry that is
 * never persisted leaves nothing behind.
 */
const reserved = new WeakSet<Uint8Array>()

/**
 * Declares that the RECORD_HEADER_BYTES before `data` in its buffer are the caller's to give and
 * that nobody modifies `data` afterwards. Data without such room is ignored (the log copies it).
 */
export function reserveRecordHeadroom(data: Uint8Array): void {
  if (data.byteOffset >= RECORD_HEADER_BYTES) reserved.add(data)
}

/** True once for data with reserved headroom: the caller now owns the header bytes. */
export function takeRecordHeadroom(data: Uint8Array): boolean {
  return reserved.delete(data)
}
