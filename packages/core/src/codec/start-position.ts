import type { StartPosition } from '../broker/commands'
import { int, num, plainObject } from './value-checks'

/**
 * Decodes a group's start position, as carried by commands and partition snapshots alike.
 * Throws TypeError on anything else; callers turn that into their own error code.
 */
export function decodeStartPosition(value: unknown): StartPosition {
  const source = plainObject(value, 'startPosition')
  switch (source.type) {
    case 'earliest':
    case 'latest':
      return { type: source.type }
    case 'offset':
      return { type: 'offset', offset: int(source.offset, 'startPosition.offset') }
    case 'time':
      return { type: 'time', timestampMs: num(source.timestampMs, 'startPosition.timestampMs') }
    default:
      throw new TypeError('unknown start position type')
  }
}
