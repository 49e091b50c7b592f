import { DATA_CHECKSUM_BYTES_MIN, dataChecksum, rememberDataChecksum } from '../log/data-checksum'
import { reserveRecordHeadroom } from '../log/record-headroom'
import { RECORD_HEADER_BYTES, readRecordHeader, writeRecordHeader } from '../log/records'
import type { Entry, Message, MessageType, NodeId, Snapshot } from '../raft/types'

/**
 * Raft traffic between nodes as one binary frame: every message one node has for another at one
 * moment, grouped by Raft group. Entry data is copied once into the frame (no msgpack buffer
 * growth, no per-entry tuple) and decoded as views of the received frame, never copied: the
 * receiver owns the frame it was handed (the Transport contract), and Raft keeps only what it
 * persists or steps.
 *
 * Layout (big-endian; str = [u16 length][utf8]):
 * ```
 * frame    [u8 RAFT_FRAME_KIND][u8 RAFT_WIRE_VERSION][u32 groupCount] group*
 * group    [str groupId][u32 messageCount] message*
 * message  [u8 type][u8 flags: 1 reject, 2 context, 4 snapshot][str to][str from]
 *          [f64 term][f64 logTerm][f64 index][f64 commit][f64 rejectHint][u32 entryCount] entry*
 *          [context: u32 length, bytes]? [snapshot]?
 * entry    a log record (log/records.ts) with timestamp 0 whose checksum slot holds the CRC-32C of
 *          the data alone (0 below DATA_CHECKSUM_BYTES_MIN bytes of data):
 *          [u32 dataChecksum][u32 25 + length][u8 type: 0 normal, 1 confChange][u64 term][u64 index][f64 0][data]
 * snapshot [f64 index][f64 term][strlist voters][strlist votersOutgoing][strlist learners]
 *          [strlist learnersNext][u8 autoLeave][u32 length][data]   (strlist = [u16 count] str*)
 * ```
 */

/** First byte of a Raft frame. Other frames are msgpack maps (0x80..0x8f, 0xde, 0xdf): never 0. */
export const RAFT_FRAME_KIND = 0
/**
 * Bumped when the layout changes; decoders refuse others. 2: entries are laid out as log records,
 * so the receiver's log seals them where they arrived instead of copying them. 3: a record's
 * checksum slot carries its data's checksum, so the receiver's log seals it without a pass over
 * the data (log/data-checksum.ts).
 */
export const RAFT_WIRE_VERSION = 3

/** The messages of one frame, grouped by Raft group id. */
export type RaftGroupMessages = Array<[string, Message[]]>

const MESSAGE_TYPES: readonly MessageType[] = [
  'hup',
  'beat',
  'prop',
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'snap',
  'heartbeat',
  'heartbeatResp',
  'unreachable',
  'snapStatus',
  'checkQuorum',
  'transferLeader',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
]
const MESSAGE_TYPE_CODES = new Map(MESSAGE_TYPES.map((type, code) => [type, code]))

const FLAG_REJECT = 1
const FLAG_CONTEXT = 2
const FLAG_SNAPSHOT = 4

const MESSAGE_FIXED_BYTES = 2 + 5 * 8 + 4
const ENTRY_FIXED_BYTES = RECORD_HEADER_BYTES

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Node and group ids repeat in every frame: their UTF-8 bytes are kept. Bounded: the cache is
 * dropped whole when it reaches this many ids (there are as many as groups and peers).
 */
const ENCODED_IDS_MAX = 65_536
const encodedIds = new Map<string, Uint8Array>()

function encodedId(id: string): Uint8Array {
  let bytes = encodedIds.get(id)
  if (bytes === undefined) {
    bytes = textEncoder.encode(id)
    if (bytes.length > 0xffff) throw new RangeError('id longer than 65535 bytes')
    if (encodedIds.size >= ENCODED_IDS_MAX) encodedIds.clear()
    encodedIds.set(id, bytes)
  }
  return bytes
}

/** Upper bound of a message's encoded size, for frame budgets (exact but for id lengths). */
export function messageBytes(message: Message): number {
  let bytes = MESSAGE_FIXED_BYTES + 4 + 2 * 32
  for (const entry of message.entries) bytes += ENTRY_FIXED_BYTES + entry.data.length
  if (message.context !== undefined) bytes += 4 + message.context.length
  if (message.snapshot !== undefined) bytes += 1024 + message.snapshot.data.length
  return bytes
}

/** Encodes messages grouped by group id into one frame. */
export function encodeRaftFrame(groups: ReadonlyMap<string, readonly Message[]>): Uint8Array {
  let total = 2 + 4
  for (const [groupId, messages] of groups) {
    total += 2 + encodedId(groupId).length + 4
    for (const message of messages) total += encodedSize(message)
  }
  const out = new Uint8Array(total)
  const writer = new Writer(out)
  writer.u8(RAFT_FRAME_KIND)
  writer.u8(RAFT_WIRE_VERSION)
  writer.u32(groups.size)
  for (const [groupId, messages] of groups) {
    writer.bytes16(encodedId(groupId))
    writer.u32(messages.length)
    for (const message of messages) writeMessage(writer, message)
  }
  if (writer.at !== total) throw new Error(`raft frame size mismatch: ${writer.at} != ${total}`)
  return out
}

/** Decodes a frame from {@link encodeRaftFrame}. Throws a TypeError or RangeError on malformed bytes. */
export function decodeRaftFrame(frame: Uint8Array): RaftGroupMessages {
  const reader = new Reader(frame)
  if (reader.u8() !== RAFT_FRAME_KIND) throw new TypeError('not a raft frame')
  const version = reader.u8()
  if (version !== RAFT_WIRE_VERSION) throw new TypeError(`unknown raft frame version ${version}`)
  const groupCount = reader.u32()
  const groups: RaftGroupMessages = []
  for (let g = 0; g < groupCount; g++) {
    const groupId = reader.str()
    const messageCount = reader.count(MESSAGE_FIXED_BYTES)
    const messages: Message[] = new Array(messageCount)
    for (let m = 0; m < messageCount; m++) messages[m] = readMessage(reader)
    groups.push([groupId, messages])
  }
  if (reader.at !== frame.length) throw new TypeError('raft frame has trailing bytes')
  return groups
}

function encodedSize(message: Message): number {
  let bytes = MESSAGE_FIXED_BYTES + 4 + encodedId(message.to).length + encodedId(message.from).length
  for (const entry of message.entries) bytes += ENTRY_FIXED_BYTES + entry.data.length
  if (message.context !== undefined) bytes += 4 + message.context.length
  const snapshot = message.snapshot
  if (snapshot !== undefined) {
    const conf = snapshot.metadata.confState
    bytes += 16 + 1 + 4 + snapshot.data.length
    for (const list of [conf.voters, conf.votersOutgoing, conf.learners, conf.learnersNext]) {
      bytes += 2
      for (const id of list) bytes += 2 + encodedId(id).length
    }
  }
  return bytes
}

function writeMessage(writer: Writer, message: Message): void {
  const code = MESSAGE_TYPE_CODES.get(message.type)
  if (code === undefined) throw new TypeError(`unknown message type ${message.type}`)
  writer.u8(code)
  writer.u8(
    (message.reject ? FLAG_REJECT : 0) |
      (message.context !== undefined ? FLAG_CONTEXT : 0) |
      (message.snapshot !== undefined ? FLAG_SNAPSHOT : 0),
  )
  writer.bytes16(encodedId(message.to))
  writer.bytes16(encodedId(message.from))
  writer.f64(message.term)
  writer.f64(message.logTerm)
  writer.f64(message.index)
  writer.f64(message.commit)
  writer.f64(message.rejectHint)
  writer.u32(message.entries.length)
  for (const entry of message.entries) writer.record(entry)
  if (message.context !== undefined) writer.bytes32(message.context)
  if (message.snapshot !== undefined) writeSnapshot(writer, message.snapshot)
}

function readMessage(reader: Reader): Message {
  const type = MESSAGE_TYPES[reader.u8()]
  if (type === undefined) throw new TypeError('unknown message type')
  const flags = reader.u8()
  const to: NodeId = reader.str()
  const from: NodeId = reader.str()
  const term = reader.f64()
  const logTerm = reader.f64()
  const index = reader.f64()
  const commit = reader.f64()
  const rejectHint = reader.f64()
  const entryCount = reader.count(ENTRY_FIXED_BYTES)
  const entries: Entry[] = new Array(entryCount)
  for (let e = 0; e < entryCount; e++) entries[e] = reader.record()
  const message: Message = {
    type,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
  }
  if ((flags & FLAG_CONTEXT) !== 0) message.context = reader.bytes32()
  if ((flags & FLAG_SNAPSHOT) !== 0) message.snapshot = readSnapshot(reader)
  return message
}

function writeSnapshot(writer: Writer, snapshot: Snapshot): void {
  const { metadata } = snapshot
  const conf = metadata.confState
  writer.f64(metadata.index)
  writer.f64(metadata.term)
  for (const list of [conf.voters, conf.votersOutgoing, conf.learners, conf.learnersNext]) {
    writer.u16(list.length)
    for (const id of list) writer.bytes16(encodedId(id))
  }
  writer.u8(conf.autoLeave ? 1 : 0)
  writer.bytes32(snapshot.data)
}

function readSnapshot(reader: Reader): Snapshot {
  const index = reader.f64()
  const term = reader.f64()
  const lists: NodeId[][] = []
  for (let l = 0; l < 4; l++) {
    const count = reader.u16()
    const list: NodeId[] = []
    for (let i = 0; i < count; i++) list.push(reader.str())
    lists.push(list)
  }
  const autoLeave = reader.u8() === 1
  return {
    metadata: {
      index,
      term,
      confState: {
        voters: lists[0]!,
        votersOutgoing: lists[1]!,
        learners: lists[2]!,
        learnersNext: lists[3]!,
        autoLeave,
      },
    },
    data: reader.bytes32(),
  }
}

class Writer {
  readonly #out: Uint8Array
  readonly #view: DataView
  at = 0

  constructor(out: Uint8Array) {
    this.#out = out
    this.#view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  }

  u8(value: number): void {
    this.#out[this.at++] = value
  }

  u16(value: number): void {
    this.#view.setUint16(this.at, value)
    this.at += 2
  }

  u32(value: number): void {
    this.#view.setUint32(this.at, value)
    this.at += 4
  }

  f64(value: number): void {
    this.#view.setFloat64(this.at, value)
    this.at += 8
  }

  bytes16(bytes: Uint8Array): void {
    this.u16(bytes.length)
    this.#out.set(bytes, this.at)
    this.at += bytes.length
  }

  bytes32(bytes: Uint8Array): void {
    this.u32(bytes.length)
    this.#out.set(bytes, this.at)
    this.at += bytes.length
  }

  record(entry: Entry): void {
    const data = entry.data
    this.#view.setUint32(this.at, data.length >= DATA_CHECKSUM_BYTES_MIN ? dataChecksum(data) : 0)
    writeRecordHeader(this.#view, this.at, entry, 0)
    this.#out.set(entry.data, this.at + RECORD_HEADER_BYTES)
    this.at += RECORD_HEADER_BYTES + entry.data.length
  }
}

class Reader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  at = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  #need(length: number): void {
    if (this.at + length > this.#bytes.length) throw new RangeError('raft frame truncated')
  }

  u8(): number {
    this.#need(1)
    return this.#bytes[this.at++]!
  }

  u16(): number {
    this.#need(2)
    const value = this.#view.getUint16(this.at)
    this.at += 2
    return value
  }

  u32(): number {
    this.#need(4)
    const value = this.#view.getUint32(this.at)
    this.at += 4
    return value
  }

  f64(): number {
    this.#need(8)
    const value = this.#view.getFloat64(this.at)
    this.at += 8
    return value
  }

  /** A count of items of at least `itemBytesMin` each: refuses counts the frame cannot hold. */
  count(itemBytesMin: number): number {
    const count = this.u32()
    if (count * itemBytesMin > this.#bytes.length - this.at)
      throw new RangeError('raft frame count too large')
    return count
  }

  /** A view of the next `[u32 length]` bytes: no copy. */
  bytes32(): Uint8Array {
    const length = this.u32()
    this.#need(length)
    const bytes = this.#bytes.subarray(this.at, this.at + length)
    this.at += length
    return bytes
  }

  /**
   * An entry laid out as a log record; its data is a view whose headroom (the record header in
   * this frame, which the receiver owns) is given to the log.
   */
  record(): Entry {
    this.#need(RECORD_HEADER_BYTES)
    const { dataBytes, type, term, index } = readRecordHeader(this.#view, this.at)
    const checksum = this.#view.getUint32(this.at)
    if (dataBytes < 0) throw new RangeError('raft entry length too short')
    if (type === undefined) throw new TypeError('unknown entry type')
    this.at += RECORD_HEADER_BYTES
    this.#need(dataBytes)
    const data = this.#bytes.subarray(this.at, this.at + dataBytes)
    this.at += dataBytes
    reserveRecordHeadroom(data)
    rememberDataChecksum(data, checksum)
    return { term, index, type, data }
  }

  str(): string {
    const length = this.u16()
    this.#need(length)
    const bytes = this.#bytes.subarray(this.at, this.at + length)
    this.at += length
    return shortString(bytes)
  }
}

/** Ids are short and almost always ASCII: decode those without a TextDecoder call. */
function shortString(bytes: Uint8Array): string {
  if (bytes.length > 64) return textDecoder.decode(bytes)
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte >= 0x80) return textDecoder.decode(bytes)
    out += String.fromCharCode(byte)
  }
  return out
}
