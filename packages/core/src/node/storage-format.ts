import { LaminarError } from '../errors/laminar-error'
import { storedGroupIds } from '../log/stored-group-ids'
import type { Random } from '../ports/random'
import type { Storage } from '../ports/storage'
import { loadOrCreateStorageId } from './node-meta'

/** Stored group ids listed per step (bounds memory, not reach). */
const GROUPS_PER_PAGE = 256

/** Checks a node's storage before use (see below) and returns its storage id (made on first use). */
export async function prepareNodeStorage(storage: Storage, random: Random): Promise<string> {
  await refuseLogsBeforeReplicaIds(storage)
  return loadOrCreateStorageId(storage, random)
}

/**
 * Refuses storage written before replica ids: there a partition replica's log was stored under
 * its group id (`p/<topicId>/<partition>`) and its Raft named replicas by node id. This version
 * stores each replica incarnation under `p/<topicId>/<partition>@<epoch>` and names replicas
 * `<nodeId>@<epoch>`; reading the old logs would restart those groups under other names, so the
 * node stops with STORAGE_CORRUPT instead (`details.format`, `details.key`). One seek per stored
 * group at start.
 */
export async function refuseLogsBeforeReplicaIds(storage: Storage): Promise<void> {
  let from: Uint8Array | undefined
  do {
    const page = await storedGroupIds(storage, { groupsMax: GROUPS_PER_PAGE, from })
    from = page.next
    const old = page.groupIds.find((groupId) => groupId.startsWith('p/') && !groupId.includes('@'))
    if (old !== undefined) {
      throw new LaminarError(
        'STORAGE_CORRUPT',
        `partition log ${old} is of the format before replica ids (stored by group id, replicas named by node id); this version cannot read it: start the node on fresh storage`,
        { details: { key: old, format: 'partition log without replica id' } },
      )
    }
  } while (from !== undefined)
}
