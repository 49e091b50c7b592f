import { KeyKind, type LogKeys, readUint64 } from './keys'
import { decodeChunk } from './records'

/** A write to one of a log's entry chunks, as seen by a tool that follows its storage writes. */
export interface EntryChunkChange {
  /** The chunk's first index: the log from here on is replaced. */
  firstIndex: number
  /** The terms of the entries the chunk now holds, from firstIndex; empty for a delete. */
  terms: number[]
}

/**
 * Reads a put (`value`) or delete (`value` undefined) of `key` as a change to the log of `keys`,
 * or undefined for any other key. Applying every change of a write in order as "drop the log
 * from firstIndex on, then append `terms`" gives the entries (index, term) the log holds in
 * storage: appends put new chunks, Raft's truncation rewrites or deletes chunks from the cut on
 * (range clears, of compacted or never-acknowledged entries, are not covered).
 * For checkers such as the simulator's durable mirror; throws STORAGE_CORRUPT on a bad chunk.
 */
export function decodeEntryChunkChange(
  keys: LogKeys,
  key: Uint8Array,
  value: Uint8Array | undefined,
): EntryChunkChange | undefined {
  const prefix = keys.prefix
  if (key.length !== prefix.length + 9 || key[prefix.length] !== KeyKind.entry) return undefined
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return undefined
  const firstIndex = readUint64(new DataView(key.buffer, key.byteOffset, key.byteLength), prefix.length + 1)
  const terms: number[] = []
  if (value !== undefined) {
    decodeChunk(key, value, firstIndex, firstIndex, (entry) => {
      terms.push(entry.term)
      return undefined
    })
  }
  return { firstIndex, terms }
}
