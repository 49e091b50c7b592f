/**
 * State machine snapshots: `[formatVersion: u8][kind: u8][msgpack body]`. The body is built by
 * the state machine as plain arrays in a canonical order (sorted keys), so two replicas with
 * the same applied commands produce byte-identical snapshots.
 */
import { Packr, Unpackr } from 'msgpackr'
import { LaminarError } from '../errors/laminar-error'

export const SNAPSHOT_FORMAT_VERSION = 1

/** Which state machine a snapshot belongs to; restoring one into the other is refused. */
export type SnapshotKind = 'partition' | 'controller'

const KIND_TAGS: Record<SnapshotKind, number> = { partition: 1, controller: 2 }

const packr = new Packr({ useRecords: false, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true })

/** Encode a snapshot body (plain arrays, numbers, strings, bytes, null). */
export function encodeSnapshot(kind: SnapshotKind, body: unknown[]): Uint8Array {
  const packed = packr.pack(body)
  const out = new Uint8Array(2 + packed.length)
  out[0] = SNAPSHOT_FORMAT_VERSION
  out[1] = KIND_TAGS[kind]
  out.set(packed, 2)
  return out
}

/**
 * Decode a snapshot and hand its body to `build`, which may throw TypeError on a bad shape.
 * Every failure surfaces as STORAGE_CORRUPT; nothing else escapes.
 */
export function decodeSnapshot<T>(kind: SnapshotKind, bytes: Uint8Array, build: (body: unknown[]) => T): T {
  if (!(bytes instanceof Uint8Array) || bytes.length <= 2) throw corrupt(kind, 'snapshot too short')
  if (bytes[0] !== SNAPSHOT_FORMAT_VERSION) throw corrupt(kind, `unknown snapshot version ${bytes[0]}`)
  if (bytes[1] !== KIND_TAGS[kind]) throw corrupt(kind, `not a ${kind} snapshot`)
  let body: unknown
  try {
    body = unpackr.unpack(bytes.subarray(2))
  } catch (error) {
    throw corrupt(kind, 'snapshot body is not valid MessagePack', error)
  }
  if (!Array.isArray(body)) throw corrupt(kind, 'snapshot body must be an array')
  try {
    return build(body)
  } catch (error) {
    if (error instanceof LaminarError) throw error
    throw corrupt(
      kind,
      `malformed snapshot: ${error instanceof Error ? error.message : String(error)}`,
      error,
    )
  }
}

function corrupt(kind: SnapshotKind, message: string, cause?: unknown): LaminarError {
  return new LaminarError('STORAGE_CORRUPT', `${kind} snapshot: ${message}`, { cause })
}
