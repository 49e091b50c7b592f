import { LaminarError } from '../errors/laminar-error'
import type { Storage, StorageOperation } from '../ports/storage'
import type { StagedWrite } from './log-state'

/** Bounds of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Staged writes waiting for the next storage write; more is BUFFER_FULL. Default 4096. */
  pendingWritesMax?: number
  /** Operations per storage write; a larger group is split over several writes. Default 100,000. */
  operationsPerWriteMax?: number
}

interface Pending {
  staged: StagedWrite
  sync: boolean
  resolve: () => void
  reject: (error: unknown) => void
}

/** Counters, for tests and metrics. */
export interface GroupCommitStats {
  storageWrites: number
  stagedWrites: number
  syncedWrites: number
}

/**
 * Coalesces the staged writes of many logs into one atomic storage write and one sync.
 * Every write staged in the same synchronous turn (e.g. one node tick walking all its Raft
 * groups' Ready) joins the next storage write; writes that arrive while one is in flight join the
 * one after. Writes keep their arrival order, so each log's writes land in the order staged.
 * A write is synced if any of its members asked for sync.
 */
export class GroupCommit {
  readonly storage: Storage
  readonly #pendingWritesMax: number
  readonly #operationsPerWriteMax: number
  #pending: Pending[] = []
  #draining = false
  readonly #stats: GroupCommitStats = { storageWrites: 0, stagedWrites: 0, syncedWrites: 0 }

  constructor(storage: Storage, options: GroupCommitOptions = {}) {
    this.storage = storage
    this.#pendingWritesMax = options.pendingWritesMax ?? 4096
    this.#operationsPerWriteMax = options.operationsPerWriteMax ?? 100_000
    if (!Number.isInteger(this.#pendingWritesMax) || this.#pendingWritesMax < 1) {
      throw new LaminarError('INVALID_ARGUMENT', 'pendingWritesMax must be a positive integer')
    }
    if (!Number.isInteger(this.#operationsPerWriteMax) || this.#operationsPerWriteMax < 1) {
      throw new LaminarError('INVALID_ARGUMENT', 'operationsPerWriteMax must be a positive integer')
    }
  }

  get stats(): GroupCommitStats {
    return { ...this.#stats }
  }

  /** Staged writes waiting or in flight. */
  get pendingWrites(): number {
    return this.#pending.length
  }

  /**
   * Queues `staged` for the next group write; resolves once it is written (durably when `sync`)
   * and its clears ran. Rejects with BUFFER_FULL when too many writes wait, or with the storage
   * error (the staged write is then marked failed).
   */
  commit(staged: StagedWrite, options: { sync?: boolean } = {}): Promise<void> {
    if (this.#pending.length >= this.#pendingWritesMax) {
      return Promise.reject(
        new LaminarError('BUFFER_FULL', `group commit has ${this.#pending.length} writes waiting`, {
          details: { pendingWritesMax: this.#pendingWritesMax },
        }),
      )
    }
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ staged, sync: options.sync === true, resolve, reject })
      if (!this.#draining) {
        this.#draining = true
        // A microtask, not a timer: everything staged in this synchronous turn joins the write.
        queueMicrotask(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      let group = this.#takeGroup()
      if (group.some((member) => member.staged.prepare !== undefined)) group = await this.#prepare(group)
      if (group.length === 0) continue
      const operations: StorageOperation[] = []
      let sync = false
      for (const member of group) {
        for (const op of member.staged.operations) operations.push(op)
        sync ||= member.sync
      }
      try {
        await this.storage.write(operations, { sync, adopt: true })
        for (const member of group) {
          for (const clear of member.staged.clearsAfterWrite) await this.storage.clear(clear)
        }
      } catch (error) {
        for (const member of group) {
          member.staged.markFailed(error)
          member.reject(error)
        }
        continue
      } finally {
        this.#pending.splice(0, group.length)
      }
      this.#stats.storageWrites++
      this.#stats.stagedWrites += group.length
      if (sync) this.#stats.syncedWrites++
      for (const member of group) {
        member.staged.markWritten()
        member.resolve()
      }
    }
    this.#draining = false
  }

  /**
   * Runs the members' prepare steps (earlier groups have landed); a member whose step fails is
   * failed alone and leaves the group. Removes the failed members from #pending.
   */
  async #prepare(group: Pending[]): Promise<Pending[]> {
    const ready: Pending[] = []
    for (const member of group) {
      try {
        await member.staged.prepare?.()
        ready.push(member)
      } catch (error) {
        member.staged.markFailed(error)
        member.reject(error)
        this.#pending.splice(this.#pending.indexOf(member), 1)
      }
    }
    return ready
  }

  /** The oldest pending writes whose operations fit one storage write (at least one). */
  #takeGroup(): Pending[] {
    let operations = 0
    let count = 0
    for (const member of this.#pending) {
      operations += member.staged.operations.length
      if (count > 0 && operations > this.#operationsPerWriteMax) break
      count++
    }
    return this.#pending.slice(0, count)
  }
}
