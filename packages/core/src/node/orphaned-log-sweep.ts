import type { GroupCommit } from '../log/group-commit'
import { LogKeys } from '../log/keys'
import { storedGroupIds } from '../log/stored-group-ids'
import type { Storage } from '../ports/storage'

/** Stored group ids listed per step of the sweep (bounds its memory, not its reach). */
const SWEEP_GROUPS_PER_PAGE = 256

/** What the start-up sweep needs from its node. */
export interface OrphanedLogSweepOptions {
  storage: Storage
  groupCommit: GroupCommit
  /** True for a partition group this node hosts, is opening, or the placement assigns to it. */
  isKept: (groupId: string) => boolean
  /** False once the node stops: the sweep ends at its next group. */
  isRunning: () => boolean
}

/**
 * Clears the logs of partition groups (`p/...`) still in storage that the node no longer keeps:
 * a topic deleted, or a replica moved, while the node was down is never reopened, so nothing else
 * would ever clear them. Pages through the stored group ids a bounded number at a time; each
 * clear goes through the GroupCommit like every other write. Never touches the controller's log
 * or any id outside `p/`.
 */
export async function sweepOrphanedLogs(options: OrphanedLogSweepOptions): Promise<void> {
  let from: Uint8Array | undefined
  do {
    const page = await storedGroupIds(options.storage, { groupsMax: SWEEP_GROUPS_PER_PAGE, from })
    from = page.next
    for (const groupId of page.groupIds) {
      if (!options.isRunning()) return
      if (!groupId.startsWith('p/') || options.isKept(groupId)) continue
      const keys = new LogKeys(groupId)
      await options.groupCommit.commit(
        {
          groupId,
          operations: [],
          clearsAfterWrite: [{ gte: keys.prefix, lt: keys.groupEnd() }],
          markWritten: () => undefined,
          markFailed: () => undefined,
        },
        { sync: true },
      )
    }
  } while (from !== undefined)
}

/**
 * The sweep's `isKept`: a group the placement gives this node (recomputed only when the
 * controller's version changed, since the placement may change while the sweep runs), or one the
 * node hosts or is opening.
 */
export function keptByPlacement(
  version: () => number,
  placedGroupIds: () => ReadonlySet<string>,
  isHosted: (groupId: string) => boolean,
): (groupId: string) => boolean {
  let keptVersion = -1
  let kept: ReadonlySet<string> = new Set()
  return (groupId) => {
    if (version() !== keptVersion) {
      keptVersion = version()
      kept = placedGroupIds()
    }
    return kept.has(groupId) || isHosted(groupId)
  }
}
