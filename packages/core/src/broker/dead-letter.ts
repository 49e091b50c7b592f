import type { LaminarRecord } from './commands'
import type { DeadLetter } from './dispatcher'

/** Header names added to a dead-lettered record, next to its original headers. */
export const DEAD_LETTER_HEADERS = Object.freeze({
  reason: 'laminar-dead-letter-reason',
  deliveryCount: 'laminar-delivery-count',
  topic: 'laminar-original-topic',
  partition: 'laminar-original-partition',
  offset: 'laminar-original-offset',
  group: 'laminar-original-group',
})

/** Where a dead-lettered record came from. */
export interface DeadLetterSource {
  topic: string
  partition: number
  group: string
}

const encoder = new TextEncoder()

/**
 * The record to append to the dead-letter topic: the original key, value, timestamp and headers
 * (bytes untouched), plus headers naming the reason, the delivery count and the source.
 */
export function deadLetterRecord(
  original: LaminarRecord,
  source: DeadLetterSource,
  deadLetter: DeadLetter,
): LaminarRecord {
  const text = (value: string | number) => encoder.encode(String(value))
  return {
    key: original.key,
    value: original.value,
    timestampMs: original.timestampMs,
    headers: {
      ...original.headers,
      [DEAD_LETTER_HEADERS.reason]: text(deadLetter.reason),
      [DEAD_LETTER_HEADERS.deliveryCount]: text(deadLetter.deliveryCount),
      [DEAD_LETTER_HEADERS.topic]: text(source.topic),
      [DEAD_LETTER_HEADERS.partition]: text(source.partition),
      [DEAD_LETTER_HEADERS.offset]: text(deadLetter.offset),
      [DEAD_LETTER_HEADERS.group]: text(source.group),
    },
  }
}
