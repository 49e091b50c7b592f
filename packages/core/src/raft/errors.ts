/**
 * Errors raised by the Raft core. raft/ imports nothing outside raft/, so these are its own
 * classes; the node layer maps them onto LaminarError codes.
 */

/**
 * - proposalDropped: the proposal (or conf change) was not taken: no leader, forwarding disabled,
 *   a leadership transfer in progress, the uncommitted-bytes bound reached, this node was removed,
 *   or a conf change is not allowed now (one pending, or the leader has not committed in its term).
 * - readIndexDropped: a ReadIndex request could not be taken (no known leader, or its queue is full).
 * - stepLocalMessage: a local-only message type was given to `step()`.
 * - invalidConfig: the RaftConfig fails validation.
 * - invalidConfChange: a conf change cannot be applied to the current configuration, or its bytes do not decode.
 * - snapshotOutOfDate: a snapshot older than the storage's current one.
 * - invariantViolated: a Raft invariant does not hold (a bug, or a host that broke the Ready contract).
 */
export type RaftErrorKind =
  | 'proposalDropped'
  | 'readIndexDropped'
  | 'stepLocalMessage'
  | 'invalidConfig'
  | 'invalidConfChange'
  | 'snapshotOutOfDate'
  | 'invariantViolated'

/** An error from the Raft core; `kind` is stable, the message is for humans. */
export class RaftError extends Error {
  readonly kind: RaftErrorKind
  constructor(kind: RaftErrorKind, message?: string) {
    super(message ?? `raft: ${kind}`)
    this.name = 'RaftError'
    this.kind = kind
  }
}

/** True when `error` is a RaftError of the given kind. */
export function isRaftError(error: unknown, kind?: RaftErrorKind): error is RaftError {
  return error instanceof RaftError && (kind === undefined || error.kind === kind)
}

/**
 * Throws an invariant violation: used where etcd panics. Pass a function for a message that
 * interpolates values, so hot paths do not build strings when the invariant holds.
 */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftError('invariantViolated', typeof message === 'string' ? message : message())
}

/** Throws an invariant violation with a message built only on failure (`if (!ok) invariantFailed(...)`). */
export function invariantFailed(message: string): never {
  throw new RaftError('invariantViolated', message)
}
