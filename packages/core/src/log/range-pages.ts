import { STORAGE_RANGE_LIMIT_MAX, type Storage, type StorageEntry } from '../ports/storage'

const PAGE_ENTRIES = 1024

/** Reads every key in [gte, lt) page by page (each page bounded); `visit` returns false to stop. */
export async function forEachInRange(
  storage: Storage,
  gte: Uint8Array,
  lt: Uint8Array,
  visit: (item: StorageEntry) => boolean | undefined,
  pageEntries = PAGE_ENTRIES,
): Promise<void> {
  let from = gte
  for (;;) {
    const page = await storage.range({ gte: from, lt, limit: Math.min(pageEntries, STORAGE_RANGE_LIMIT_MAX) })
    for (const item of page) if (visit(item) === false) return
    const last = page[page.length - 1]
    if (last === undefined || page.length < pageEntries) return
    from = successor(last.key)
  }
}

/** The smallest key greater than `key`. */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1)
  next.set(key)
  return next
}
