import { LaminarError } from '../errors/laminar-error'
import type { Storage, StorageOperation } from '../ports/storage'
import { hex, KeyKind } from './keys'
import type { LogState } from './log-state'
import { forEachInRange } from './range-pages'
import { chunkPrefixBytes } from './records'
import type { WritePlan } from './staging'

/** Chunks read per page while listing the chunks a deferred truncation deletes. */
const DELETE_PAGE_CHUNKS = 16

/**
 * The storage operations of a suffix truncation at `fromIndex` whose chunk the cache no longer
 * held (see DeferredTruncation in staging.ts), read from storage just before the write: the
 * chunk holding `fromIndex` is rewritten to its prefix (or deleted when it starts there) and
 * every stored chunk after it is deleted.
 *
 * Sound because the chunks this reads were all written by earlier, landed writes: entries a
 * write still in flight appended are pinned in the cache, so their chunks are known and staging
 * deleted them itself; and no later write can have changed entries below `fromIndex`.
 */
export async function deferredTruncationOperations(
  storage: Storage,
  state: LogState,
  fromIndex: number,
): Promise<StorageOperation[]> {
  const { keys } = state
  const operations: StorageOperation[] = []
  const [holding] = await storage.range({
    gte: keys.indexed(KeyKind.entry, state.start.index + 1),
    lt: keys.indexed(KeyKind.entry, fromIndex + 1),
    reverse: true,
    limit: 1,
  })
  if (holding !== undefined) {
    const firstIndex = keys.parseIndexed(KeyKind.entry, holding.key)
    if (firstIndex === fromIndex) operations.push({ type: 'del', key: holding.key })
    else {
      const prefixBytes = chunkPrefixBytes(holding.value, fromIndex - firstIndex)
      if (prefixBytes === undefined) {
        throw new LaminarError(
          'STORAGE_CORRUPT',
          `chunk ${firstIndex} of ${keys.groupId} does not reach entry ${fromIndex}`,
          { details: { groupId: keys.groupId, index: fromIndex, key: hex(holding.key) } },
        )
      }
      // A chunk ending before fromIndex stays as it is.
      if (prefixBytes < holding.value.length) {
        operations.push({ type: 'put', key: holding.key, value: holding.value.subarray(0, prefixBytes) })
      }
    }
  }
  await forEachInRange(
    storage,
    keys.indexed(KeyKind.entry, fromIndex + 1),
    keys.kindEnd(KeyKind.entry),
    ({ key }) => {
      operations.push({ type: 'del', key })
      return undefined
    },
    DELETE_PAGE_CHUNKS,
  )
  return operations
}

/** The prepare step of a staged write whose plan holds deferred truncations (undefined if none). */
export function deferredTruncationsPrepare(
  storage: Storage,
  state: LogState,
  plan: WritePlan,
): (() => Promise<void>) | undefined {
  const deferred = plan.deferredTruncations
  if (deferred.length === 0) return undefined
  return async () => {
    // Last first, so the positions of earlier ones stay valid.
    for (let i = deferred.length - 1; i >= 0; i--) {
      const truncation = deferred[i]!
      const operations = await deferredTruncationOperations(storage, state, truncation.fromIndex)
      plan.operations.splice(truncation.operationsAt, 0, ...operations)
    }
  }
}
