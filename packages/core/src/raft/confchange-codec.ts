/**
 * Binary encoding of ConfChange, carried in 'confChange' log entries.
 *
 * Layout (big-endian): version u8 (=1), transition u8, change count u16,
 * then per change: type u8, id length u16, id UTF-8; then context length u32 and context bytes.
 */
import { RaftError } from './errors'
import type { ConfChange, ConfChangeSingle, ConfChangeType, NodeId } from './types'

const FORMAT_VERSION = 1
const TRANSITIONS: ConfChange['transition'][] = ['auto', 'implicit', 'explicit']
const CHANGE_TYPES: ConfChangeType[] = ['addNode', 'addLearner', 'removeNode']
/** Bounds that keep a corrupt or hostile entry from allocating without limit. */
const CHANGES_MAX = 0xffff
const NODE_ID_BYTES_MAX = 0xffff

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

function invalid(message: string): never {
  throw new RaftError('invalidConfChange', message)
}

/** Encodes a conf change; throws RaftError('invalidConfChange') for an unknown type or oversized field. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const transition = TRANSITIONS.indexOf(change.transition)
  if (transition < 0) invalid(`unknown transition ${String(change.transition)}`)
  if (change.changes.length > CHANGES_MAX) invalid('too many changes')
  const ids: Uint8Array[] = []
  let size = 4
  for (const single of change.changes) {
    if (CHANGE_TYPES.indexOf(single.type) < 0) invalid(`unknown conf change type ${String(single.type)}`)
    const id = textEncoder.encode(single.nodeId)
    if (id.byteLength > NODE_ID_BYTES_MAX) invalid('node id too long')
    ids.push(id)
    size += 3 + id.byteLength
  }
  const context = change.context ?? new Uint8Array(0)
  size += 4 + context.byteLength
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  bytes[0] = FORMAT_VERSION
  bytes[1] = transition
  view.setUint16(2, change.changes.length)
  let offset = 4
  change.changes.forEach((single, i) => {
    const id = ids[i] as Uint8Array
    bytes[offset] = CHANGE_TYPES.indexOf(single.type)
    view.setUint16(offset + 1, id.byteLength)
    bytes.set(id, offset + 3)
    offset += 3 + id.byteLength
  })
  view.setUint32(offset, context.byteLength)
  bytes.set(context, offset + 4)
  return bytes
}

/** Decodes a conf change; throws RaftError('invalidConfChange') on malformed bytes. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const need = (offset: number, bytes: number): void => {
    if (offset + bytes > data.byteLength) invalid('truncated conf change')
  }
  need(0, 4)
  if (data[0] !== FORMAT_VERSION) invalid(`unknown conf change format version ${data[0]}`)
  const transition = TRANSITIONS[data[1] as number]
  if (transition === undefined) invalid(`unknown transition code ${data[1]}`)
  const count = view.getUint16(2)
  const changes: ConfChangeSingle[] = []
  let offset = 4
  for (let i = 0; i < count; i++) {
    need(offset, 3)
    const type = CHANGE_TYPES[data[offset] as number]
    if (type === undefined) invalid(`unknown conf change type code ${data[offset]}`)
    const idLength = view.getUint16(offset + 1)
    need(offset + 3, idLength)
    let nodeId: NodeId
    try {
      nodeId = textDecoder.decode(data.subarray(offset + 3, offset + 3 + idLength))
    } catch {
      invalid('node id is not valid UTF-8')
    }
    changes.push({ type, nodeId })
    offset += 3 + idLength
  }
  need(offset, 4)
  const contextLength = view.getUint32(offset)
  need(offset + 4, contextLength)
  if (offset + 4 + contextLength !== data.byteLength) invalid('trailing bytes after conf change')
  const change: ConfChange = { transition, changes }
  if (contextLength > 0) change.context = data.slice(offset + 4, offset + 4 + contextLength)
  return change
}
