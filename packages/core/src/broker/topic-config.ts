import type { TopicConfig } from './commands'

/** The largest record a topic may accept: 64 MiB. */
export const MAX_MESSAGE_BYTES_MAX = 64 * 1024 * 1024
/** Segment sizes a topic may ask for: 1 KiB .. 1 GiB. */
export const SEGMENT_BYTES_MIN = 1024
export const SEGMENT_BYTES_MAX = 1024 * 1024 * 1024

/**
 * Check a complete topic config and return a canonical copy (fixed field order), or a message
 * naming the bad field.
 */
export function validateTopicConfig(config: TopicConfig): TopicConfig | string {
  const { retentionBytes, retentionMs, maxMessageBytes, segmentBytes } = config
  if (!Number.isSafeInteger(retentionBytes) || retentionBytes < 0)
    return 'retentionBytes must be an integer >= 0'
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) return 'retentionMs must be an integer >= 0'
  if (
    !Number.isSafeInteger(maxMessageBytes) ||
    maxMessageBytes < 1 ||
    maxMessageBytes > MAX_MESSAGE_BYTES_MAX
  ) {
    return `maxMessageBytes must be an integer in [1, ${MAX_MESSAGE_BYTES_MAX}]`
  }
  if (
    !Number.isSafeInteger(segmentBytes) ||
    segmentBytes < SEGMENT_BYTES_MIN ||
    segmentBytes > SEGMENT_BYTES_MAX
  ) {
    return `segmentBytes must be an integer in [${SEGMENT_BYTES_MIN}, ${SEGMENT_BYTES_MAX}]`
  }
  return { retentionBytes, retentionMs, maxMessageBytes, segmentBytes }
}
