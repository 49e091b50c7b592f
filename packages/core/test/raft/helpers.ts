/** Helpers for tests that drive one RawNode by hand. */
import {
  bootstrapConfState,
  type Entry,
  type HardState,
  MemoryLogStorage,
  type Message,
  RawNode,
  type Ready,
} from '../../src/raft/index'
import { type ConfigOverrides, makeConfig, seededRandom } from './network'

export function message(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  }
}

/** Entries with the given terms at indexes 1, 2, ... (or from `firstIndex`). */
export function entriesWithTerms(terms: number[], firstIndex = 1): Entry[] {
  return terms.map((term, i) => ({ term, index: firstIndex + i, type: 'normal', data: new Uint8Array(0) }))
}

export function entry(index: number, term: number, data: Uint8Array = new Uint8Array(0)): Entry {
  return { term, index, type: 'normal', data }
}

export interface SingleNode {
  raw: RawNode
  storage: MemoryLogStorage
}

/**
 * One RawNode `id` in a cluster of `peers` (paper-style defaults: no pre-vote, no check-quorum,
 * unless overridden), over a storage holding `entries` and `hardState`.
 */
export function singleNode(
  options: {
    id?: string
    peers?: string[]
    entries?: Entry[]
    hardState?: HardState
    config?: ConfigOverrides
    seed?: number
  } = {},
): SingleNode {
  const id = options.id ?? 'a'
  const storage = new MemoryLogStorage({
    confState: bootstrapConfState(options.peers ?? ['a', 'b', 'c']),
    ...(options.hardState ? { hardState: options.hardState } : {}),
  })
  if (options.entries) storage.append(options.entries)
  const raw = new RawNode(
    makeConfig(id, storage, seededRandom(options.seed ?? 1), {
      preVote: false,
      checkQuorum: false,
      ...options.config,
    }),
  )
  return { raw, storage }
}

/** Takes a Ready, persists it into storage and advances. */
export function drain(node: SingleNode): Ready {
  const ready = node.raw.ready()
  if (ready.snapshot) node.storage.applySnapshot(ready.snapshot)
  node.storage.append(ready.entries)
  if (ready.hardState) node.storage.setHardState(ready.hardState)
  node.raw.advance()
  return ready
}

/** Makes `node` (id 'a' of a, b, c) leader of its next term by campaigning and taking b's vote. */
export function makeLeader(node: SingleNode): void {
  node.raw.campaign()
  const term = node.raw.status().term
  node.raw.step(message({ type: 'voteResp', from: 'b', to: 'a', term }))
  if (node.raw.status().role !== 'leader') throw new Error('did not become leader')
}

/** All entries in storage, as [index, term] pairs. */
export function storedLog(storage: MemoryLogStorage): Array<[number, number]> {
  const first = storage.firstIndex()
  const last = storage.lastIndex()
  if (last < first) return []
  return storage.entries(first, last + 1, Number.POSITIVE_INFINITY).map((e) => [e.index, e.term])
}
