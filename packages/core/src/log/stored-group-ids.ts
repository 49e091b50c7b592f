import type { Storage } from '../ports/storage'
import { GROUP_ID_BYTES_MAX } from './keys'

/** One page of {@link storedGroupIds}: the ids found, and where the next page starts. */
export interface StoredGroupIdsPage {
  groupIds: string[]
  /** Pass as `from` for the next page; undefined when storage holds no further group. */
  next: Uint8Array | undefined
}

/**
 * The distinct group ids owning keys in `storage`, in key order, at most `groupsMax` of them.
 * One `range({ gte, limit: 1 })` per group: each seek lands on a group's first key and the next
 * one skips its whole prefix, so the cost is the number of groups, never the number of keys.
 * Keys that cannot start a group (a length above GROUP_ID_BYTES_MAX, such as a storage's own
 * reserved keys, which sort after every group) end the listing.
 */
export async function storedGroupIds(
  storage: Storage,
  options: { groupsMax: number; from?: Uint8Array },
): Promise<StoredGroupIdsPage> {
  const groupIds: string[] = []
  let gte: Uint8Array | undefined = options.from
  while (groupIds.length < options.groupsMax) {
    const [first] = await storage.range(gte === undefined ? { limit: 1 } : { gte, limit: 1 })
    if (first === undefined) return { groupIds, next: undefined }
    const key = first.key
    // A key shorter than a length prefix sorts before every group key: skip it alone.
    if (key.length < 2) {
      gte = Uint8Array.of(...key, 0)
      continue
    }
    const idBytes = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint16(0)
    if (idBytes > GROUP_ID_BYTES_MAX) return { groupIds, next: undefined }
    const prefixBytes = Math.min(key.length, 2 + idBytes)
    if (idBytes > 0 && prefixBytes === 2 + idBytes) {
      groupIds.push(new TextDecoder().decode(key.subarray(2, prefixBytes)))
    }
    gte = successorOf(key.subarray(0, prefixBytes))
    if (gte === undefined) return { groupIds, next: undefined }
  }
  return { groupIds, next: gte }
}

/** The smallest key above every key starting with `prefix`, or undefined when none exists (all 0xff). */
function successorOf(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  if (end === 0) return undefined
  const next = prefix.slice(0, end)
  next[end - 1] = next[end - 1]! + 1
  return next
}
