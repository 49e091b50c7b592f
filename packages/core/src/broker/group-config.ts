import { type GroupConfig, NAME_PATTERN, type StartPosition } from './commands'

/** The longest ack wait a group may ask for: one day. */
export const ACK_WAIT_MS_MAX = 24 * 3600 * 1000
/** The most deliveries a group may allow before dead-lettering. */
export const MAX_DELIVERIES_MAX = 1_000_000

/**
 * Check a complete group config and return a canonical copy (fields in a fixed order, so
 * snapshots are byte-identical), or a message naming the bad field.
 */
export function validateGroupConfig(config: GroupConfig): GroupConfig | string {
  const { ackWaitMs, maxDeliveries, deadLetterTopic, perKeyOrdering } = config
  if (!Number.isSafeInteger(ackWaitMs) || ackWaitMs < 1 || ackWaitMs > ACK_WAIT_MS_MAX) {
    return `ackWaitMs must be an integer in [1, ${ACK_WAIT_MS_MAX}]`
  }
  if (!Number.isSafeInteger(maxDeliveries) || maxDeliveries < 0 || maxDeliveries > MAX_DELIVERIES_MAX) {
    return `maxDeliveries must be an integer in [0, ${MAX_DELIVERIES_MAX}] (0 = unlimited)`
  }
  if (
    deadLetterTopic !== null &&
    (typeof deadLetterTopic !== 'string' || !NAME_PATTERN.test(deadLetterTopic))
  ) {
    return 'deadLetterTopic must be null or a topic name'
  }
  if (typeof perKeyOrdering !== 'boolean') return 'perKeyOrdering must be a boolean'
  const startPosition = canonicalStartPosition(config.startPosition)
  if (startPosition === undefined)
    return 'startPosition must be earliest, latest, { offset >= 0 } or { timestampMs }'
  return { ackWaitMs, maxDeliveries, deadLetterTopic, startPosition, perKeyOrdering }
}

function canonicalStartPosition(position: StartPosition | undefined): StartPosition | undefined {
  switch (position?.type) {
    case 'earliest':
    case 'latest':
      return { type: position.type }
    case 'offset':
      return Number.isSafeInteger(position.offset) && position.offset >= 0
        ? { type: 'offset', offset: position.offset }
        : undefined
    case 'time':
      return Number.isFinite(position.timestampMs)
        ? { type: 'time', timestampMs: position.timestampMs }
        : undefined
    default:
      return undefined
  }
}
