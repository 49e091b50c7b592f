import { NAME_PATTERN, TOPIC_PARTITIONS_MAX } from '../broker/commands'
import { LaminarError } from '../errors/laminar-error'
import type { WireRecord } from '../node/protocol'

/** A message as producers give it: strings are UTF-8 encoded, bytes kept as they are. */
export interface ProducerMessage {
  key?: string | Uint8Array | null
  value: string | Uint8Array
  headers?: Record<string, string | Uint8Array>
  /** Explicit partition; otherwise the key's hash, or round-robin without a key. */
  partition?: number
  /** Defaults to the producer's clock. */
  timestampMs?: number
}

const encoder = new TextEncoder()

function toBytes(value: string | Uint8Array, name: string): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value)
  if (value instanceof Uint8Array) return value
  throw new LaminarError('INVALID_ARGUMENT', `${name} must be a string or a Uint8Array`)
}

/** Validates and encodes one message into a record. */
export function toRecord(message: ProducerMessage, nowMs: number): WireRecord {
  if (message === null || typeof message !== 'object') {
    throw new LaminarError('INVALID_ARGUMENT', 'each message must be an object with a value')
  }
  const headers: Record<string, Uint8Array> = {}
  if (message.headers !== undefined) {
    for (const [name, value] of Object.entries(message.headers))
      headers[name] = toBytes(value, `header ${name}`)
  }
  const timestampMs = message.timestampMs ?? nowMs
  if (!Number.isFinite(timestampMs))
    throw new LaminarError('INVALID_ARGUMENT', 'timestampMs must be a finite number')
  return {
    key: message.key === undefined || message.key === null ? null : toBytes(message.key, 'key'),
    value: toBytes(message.value, 'value'),
    headers,
    timestampMs,
  }
}

export function assertName(name: unknown, what: 'topic' | 'group'): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new LaminarError('INVALID_ARGUMENT', `${what} name must match ${NAME_PATTERN}`, {
      details: { [what]: name },
    })
  }
}

export function assertPartitionCount(partitions: unknown): asserts partitions is number {
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > TOPIC_PARTITIONS_MAX
  ) {
    throw new LaminarError(
      'INVALID_ARGUMENT',
      `partitions must be an integer in [1, ${TOPIC_PARTITIONS_MAX}]`,
    )
  }
}

export function assertPositiveInteger(
  value: unknown,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new LaminarError('INVALID_ARGUMENT', `${name} must be an integer in [0, ${max}]`)
  }
}
