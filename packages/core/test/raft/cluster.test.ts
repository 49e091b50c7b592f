import { describe, expect, it } from 'vitest'
import { isRaftError, RaftError } from '../../src/raft/index'
import { bytes, Network } from './network'

describe('raft cluster basics', () => {
  it('elects a leader and replicates proposals in a 3-node cluster', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    expect(network.leaders()).toEqual(['a'])
    for (let i = 0; i < 10; i++) network.raw('a').propose(bytes(`v${i}`))
    network.stabilize()
    const expected = Array.from({ length: 10 }, (_, i) => `v${i}`)
    for (const id of ['a', 'b', 'c']) expect(network.appliedData(id)).toEqual(expected)
    expect(network.raw('b').status().leader).toBe('a')
  })

  it('a single-node cluster elects itself and commits alone', () => {
    const network = new Network(['solo'])
    network.elect('solo')
    network.raw('solo').propose(bytes('x'))
    network.stabilize()
    expect(network.appliedData('solo')).toEqual(['x'])
  })

  it('elects by timeout when nobody campaigns', () => {
    const network = new Network(['a', 'b', 'c'], { seed: 7 })
    for (let i = 0; i < 40 && network.leaders().length === 0; i++) {
      network.tickAll()
      network.stabilize()
    }
    expect(network.leaders()).toHaveLength(1)
  })

  it('forwards follower proposals to the leader', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.raw('b').propose(bytes('from-b'))
    network.stabilize()
    expect(network.appliedData('c')).toEqual(['from-b'])
  })

  it('throws proposalDropped when there is no leader', () => {
    const network = new Network(['a', 'b', 'c'])
    let caught: unknown
    try {
      network.raw('a').propose(bytes('x'))
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(RaftError)
    expect(isRaftError(caught, 'proposalDropped')).toBe(true)
  })
})
