import { LaminarError } from '../errors/laminar-error'

/**
 * The key layout of one log inside a shared Storage. Every key is
 * `groupPrefix | kind byte | suffix`, where groupPrefix is `u16 length | utf-8 group id`:
 * the length comes first so no group's prefix is a prefix of another group's keys, and one
 * group's keys form one contiguous range. Numbers are unsigned 64-bit big-endian, so bytewise
 * key order is numeric order.
 */
export const KeyKind = {
  /** The layout version (see LOG_FORMAT_VERSION); written with the log's first write. */
  format: 0x00,
  /** The hard state (term, vote, commit). */
  hardState: 0x01,
  /** Where the log starts: the index and term just before firstIndex. */
  logStart: 0x02,
  /** The latest snapshot's metadata and data. */
  snapshot: 0x03,
  /** One segment table row per segment, by baseIndex. */
  segment: 0x10,
  /** One row per run of equal terms, by the run's first index. */
  termRun: 0x18,
  /** Sparse time index points, by entry index. */
  timePoint: 0x20,
  /**
   * Entry chunks, by the index of the chunk's first entry: one value holds the consecutive
   * entries of one write (up to chunkBytesMax, never across a segment boundary).
   */
  entry: 0x30,
} as const

export type KeyKindValue = (typeof KeyKind)[keyof typeof KeyKind]

/** The longest group id, in utf-8 bytes. */
export const GROUP_ID_BYTES_MAX = 1024

const TWO_TO_32 = 0x1_0000_0000

/** Writes `value` (a safe non-negative integer) as u64 big-endian at `offset`. */
export function writeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_TO_32))
  view.setUint32(offset + 4, value >>> 0)
}

/** Reads a u64 big-endian; values above 2^53 are not produced by this log. */
export function readUint64(view: DataView, offset: number): number {
  return view.getUint32(offset) * TWO_TO_32 + view.getUint32(offset + 4)
}

/** Builds and parses the keys of one group. */
export class LogKeys {
  readonly groupId: string
  readonly prefix: Uint8Array

  constructor(groupId: string) {
    if (typeof groupId !== 'string' || groupId.length === 0) {
      throw new LaminarError('INVALID_ARGUMENT', 'groupId must be a non-empty string')
    }
    const idBytes = new TextEncoder().encode(groupId)
    if (idBytes.length > GROUP_ID_BYTES_MAX) {
      throw new LaminarError('INVALID_ARGUMENT', `groupId must be at most ${GROUP_ID_BYTES_MAX} utf-8 bytes`)
    }
    this.groupId = groupId
    this.prefix = new Uint8Array(2 + idBytes.length)
    new DataView(this.prefix.buffer).setUint16(0, idBytes.length)
    this.prefix.set(idBytes, 2)
  }

  /** A key with no suffix, e.g. the hard state's. */
  single(kind: KeyKindValue): Uint8Array {
    const key = new Uint8Array(this.prefix.length + 1)
    key.set(this.prefix)
    key[this.prefix.length] = kind
    return key
  }

  /** A key of `kind` for index `index`. */
  indexed(kind: KeyKindValue, index: number): Uint8Array {
    const key = new Uint8Array(this.prefix.length + 9)
    key.set(this.prefix)
    key[this.prefix.length] = kind
    writeUint64(new DataView(key.buffer), this.prefix.length + 1, index)
    return key
  }

  /** Keys of `kind` for `count` consecutive indexes from `first`, as views into one buffer. */
  indexedBatch(kind: KeyKindValue, first: number, count: number): Uint8Array[] {
    const keyBytes = this.prefix.length + 9
    const buffer = new Uint8Array(keyBytes * count)
    const view = new DataView(buffer.buffer)
    const result: Uint8Array[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const offset = i * keyBytes
      buffer.set(this.prefix, offset)
      buffer[offset + this.prefix.length] = kind
      writeUint64(view, offset + this.prefix.length + 1, first + i)
      result[i] = buffer.subarray(offset, offset + keyBytes)
    }
    return result
  }

  /** The exclusive upper bound of every key of `kind` (the next kind byte, empty suffix). */
  kindEnd(kind: KeyKindValue): Uint8Array {
    const key = this.single(kind)
    key[this.prefix.length] = kind + 1
    return key
  }

  /** The first key of `kind` (sorts before every indexed key of that kind). */
  kindStart(kind: KeyKindValue): Uint8Array {
    return this.indexed(kind, 0)
  }

  /** The exclusive upper bound of every key of this group. */
  groupEnd(): Uint8Array {
    const key = new Uint8Array(this.prefix.length + 1)
    key.set(this.prefix)
    key[this.prefix.length] = 0xff
    return key
  }

  /** The index in an indexed key of `kind`; a foreign or malformed key is STORAGE_CORRUPT. */
  parseIndexed(kind: KeyKindValue, key: Uint8Array): number {
    const p = this.prefix.length
    let ok = key.length === p + 9 && key[p] === kind
    for (let i = 0; ok && i < p; i++) ok = key[i] === this.prefix[i]
    if (!ok) {
      throw new LaminarError('STORAGE_CORRUPT', `key outside log ${this.groupId} kind ${kind}`, {
        details: { groupId: this.groupId, key: hex(key) },
      })
    }
    return readUint64(new DataView(key.buffer, key.byteOffset, key.byteLength), p + 1)
  }
}

/** Lower-case hex, for error details. */
export function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}
