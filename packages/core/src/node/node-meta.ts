import { LaminarError } from '../errors/laminar-error'
import { LogKeys } from '../log/keys'
import type { Random } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { ConfState } from '../raft/types'

/**
 * Node-local facts kept beside the logs (not replicated): under their own group prefix, outside
 * `p/`, so the orphaned-log sweep never touches them.
 */
const NODE_META_KEYS = new LogKeys('node-meta')
/** The controller group's starting configuration, as a joiner was told it. */
const CONTROLLER_BOOTSTRAP_KIND = 0x01
/** This storage's random id, made at its first use (see JoinCommand.storageId). */
const STORAGE_ID_KIND = 0x02
/** The replica id this storage's controller replica runs as (see ClusterMember.controllerReplicaId). */
const CONTROLLER_REPLICA_ID_KIND = 0x03

type MetaKind = Parameters<LogKeys['single']>[0]

/**
 * The id of this node's storage, made (from `random`, stored durably) the first time the node
 * starts on it. A wiped or replaced disk gets a new one: the controller then renews the node's
 * replicas instead of letting them come back without their Raft state.
 */
export async function loadOrCreateStorageId(storage: Storage, random: Random): Promise<string> {
  const key = NODE_META_KEYS.single(STORAGE_ID_KIND as MetaKind)
  const stored = await storage.get(key)
  if (stored !== undefined) return new TextDecoder().decode(stored)
  let storageId = ''
  for (let i = 0; i < 4; i++) storageId += Math.floor(random.next() * 0x1_0000_0000).toString(36)
  await storage.write([{ type: 'put', key, value: new TextEncoder().encode(storageId) }], { sync: true })
  return storageId
}

function controllerBootstrapKey(): Uint8Array {
  return NODE_META_KEYS.single(CONTROLLER_BOOTSTRAP_KIND as MetaKind)
}

/** The controller bootstrap this node stored when it joined, if it ever did. */
export async function loadControllerBootstrap(storage: Storage): Promise<ConfState | undefined> {
  const bytes = await storage.get(controllerBootstrapKey())
  if (bytes === undefined) return undefined
  try {
    const conf = JSON.parse(new TextDecoder().decode(bytes)) as ConfState
    if (!Array.isArray(conf.voters) || !Array.isArray(conf.learners)) throw new TypeError('not a ConfState')
    return conf
  } catch (cause) {
    throw new LaminarError('STORAGE_CORRUPT', 'stored controller bootstrap is not a configuration', {
      cause,
      details: { key: 'node-meta/controller-bootstrap' },
    })
  }
}

/** Stores the controller bootstrap durably: a restarted joiner must start from the same one. */
export async function saveControllerBootstrap(storage: Storage, conf: ConfState): Promise<void> {
  const value = new TextEncoder().encode(JSON.stringify(conf))
  await storage.write([{ type: 'put', key: controllerBootstrapKey(), value }], { sync: true })
}

/** The controller replica id stored for this storage, if its controller replica ever ran. */
export async function loadControllerReplicaId(storage: Storage): Promise<string | undefined> {
  const bytes = await storage.get(NODE_META_KEYS.single(CONTROLLER_REPLICA_ID_KIND as MetaKind))
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes)
}

/**
 * Stores the identity this storage's controller replica runs as, durably and before it first
 * runs: a restart must come back as the same id, and only as it (its votes and acks are in this
 * storage). A joiner's bootstrap goes in the same write.
 */
export async function saveControllerIdentity(
  storage: Storage,
  replicaId: string,
  bootstrap?: ConfState,
): Promise<void> {
  const ops = [
    {
      type: 'put' as const,
      key: NODE_META_KEYS.single(CONTROLLER_REPLICA_ID_KIND as MetaKind),
      value: new TextEncoder().encode(replicaId),
    },
  ]
  if (bootstrap !== undefined)
    ops.push({
      type: 'put',
      key: controllerBootstrapKey(),
      value: new TextEncoder().encode(JSON.stringify(bootstrap)),
    })
  await storage.write(ops, { sync: true })
}

/** True when the storage holds any key of the controller group's log (written by an earlier run). */
export async function hasControllerLog(storage: Storage, groupId: string): Promise<boolean> {
  const keys = new LogKeys(groupId)
  const found = await storage.range({ gte: keys.prefix, lt: keys.groupEnd(), limit: 1 })
  return found.length > 0
}
