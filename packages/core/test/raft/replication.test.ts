import { describe, expect, it } from 'vitest'
import {
  bootstrapConfState,
  type Entry,
  MemoryLogStorage,
  type Message,
  RaftLogError,
  type Snapshot,
} from '../../src/raft/index'
import { entriesWithTerms, entry, message, storedLog } from './helpers'
import { bytes, Network } from './network'

/** A storage whose entries() reports 'temporarilyUnavailable' while `unavailable` is set. */
class FlakyStorage extends MemoryLogStorage {
  unavailable = false
  override entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (this.unavailable) throw new RaftLogError('temporarilyUnavailable')
    return super.entries(lo, hi, maxBytes)
  }
}

describe('replication and flow control', () => {
  it('one append message carries many entries, bounded by maxSizePerMsg', () => {
    const network = new Network(['a', 'b', 'c'], { config: { maxSizePerMsg: 250 } })
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 10; i++) network.raw('a').propose(new Uint8Array(100))
    network.stabilize()
    network.heal()
    network.recordDelivered = true
    network.tickAll()
    network.stabilize()
    const toC = network.delivered.filter((m) => m.type === 'app' && m.to === 'c' && m.entries.length > 0)
    for (const append of toC) {
      const size = append.entries.reduce((sum, e) => sum + e.data.byteLength, 0)
      expect(append.entries.length === 1 || size <= 250).toBe(true)
    }
    expect(toC.some((m) => m.entries.length > 1)).toBe(true)
    expect(network.appliedData('c')).toHaveLength(10)
  })

  it('at most maxInflightMsgs appends are in flight to a follower in replicate state', () => {
    const network = new Network(['a', 'b', 'c'], { config: { maxInflightMsgs: 3 } })
    network.elect('a')
    for (let i = 0; i < 10; i++) {
      network.raw('a').propose(bytes(`p${i}`))
      network.processReady('a')
    }
    const toB = network.pending.filter((m) => m.type === 'app' && m.to === 'b' && m.entries.length > 0)
    expect(toB).toHaveLength(3)
    expect(network.raw('a').status().progress['b']).toMatchObject({ state: 'replicate', inflight: 3 })
    network.stabilize()
    expect(network.appliedData('b')).toHaveLength(10)
  })

  it('fast backtracking: a follower with a long divergent log converges in a few round trips', () => {
    const confState = bootstrapConfState(['lead', 'f', 'silent'])
    const network = new Network([], { config: { preVote: false, checkQuorum: false } })
    const leadStorage = new MemoryLogStorage({ confState, hardState: { term: 3, vote: '', commit: 1 } })
    leadStorage.append(entriesWithTerms([1, ...Array(50).fill(3)]))
    const followerStorage = new MemoryLogStorage({ confState, hardState: { term: 2, vote: '', commit: 1 } })
    followerStorage.append(entriesWithTerms([1, ...Array(80).fill(2)]))
    network.addNode('lead', leadStorage)
    network.addNode('f', followerStorage)
    network.recordDelivered = true
    network.raw('lead').campaign()
    network.raw('lead').step(message({ type: 'voteResp', from: 'silent', to: 'lead', term: 4 }))
    network.stabilize()
    const rejections = network.delivered.filter((m: Message) => m.type === 'appResp' && m.reject)
    // Without hints this would take ~50 rejections, one per index.
    expect(rejections.length).toBeLessThanOrEqual(2)
    expect(storedLog(followerStorage)).toEqual(storedLog(leadStorage))
  })

  it('a forwarded proposal delivered twice is appended twice without rewriting logged entries', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.raw('b').propose(bytes('x'))
    network.processReadies()
    const forwarded = network.pending.find((m) => m.type === 'prop')
    expect(forwarded).toBeDefined()
    // The network duplicates it: the leader stamps index and term on copies, not on the shared entries.
    network.pending.push(forwarded as Message)
    network.stabilize()
    for (const id of ['a', 'b', 'c']) {
      const storage = network.node(id).storage
      const entries = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.POSITIVE_INFINITY)
      expect(entries.map((logged) => logged.index)).toEqual(entries.map((_, i) => storage.firstIndex() + i))
      expect(network.appliedData(id)).toEqual(['x', 'x'])
    }
  })

  it('a proposal that bounced back to its origin (now leader) and is duplicated keeps logged entries intact', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    // a proposed as a follower; its forward came back to it after it became leader, twice.
    const bounced = message({ type: 'prop', from: 'a', to: 'a', entries: [entry(0, 0, bytes('y'))] })
    network.raw('a').step(bounced)
    network.raw('a').step(bounced)
    network.stabilize()
    const storage = network.node('a').storage
    const entries = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.POSITIVE_INFINITY)
    expect(entries.map((logged) => logged.index)).toEqual(entries.map((_, i) => storage.firstIndex() + i))
    expect(network.appliedData('b')).toEqual(['y', 'y'])
  })

  it('the commit index reaches followers (they apply what the leader committed)', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.raw('a').propose(bytes('x'))
    network.stabilize()
    for (const id of ['a', 'b', 'c']) expect(network.raw(id).status().commit).toBe(2)
    expect(network.appliedData('c')).toEqual(['x'])
  })

  it('entries temporarily unavailable: the leader skips the send, does not crash, and retries later', () => {
    const confState = bootstrapConfState(['a', 'b', 'c'])
    const network = new Network([])
    const flaky = new FlakyStorage({ confState })
    network.addNode('a', flaky)
    network.addNode('b', new MemoryLogStorage({ confState }))
    network.addNode('c', new MemoryLogStorage({ confState }))
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 5; i++) network.raw('a').propose(bytes(`e${i}`))
    network.stabilize()
    network.heal()
    flaky.unavailable = true
    for (let i = 0; i < 3; i++) {
      network.tickAll()
      network.stabilize()
    }
    expect(network.appliedData('c')).toEqual([])
    expect(network.raw('a').status().role).toBe('leader')
    flaky.unavailable = false
    network.tickAll()
    network.stabilize()
    expect(network.appliedData('c')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
  })
})

describe('committed entries temporarily unavailable', () => {
  it('ready() postpones them and hasReady() stops reporting them until the next tick or message (no spinning host)', () => {
    const confState = bootstrapConfState(['a', 'b', 'c'])
    const network = new Network([])
    const flaky = new FlakyStorage({ confState })
    network.addNode('a', new MemoryLogStorage({ confState }))
    network.addNode('b', flaky)
    network.addNode('c', new MemoryLogStorage({ confState }))
    network.elect('a')
    network.raw('a').propose(bytes('x'))
    network.processReadies()
    network.deliverPending()
    network.processReadies()
    // b persisted the entry; now its storage cannot hand it back until the host loads it.
    flaky.unavailable = true
    network.stabilize()
    expect(network.raw('b').status().commit).toBe(2)
    expect(network.appliedData('b')).toEqual([])
    expect(network.raw('b').hasReady()).toBe(false)
    flaky.unavailable = false
    network.tick('b')
    expect(network.raw('b').hasReady()).toBe(true)
    network.stabilize()
    expect(network.appliedData('b')).toEqual(['x'])
  })
})

describe('snapshots and compaction', () => {
  function compactLeader(network: Network, id: string): Snapshot {
    expect(network.compact(id)).toBe(true)
    return network.node(id).storage.snapshot()
  }

  it('a slow follower behind the first index is caught up with a snapshot', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 20; i++) network.raw('a').propose(bytes(`e${i}`))
    network.stabilize()
    const snapshot = compactLeader(network, 'a')
    network.heal()
    network.recordDelivered = true
    network.tickAll()
    network.stabilize()
    expect(network.delivered.some((m) => m.type === 'snap' && m.to === 'c')).toBe(true)
    expect(network.node('c').snapshotIndex).toBe(snapshot.metadata.index)
    // The follower's answer to the snapshot already moved it back to replicate; a late report is harmless.
    network.raw('a').reportSnapshot('c', 'finish')
    network.raw('a').propose(bytes('after snapshot'))
    network.tickAll()
    network.stabilize()
    expect(network.appliedData('c')).toEqual(['after snapshot'])
    // The snapshot carried the state machine: c's state equals a's.
    expect(network.node('c').state).toEqual(network.node('a').state)
    expect(network.raw('a').status().progress['c']?.state).toBe('replicate')
    expect(network.raw('c').status().commit).toBe(network.raw('a').status().commit)
  })

  it('a failed snapshot is retried after reportSnapshot failure', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 5; i++) network.raw('a').propose(bytes(`e${i}`))
    network.stabilize()
    compactLeader(network, 'a')
    network.heal()
    // The snapshot is lost in transit.
    for (let i = 0; i < 5 && network.raw('a').status().progress['c']?.state !== 'snapshot'; i++) {
      network.tickAll()
      for (let round = 0; round < 10; round++) {
        network.processReadies()
        network.deliverPending((m) => m.type !== 'snap')
      }
    }
    expect(network.raw('a').status().progress['c']?.state).toBe('snapshot')
    expect(network.node('c').snapshotIndex).toBe(0)
    network.raw('a').reportSnapshot('c', 'failure')
    expect(network.raw('a').status().progress['c']?.state).toBe('probe')
    network.recordDelivered = true
    for (let i = 0; i < 3; i++) {
      network.tickAll()
      network.stabilize()
    }
    expect(network.delivered.some((m) => m.type === 'snap' && m.to === 'c')).toBe(true)
    expect(network.node('c').snapshotIndex).toBeGreaterThan(0)
  })

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    expect(network.raw('a').status().progress['b']?.state).toBe('replicate')
    network.raw('a').reportUnreachable('b')
    expect(network.raw('a').status().progress['b']?.state).toBe('probe')
  })
})
