import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import type { StagedWrite } from './log-state'

/** Writes a log queues through its own chain (persist and friends) before BUFFER_FULL. */
const WRITES_QUEUED_MAX = 1024

/**
 * The order of one log's own writes (persist, createSnapshot, compact, applyRetention, destroy):
 * storage must see a log's writes in the order they were staged, so each starts once the one
 * before it landed or failed. GroupCommit keeps its own order.
 */
export class WriteChain {
  readonly #storage: Storage
  readonly #groupId: string
  #tail: Promise<void> = Promise.resolve()
  #queued = 0

  constructor(storage: Storage, groupId: string) {
    this.#storage = storage
    this.#groupId = groupId
  }

  /** Bounds the writes queued behind each other: BUFFER_FULL before anything is staged. */
  assertRoom(): void {
    if (this.#queued >= WRITES_QUEUED_MAX) {
      throw new LaminarError('BUFFER_FULL', `log ${this.#groupId} has ${this.#queued} writes queued`, {
        details: { groupId: this.#groupId, writesQueuedMax: WRITES_QUEUED_MAX },
      })
    }
  }

  /** Writes `staged` after every write queued before it, then marks it written (or failed). */
  write(staged: StagedWrite, sync: boolean): Promise<void> {
    this.#queued++
    const run = async () => {
      this.#queued--
      try {
        // No await without a prepare step: an extra microtask turn would reorder the simulator's traces.
        if (staged.prepare !== undefined) await staged.prepare()
        await this.#storage.write(staged.operations, { sync, adopt: true })
        for (const clear of staged.clearsAfterWrite) await this.#storage.clear(clear)
      } catch (error) {
        staged.markFailed(error)
        throw error
      }
      staged.markWritten()
    }
    const done = this.#tail.then(run, run)
    this.#tail = done.catch(() => undefined)
    return done
  }

  /** Resolves once every write queued so far has landed or failed. */
  settled(): Promise<void> {
    return this.#tail
  }
}
