/**
 * Raft entry data for the broker's state machines.
 *
 * Layout: `[formatVersion: u8][commandTag: u8][body]`. The tag sits outside the body so a reader
 * scanning the log for records can skip non-append entries without decoding them
 * ({@link peekCommandType}). Appends are binary: `[u16 producerIdBytes, 0xffff = none][producerId
 * utf8][f64 sequence, NaN = none][record batch]` (codec/record-batch.ts), the producer's batch bytes unchanged;
 * decoding one reads the batch header only. Other bodies are msgpack positional arrays, not
 * objects: smaller, and no field names repeated. Tag 1 (msgpack appends, the first format) is
 * still read, so logs written before the binary batch replay.
 *
 * Decoding never throws anything but LaminarError STORAGE_CORRUPT (bytes that are not a valid
 * entry); decoded byte fields are views into the input (no copy), so the caller must not reuse
 * the input buffer while the command is alive.
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr'
import type {
  AppendCommand,
  ControllerCommand,
  GroupConfig,
  LaminarRecord,
  PartitionCommand,
  TopicConfig,
} from '../broker/commands'
import { LaminarError } from '../errors/laminar-error'
import { RecordBatch, takeBatchHeadroom } from './record-batch'
import { decodeStartPosition } from './start-position'
import { arrayOf, num, plainObject, str } from './value-checks'

/** Bumped when a body layout changes; decoders reject versions they do not know. */
export const COMMAND_FORMAT_VERSION = 1

const PARTITION_TAGS = {
  append: 9,
  groupCreate: 2,
  groupConfig: 3,
  ack: 4,
  delivered: 5,
  deadLettered: 6,
  commitOffset: 7,
  groupDelete: 8,
} as const satisfies Record<PartitionCommand['type'], number>

const CONTROLLER_TAGS = {
  join: 32,
  leave: 33,
  createTopic: 34,
  deleteTopic: 35,
  reassignPartition: 36,
  reassignmentDone: 37,
} as const satisfies Record<ControllerCommand['type'], number>

/** The first append format: msgpack records. Read (for old logs), never written. */
const MSGPACK_APPEND_TAG = 1

const partitionTypeByTag = invert(PARTITION_TAGS)
partitionTypeByTag.set(MSGPACK_APPEND_TAG, 'append')
const controllerTypeByTag = invert(CONTROLLER_TAGS)

// useRecords: false keeps the encoding plain MessagePack, identical for identical input.
const packr = new Packr({ useRecords: false, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true })

const HEADER_LENGTH = 2

/**
 * Encode a partition command as Raft entry data. With `prefixBytes`, the result starts with that
 * many bytes left for the caller to fill (a proposal header): the command follows them.
 */
export function encodePartitionCommand(command: PartitionCommand, prefixBytes = 0): Uint8Array {
  if (command.type === 'append') return encodeAppend(command, prefixBytes)
  return frame(PARTITION_TAGS[command.type], partitionBody(command), prefixBytes)
}

/** Decode Raft entry data written by {@link encodePartitionCommand}. Throws STORAGE_CORRUPT. */
export function decodePartitionCommand(data: Uint8Array): PartitionCommand {
  if (data instanceof Uint8Array && data[0] === COMMAND_FORMAT_VERSION && data[1] === PARTITION_TAGS.append) {
    try {
      return decodeAppend(data)
    } catch (error) {
      throw wrapCorrupt(error, 'append')
    }
  }
  const { tag, body } = unframe(data)
  const type = partitionTypeByTag.get(tag)
  if (type === undefined) throw corrupt(`unknown partition command tag ${tag}`)
  try {
    return decodePartitionBody(type, body)
  } catch (error) {
    throw wrapCorrupt(error, type)
  }
}

// --- binary appends ------------------------------------------------------------------------

const NO_PRODUCER = 0xffff
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/** Bytes of an append's header before its batch: `[version][tag][u16 producerIdBytes][producerId][f64 sequence]`. */
export function appendHeaderBytes(producerIdBytes: number): number {
  return HEADER_LENGTH + 2 + producerIdBytes + 8
}

/**
 * `[prefix][version][tag][u16 producerIdBytes][producerId][f64 sequence, NaN = none][batch]`.
 * A batch given with enough headroom (codec/record-batch.ts, the producer's own buffer or the
 * produce frame it arrived in) gets the header written in front of it: the entry is the
 * producer's bytes. Otherwise one copy of the batch.
 */
function encodeAppend(command: AppendCommand, prefixBytes: number): Uint8Array {
  const producerId = command.producerId === undefined ? undefined : textEncoder.encode(command.producerId)
  if (producerId !== undefined && producerId.length >= NO_PRODUCER) {
    throw new LaminarError('INVALID_ARGUMENT', 'producerId too long')
  }
  const batch = command.batch.bytes
  const producerBytes = producerId?.length ?? 0
  const headerBytes = appendHeaderBytes(producerBytes)
  let out: Uint8Array
  if (takeBatchHeadroom(batch) >= prefixBytes + headerBytes) {
    const start = batch.byteOffset - headerBytes - prefixBytes
    out = new Uint8Array(batch.buffer, start, prefixBytes + headerBytes + batch.length)
  } else {
    out = new Uint8Array(prefixBytes + headerBytes + batch.length)
    out.set(batch, prefixBytes + headerBytes)
  }
  const at = prefixBytes + HEADER_LENGTH
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out[prefixBytes] = COMMAND_FORMAT_VERSION
  out[prefixBytes + 1] = PARTITION_TAGS.append
  view.setUint16(at, producerId === undefined ? NO_PRODUCER : producerBytes)
  if (producerId !== undefined) out.set(producerId, at + 2)
  // NaN marks "no sequence": a sequence without a producer id must still reach apply (and be refused).
  view.setFloat64(at + 2 + producerBytes, command.sequence ?? Number.NaN)
  return out
}

function decodeAppend(data: Uint8Array): AppendCommand {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data.length < HEADER_LENGTH + 2 + 8) throw new TypeError('append shorter than its header')
  const producerBytes = view.getUint16(HEADER_LENGTH)
  const hasProducer = producerBytes !== NO_PRODUCER
  const sequenceAt = HEADER_LENGTH + 2 + (hasProducer ? producerBytes : 0)
  if (data.length < sequenceAt + 8) throw new TypeError('append shorter than its producer id')
  const command: AppendCommand = { type: 'append', batch: new RecordBatch(data.subarray(sequenceAt + 8)) }
  if (hasProducer) command.producerId = textDecoder.decode(data.subarray(HEADER_LENGTH + 2, sequenceAt))
  const sequence = view.getFloat64(sequenceAt)
  if (!Number.isNaN(sequence)) command.sequence = sequence
  return command
}

/** Encode a controller command as Raft entry data. */
export function encodeControllerCommand(command: ControllerCommand): Uint8Array {
  return frame(CONTROLLER_TAGS[command.type], controllerBody(command))
}

/** Decode Raft entry data written by {@link encodeControllerCommand}. Throws STORAGE_CORRUPT. */
export function decodeControllerCommand(data: Uint8Array): ControllerCommand {
  const { tag, body } = unframe(data)
  const type = controllerTypeByTag.get(tag)
  if (type === undefined) throw corrupt(`unknown controller command tag ${tag}`)
  try {
    return decodeControllerBody(type, body)
  } catch (error) {
    throw wrapCorrupt(error, type)
  }
}

/**
 * The command type of an entry without decoding its body; undefined for empty data (a leader's
 * no-op) or an unknown version/tag. Lets log readers skip everything but appends cheaply.
 */
export function peekCommandType(
  data: Uint8Array,
): PartitionCommand['type'] | ControllerCommand['type'] | undefined {
  if (data.length < HEADER_LENGTH || data[0] !== COMMAND_FORMAT_VERSION) return undefined
  const tag = data[1]!
  return partitionTypeByTag.get(tag) ?? controllerTypeByTag.get(tag)
}

// --- framing -------------------------------------------------------------------------------

/** msgpackr reserves at most this many bytes before a packed value. */
const RESERVED_BYTES_MAX = 255

/**
 * `[prefix][version][tag][msgpack body]`. The body is packed after reserved space, so the
 * frame is the packer's output itself, not a copy: a view on a block of the packer that later
 * packs never overwrite (msgpackr moves on, or to a new block). Prefixes too long for the
 * reservation take one copy.
 */
function frame(tag: number, body: unknown, prefixBytes = 0): Uint8Array {
  const reservedBytes = prefixBytes + HEADER_LENGTH
  let out: Uint8Array
  if (reservedBytes <= RESERVED_BYTES_MAX) {
    const packed = packr.pack(body, RESERVE_START_SPACE | reservedBytes)
    // A plain Uint8Array view (not a Buffer) over the packed bytes.
    out = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
  } else {
    const packed = packr.pack(body)
    out = new Uint8Array(reservedBytes + packed.length)
    out.set(packed, reservedBytes)
  }
  out.fill(0, 0, prefixBytes)
  out[prefixBytes] = COMMAND_FORMAT_VERSION
  out[prefixBytes + 1] = tag
  return out
}

function unframe(data: Uint8Array): { tag: number; body: unknown[] } {
  if (!(data instanceof Uint8Array)) throw corrupt('entry data must be bytes')
  if (data.length <= HEADER_LENGTH) throw corrupt('entry data too short')
  if (data[0] !== COMMAND_FORMAT_VERSION) throw corrupt(`unknown command format version ${data[0]}`)
  let body: unknown
  try {
    body = unpackr.unpack(data.subarray(HEADER_LENGTH))
  } catch (error) {
    throw corrupt('entry body is not valid MessagePack', error)
  }
  if (!Array.isArray(body)) throw corrupt('entry body must be an array')
  return { tag: data[1]!, body }
}

// --- partition bodies ----------------------------------------------------------------------

function partitionBody(command: PartitionCommand): unknown[] {
  switch (command.type) {
    case 'append':
      throw new LaminarError('INTERNAL', 'appends are encoded by encodeAppend')
    case 'groupCreate':
      return [command.group, command.config ?? {}]
    case 'groupConfig':
      return [command.group, command.config]
    case 'ack':
    case 'delivered':
    case 'deadLettered':
      return [command.group, command.offsets]
    case 'commitOffset':
      return [command.group, command.offset]
    case 'groupDelete':
      return [command.group]
  }
}

function decodePartitionBody(type: PartitionCommand['type'], body: unknown[]): PartitionCommand {
  switch (type) {
    case 'append': {
      // The first append format (tag 1): msgpack records, re-encoded as a batch.
      const [producerId, sequence, records] = body
      const command: AppendCommand = {
        type,
        batch: RecordBatch.encode(arrayOf(records, 'records').map(decodeRecord)),
      }
      if (producerId !== null) command.producerId = str(producerId, 'producerId')
      if (sequence !== null) command.sequence = num(sequence, 'sequence')
      return command
    }
    case 'groupCreate':
      return { type, group: str(body[0], 'group'), config: decodeGroupConfig(body[1]) }
    case 'groupConfig':
      return { type, group: str(body[0], 'group'), config: decodeGroupConfig(body[1]) }
    case 'ack':
    case 'delivered':
    case 'deadLettered':
      return {
        type,
        group: str(body[0], 'group'),
        offsets: arrayOf(body[1], 'offsets').map((offset) => num(offset, 'offset')),
      }
    case 'commitOffset':
      return { type, group: str(body[0], 'group'), offset: num(body[1], 'offset') }
    case 'groupDelete':
      return { type, group: str(body[0], 'group') }
  }
}

function decodeRecord(value: unknown): LaminarRecord {
  if (!Array.isArray(value) || value.length !== 4) throw new TypeError('record must be a 4-array')
  const [key, recordValue, headers, timestampMs] = value
  if (key !== null && !(key instanceof Uint8Array)) throw new TypeError('record key must be bytes or null')
  if (!(recordValue instanceof Uint8Array)) throw new TypeError('record value must be bytes')
  return {
    key,
    value: recordValue,
    headers: decodeHeaders(headers),
    timestampMs: num(timestampMs, 'timestamp'),
  }
}

function decodeHeaders(value: unknown): Record<string, Uint8Array> {
  const source = plainObject(value, 'headers')
  // A fresh null-prototype object: header names come from producers and must not reach Object.prototype.
  const headers: Record<string, Uint8Array> = Object.create(null)
  for (const name of Object.keys(source)) {
    const header = source[name]
    if (!(header instanceof Uint8Array)) throw new TypeError(`header ${name} must be bytes`)
    headers[name] = header
  }
  return headers
}

function decodeGroupConfig(value: unknown): Partial<GroupConfig> {
  const source = plainObject(value, 'config')
  const config: Partial<GroupConfig> = {}
  if (source.ackWaitMs !== undefined) config.ackWaitMs = num(source.ackWaitMs, 'ackWaitMs')
  if (source.maxDeliveries !== undefined) config.maxDeliveries = num(source.maxDeliveries, 'maxDeliveries')
  if (source.deadLetterTopic !== undefined) {
    config.deadLetterTopic =
      source.deadLetterTopic === null ? null : str(source.deadLetterTopic, 'deadLetterTopic')
  }
  if (source.perKeyOrdering !== undefined) {
    if (typeof source.perKeyOrdering !== 'boolean') throw new TypeError('perKeyOrdering must be boolean')
    config.perKeyOrdering = source.perKeyOrdering
  }
  if (source.startPosition !== undefined) config.startPosition = decodeStartPosition(source.startPosition)
  return config
}

// --- controller bodies ---------------------------------------------------------------------

function controllerBody(command: ControllerCommand): unknown[] {
  switch (command.type) {
    case 'join':
      if (command.storageId === undefined) return [command.nodeId, command.addresses ?? {}]
      return command.freshStorage === true
        ? [command.nodeId, command.addresses ?? {}, command.storageId, true]
        : [command.nodeId, command.addresses ?? {}, command.storageId]
    case 'leave':
      return [command.nodeId]
    case 'createTopic':
      return [command.name, command.partitions, command.replicationFactor, command.config ?? {}]
    case 'deleteTopic':
      return [command.name]
    case 'reassignPartition':
      return [command.topic, command.partition, command.replicas]
    case 'reassignmentDone':
      return [command.topic, command.topicId, command.partition, command.replicas]
  }
}

function decodeControllerBody(type: ControllerCommand['type'], body: unknown[]): ControllerCommand {
  switch (type) {
    case 'join': {
      const source = plainObject(body[1], 'addresses')
      const addresses: Record<string, string> = {}
      for (const name of Object.keys(source)) addresses[name] = str(source[name], `addresses.${name}`)
      const storageId = body[2] === undefined ? {} : { storageId: str(body[2], 'storageId') }
      const fresh = body[3] === true ? { freshStorage: true } : {}
      return { type, nodeId: str(body[0], 'nodeId'), addresses, ...storageId, ...fresh }
    }
    case 'leave':
      return { type, nodeId: str(body[0], 'nodeId') }
    case 'createTopic': {
      const source = plainObject(body[3], 'config')
      const config: Partial<TopicConfig> = {}
      for (const name of ['retentionBytes', 'retentionMs', 'maxMessageBytes', 'segmentBytes'] as const) {
        if (source[name] !== undefined) config[name] = num(source[name], name)
      }
      return {
        type,
        name: str(body[0], 'name'),
        partitions: num(body[1], 'partitions'),
        replicationFactor: num(body[2], 'replicationFactor'),
        config,
      }
    }
    case 'deleteTopic':
      return { type, name: str(body[0], 'name') }
    case 'reassignPartition':
      return {
        type,
        topic: str(body[0], 'topic'),
        partition: num(body[1], 'partition'),
        replicas: arrayOf(body[2], 'replicas').map((r) => str(r, 'replica')),
      }
    case 'reassignmentDone':
      return {
        type,
        topic: str(body[0], 'topic'),
        topicId: num(body[1], 'topicId'),
        partition: num(body[2], 'partition'),
        replicas: arrayOf(body[3], 'replicas').map((r) => str(r, 'replica')),
      }
  }
}

function invert<T extends string>(tags: Record<T, number>): Map<number, T> {
  return new Map(Object.entries(tags).map(([type, tag]) => [tag as number, type as T]))
}

function corrupt(message: string, cause?: unknown): LaminarError {
  return new LaminarError('STORAGE_CORRUPT', `broker command: ${message}`, { cause })
}

function wrapCorrupt(error: unknown, type: string): LaminarError {
  const reason = error instanceof Error ? error.message : String(error)
  return corrupt(`malformed ${type} command: ${reason}`, error)
}
