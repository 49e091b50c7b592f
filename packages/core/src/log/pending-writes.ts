import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import { deferredTruncationsPrepare } from './deferred-truncation'
import { KeyKind } from './keys'
import type { LogState, StagedWrite } from './log-state'
import { encodeFormat, LOG_FORMAT_VERSION } from './records'
import type { WritePlan } from './staging'
import type { UnwrittenRange } from './time-index'

/**
 * A log's staged writes that have not landed yet. Their appended entries stay pinned in the
 * cache, since storage cannot serve them before the write lands. A failed write fails the log:
 * its memory is then ahead of storage, so every later stage throws until the host reopens it.
 */
export class PendingWrites {
  readonly #storage: Storage
  readonly #state: LogState
  /** Re-applies the cache bounds: called whenever what is pinned may have changed. */
  readonly #evict: () => void
  #unwritten: UnwrittenRange[] = []
  #failure: LaminarError | undefined

  constructor(storage: Storage, state: LogState, evict: () => void) {
    this.#storage = storage
    this.#state = state
    this.#evict = evict
  }

  /** Staged appends not written yet; the time index answers them from their staged timestamp. */
  get unwritten(): readonly UnwrittenRange[] {
    return this.#unwritten
  }

  /** The cache keeps every entry from here on: the first index of the oldest unwritten append. */
  pinnedFromIndex(): number {
    let pinned = Number.POSITIVE_INFINITY
    for (const unwritten of this.#unwritten) pinned = Math.min(pinned, unwritten.fromIndex)
    return pinned
  }

  /** Throws why the log refuses writes (STORAGE_FAILED, STORAGE_CLOSED), if it does. */
  assertWritable(): void {
    if (this.#failure !== undefined) throw this.#failure
  }

  /** From here on the log refuses writes with `error`, unless it refuses them already. */
  refuseWrites(error: LaminarError): void {
    this.#failure ??= error
  }

  /** Turns a plan already applied to memory into the write the host sends (see StagedWrite). */
  toStaged(plan: WritePlan): StagedWrite {
    const state = this.#state
    const groupId = state.keys.groupId
    let unwritten: UnwrittenRange | undefined
    if (plan.appendedFromIndex !== undefined) {
      unwritten = {
        fromIndex: plan.appendedFromIndex,
        toIndex: state.lastIndex,
        timestampMs: plan.timestampMs,
      }
      this.#unwritten.push(unwritten)
    }
    let settled = false
    const release = () => {
      if (settled) return false
      settled = true
      if (unwritten !== undefined) this.#unwritten = this.#unwritten.filter((item) => item !== unwritten)
      return true
    }
    this.#evict()
    if (!state.formatWritten && plan.operations.length > 0) {
      // A fresh log's first write carries the format key, atomically with its first entries
      // (pushed last: deferred truncations hold positions in the list).
      plan.operations.push({
        type: 'put',
        key: state.keys.single(KeyKind.format),
        value: encodeFormat(LOG_FORMAT_VERSION),
      })
      state.formatWritten = true
    }
    return {
      groupId,
      operations: plan.operations,
      clearsAfterWrite: plan.clearsAfterWrite,
      prepare: deferredTruncationsPrepare(this.#storage, state, plan),
      markWritten: () => {
        if (release()) this.#evict()
      },
      markFailed: (error: unknown) => {
        if (!release()) return
        this.#failure = new LaminarError(
          'STORAGE_FAILED',
          `a write of log ${groupId} failed: reopen the log`,
          {
            cause: error,
          },
        )
      },
    }
  }
}
