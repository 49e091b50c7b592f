import { appendHeaderBytes } from '../codec/command-codec'
import { giveBatchHeadroom, takeBatchHeadroom } from '../codec/record-batch'
import { RECORD_HEADER_BYTES } from '../log/records'
import type { ClientRequest } from './protocol'

/**
 * A produce request as one binary frame whose record batch is the tail of the frame, not a
 * msgpack `bin` (which msgpack copies into its output on every send). The producer encodes its
 * batch after enough free bytes for this header, so the frame is the producer's buffer with the
 * header written in front of the batch; the receiving node owns the frame (the Transport
 * contract), so after parsing it writes the append command's and the log record's headers over
 * the frame header and pad, and its log stores the batch where it arrived.
 *
 * Layout (big-endian; str = [u16 length][utf8]):
 * ```
 * [u8 PRODUCE_FRAME_KIND][u8 PRODUCE_FRAME_VERSION][u32 requestId][str topic][u32 partition]
 * [u16 producerIdBytes, 0xffff = none][producerId][f64 sequence][u16 padBytes][pad][record batch]
 * ```
 * The pad makes the bytes before the batch at least what the leader needs in front of it
 * ({@link leaderHeadroomBytes}); responses stay msgpack frames.
 */

/** First byte of a produce frame: Raft frames start with 0, msgpack frames (maps) with 0x80 and up. */
export const PRODUCE_FRAME_KIND = 1
/** Bumped when the layout changes; decoders refuse others. */
export const PRODUCE_FRAME_VERSION = 1

/**
 * Node ids up to this many UTF-8 bytes fit the headroom a produce frame carries for the leader's
 * proposal header; a leader with a longer id copies the batch once (still correct).
 */
export const PROPOSER_ID_HEADROOM_BYTES = 64

const NO_PRODUCER = 0xffff
const FIXED_BYTES = 1 + 1 + 4 + 2 + 4 + 2 + 8 + 2

type ProduceRequest = Extract<ClientRequest, { op: 'produce' }>

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * What a partition leader writes in front of a batch to append it without a copy: the log record
 * header, the proposal header (proposer id of up to PROPOSER_ID_HEADROOM_BYTES) and the append
 * command header.
 */
export function leaderHeadroomBytes(producerIdBytes: number): number {
  return RECORD_HEADER_BYTES + (1 + PROPOSER_ID_HEADROOM_BYTES + 8) + appendHeaderBytes(producerIdBytes)
}

/**
 * The free bytes a producer leaves in front of a batch for `topic` and `producerId`: a produce
 * frame's header and pad, which is also enough for the leader when the request stays in process.
 */
export function produceHeadroomBytes(topic: string, producerId: string | null): number {
  return frameHeaderBytes(textEncoder.encode(topic).length, producerIdLength(producerId))
}

function producerIdLength(producerId: string | null): number {
  return producerId === null ? 0 : textEncoder.encode(producerId).length
}

function frameHeaderBytes(topicBytes: number, producerIdBytes: number): number {
  return Math.max(FIXED_BYTES + topicBytes + producerIdBytes, leaderHeadroomBytes(producerIdBytes))
}

/**
 * Encodes a produce request. A batch given with enough headroom becomes the frame's tail in
 * place (the frame is a view of the batch's buffer, handed to the connection); any other batch
 * is copied once into a new frame.
 */
export function encodeProduceFrame(id: number, request: ProduceRequest): Uint8Array {
  const topic = textEncoder.encode(request.topic)
  const producerId = request.producerId === null ? undefined : textEncoder.encode(request.producerId)
  if (topic.length > 0xffff || (producerId !== undefined && producerId.length >= NO_PRODUCER)) {
    throw new RangeError('topic or producer id too long for a produce frame')
  }
  const producerBytes = producerId?.length ?? 0
  const headerBytes = frameHeaderBytes(topic.length, producerBytes)
  const batch = request.batch
  let frame: Uint8Array
  if (takeBatchHeadroom(batch) >= headerBytes) {
    frame = new Uint8Array(batch.buffer, batch.byteOffset - headerBytes, headerBytes + batch.length)
  } else {
    frame = new Uint8Array(headerBytes + batch.length)
    frame.set(batch, headerBytes)
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  frame[0] = PRODUCE_FRAME_KIND
  frame[1] = PRODUCE_FRAME_VERSION
  view.setUint32(2, id)
  let at = 6
  view.setUint16(at, topic.length)
  frame.set(topic, at + 2)
  at += 2 + topic.length
  view.setUint32(at, request.partition)
  at += 4
  view.setUint16(at, producerId === undefined ? NO_PRODUCER : producerBytes)
  if (producerId !== undefined) frame.set(producerId, at + 2)
  at += 2 + producerBytes
  view.setFloat64(at, request.sequence)
  at += 8
  view.setUint16(at, headerBytes - at - 2)
  return frame
}

/**
 * Decodes a produce frame. The batch is a view of the frame, given with the frame bytes before
 * it as headroom (the receiver owns the frame). Throws a TypeError or RangeError on malformed bytes.
 */
export function decodeProduceFrame(frame: Uint8Array): { id: number; request: ProduceRequest } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const need = (at: number, length: number): void => {
    if (at + length > frame.length) throw new RangeError('produce frame truncated')
  }
  need(0, FIXED_BYTES)
  if (frame[0] !== PRODUCE_FRAME_KIND) throw new TypeError('not a produce frame')
  if (frame[1] !== PRODUCE_FRAME_VERSION) throw new TypeError(`unknown produce frame version ${frame[1]}`)
  const id = view.getUint32(2)
  let at = 6
  const topicBytes = view.getUint16(at)
  need(at + 2, topicBytes)
  const topic = textDecoder.decode(frame.subarray(at + 2, at + 2 + topicBytes))
  at += 2 + topicBytes
  need(at, 4 + 2)
  const partition = view.getUint32(at)
  at += 4
  const producerBytes = view.getUint16(at)
  let producerId: string | null = null
  at += 2
  if (producerBytes !== NO_PRODUCER) {
    need(at, producerBytes)
    producerId = textDecoder.decode(frame.subarray(at, at + producerBytes))
    at += producerBytes
  }
  need(at, 8 + 2)
  const sequence = view.getFloat64(at)
  at += 8
  const padBytes = view.getUint16(at)
  at += 2 + padBytes
  need(0, at)
  const batch = frame.subarray(at)
  giveBatchHeadroom(batch, at)
  return { id, request: { op: 'produce', topic, partition, producerId, sequence, batch } }
}
