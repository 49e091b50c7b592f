/**
 * Stable error codes. Tests and callers match on `code`, never on the message.
 * Every code is documented in docs/errors.md.
 */
export type LaminarErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_LEADER'
  | 'TOPIC_NOT_FOUND'
  | 'TOPIC_EXISTS'
  | 'PARTITION_NOT_FOUND'
  | 'GROUP_NOT_FOUND'
  | 'MESSAGE_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'BUFFER_FULL'
  | 'TIMEOUT'
  | 'UNAUTHORIZED'
  | 'STORAGE_CORRUPT'
  | 'STORAGE_CLOSED'
  | 'STORAGE_NOT_OPEN'
  | 'STORAGE_NOT_SUPPORTED'
  | 'STORAGE_FAILED'
  | 'LOG_COMPACTED'
  | 'LOG_UNAVAILABLE'
  | 'PROPOSAL_DROPPED'
  | 'CONNECTION_CLOSED'
  | 'NODE_STOPPED'
  | 'NODE_NOT_FOUND'
  | 'REASSIGNMENT_IN_PROGRESS'
  | 'OFFSET_OUT_OF_RANGE'
  | 'UNKNOWN_MEMBER'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'CONTROLLER_UNAVAILABLE'
  | 'INTERNAL'

export interface LaminarErrorOptions {
  cause?: unknown
  /** For NOT_LEADER: the node id the client should retry against, when known. */
  leaderHint?: string
  /** Extra machine-readable context (key, group id, limit...). */
  details?: Record<string, unknown>
}

/** The one error type laminar-ts throws on purpose. */
export class LaminarError extends Error {
  readonly code: LaminarErrorCode
  readonly leaderHint: string | undefined
  readonly details: Record<string, unknown> | undefined

  constructor(code: LaminarErrorCode, message: string, options: LaminarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'LaminarError'
    this.code = code
    this.leaderHint = options.leaderHint
    this.details = options.details
  }
}

/** True when `error` is a LaminarError, optionally with the given code. */
export function isLaminarError(error: unknown, code?: LaminarErrorCode): error is LaminarError {
  return error instanceof LaminarError && (code === undefined || error.code === code)
}
