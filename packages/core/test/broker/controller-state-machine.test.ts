import { describe, expect, it } from 'vitest'
import { encodeSnapshot } from '../../src/codec/index'
import {
  type ControllerCommand,
  type ControllerResult,
  ControllerStateMachine,
  encodeControllerCommand,
  epochOfReplica,
  isLaminarError,
  nodeOfReplica,
} from '../../src/index'

function controllerWith(nodeCount: number): ControllerStateMachine {
  const sm = new ControllerStateMachine()
  for (let i = 1; i <= nodeCount; i++)
    sm.apply(i, { type: 'join', nodeId: `n${i}`, addresses: { peer: `h${i}:7101` } })
  return sm
}

function run(sm: ControllerStateMachine, commands: ControllerCommand[]): ControllerResult[] {
  return commands.map((command) => sm.apply(sm.appliedIndex + 1, command))
}

function codeOf(result: ControllerResult): string {
  return result.type === 'error' ? result.code : 'ok'
}

/** Preferred-leader and replica counts per node over all topics. */
function loads(sm: ControllerStateMachine) {
  const leaders = new Map(sm.members().map((m) => [m.nodeId, 0]))
  const replicas = new Map(sm.members().map((m) => [m.nodeId, 0]))
  for (const topic of sm.topics()) {
    for (const p of topic.partitions) {
      leaders.set(p.replicas[0]!, leaders.get(p.replicas[0]!)! + 1)
      for (const id of p.replicas) replicas.set(id, replicas.get(id)! + 1)
    }
  }
  const spread = (m: Map<string, number>) => Math.max(...m.values()) - Math.min(...m.values())
  return { leaders, replicas, leaderSpread: spread(leaders), replicaSpread: spread(replicas) }
}

describe('ControllerStateMachine: placement', () => {
  it.each([3, 5])('spreads leaders and replicas evenly over %i nodes, across topics', (nodes) => {
    const sm = controllerWith(nodes)
    run(sm, [
      { type: 'createTopic', name: 'a', partitions: nodes, replicationFactor: 3 },
      { type: 'createTopic', name: 'b', partitions: 1, replicationFactor: 3 },
      { type: 'createTopic', name: 'c', partitions: 2 * nodes - 1, replicationFactor: 3 },
    ])
    const { leaders, leaderSpread, replicaSpread } = loads(sm)
    expect([...leaders.values()].reduce((a, b) => a + b)).toBe(3 * nodes)
    expect(leaderSpread).toBe(0)
    expect(replicaSpread).toBe(0)
    for (const topic of sm.topics()) {
      for (const p of topic.partitions) expect(new Set(p.replicas).size).toBe(3)
    }
    // Within one topic of `nodes` partitions every node leads exactly one.
    expect(new Set(sm.topic('a')!.partitions.map((p) => p.replicas[0])).size).toBe(nodes)
  })

  it('places identically on two instances and snapshots byte-identically', () => {
    const commands: ControllerCommand[] = [
      { type: 'join', nodeId: 'n2' },
      { type: 'join', nodeId: 'n1', addresses: { peer: 'x', client: 'y' } },
      { type: 'join', nodeId: 'n3' },
      {
        type: 'createTopic',
        name: 'orders',
        partitions: 7,
        replicationFactor: 2,
        config: { retentionMs: 5000 },
      },
      { type: 'leave', nodeId: 'n2' },
      { type: 'createTopic', name: 'audit', partitions: 2, replicationFactor: 1 },
    ]
    const a = new ControllerStateMachine()
    const b = new ControllerStateMachine()
    for (const [i, c] of commands.entries()) {
      a.apply(i + 1, c)
      b.applyEntry(i + 1, encodeControllerCommand(c))
    }
    expect(a.snapshot()).toEqual(b.snapshot())
    expect(a.topics()).toEqual(b.topics())
  })

  it('moves replicas off a leaving node, keeping a replica with data as preferred leader', () => {
    const sm = controllerWith(4)
    run(sm, [{ type: 'createTopic', name: 't', partitions: 4, replicationFactor: 2 }])
    const before = sm.topic('t')!.partitions
    const led = before.find((p) => p.replicas[0] === 'n1')!
    const version = sm.version
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { type: 'leave', nodeId: 'n1' }))).toBe('ok')
    expect(sm.version).toBe(version + 1)
    // Still a member (leaving) while its groups move: it hosts them until each move commits.
    expect(sm.members().find((m) => m.nodeId === 'n1')?.leaving).toBe(true)
    const after = sm.topic('t')!.partitions
    for (const p of after) {
      expect(p.replicas).not.toContain('n1')
      expect(p.replicas).toHaveLength(2)
    }
    expect(after[led.partition]!.replicas[0]).toBe(led.replicas[1])
    // A leaving node gets no new replicas.
    run(sm, [{ type: 'createTopic', name: 'u', partitions: 4, replicationFactor: 3 }])
    for (const p of sm.topic('u')!.partitions) expect(p.replicas).not.toContain('n1')
    // Each move completes when its group's leader reports it; then n1 is forgotten.
    for (const p of after) {
      if (!p.currentReplicas.includes('n1')) continue
      const done = { type: 'reassignmentDone', topic: 't', topicId: 1, partition: p.partition } as const
      expect(codeOf(sm.apply(sm.appliedIndex + 1, { ...done, replicas: p.currentReplicaIds }))).toBe(
        'INVALID_ARGUMENT',
      )
      expect(codeOf(sm.apply(sm.appliedIndex + 1, { ...done, replicas: [...p.replicaIds].reverse() }))).toBe(
        'ok',
      )
    }
    expect(sm.hasMember('n1')).toBe(false)
    expect(sm.wasRemoved('n1')).toBe(true)
    expect(sm.partitionsOf('n1')).toEqual([])
    // Its own join brings it back.
    run(sm, [{ type: 'join', nodeId: 'n1' }])
    expect(sm.hasMember('n1')).toBe(true)
    expect(sm.wasRemoved('n1')).toBe(false)
  })

  it('refuses a leave that would leave a partition short of replicas, and unknown nodes', () => {
    const sm = controllerWith(2)
    run(sm, [{ type: 'createTopic', name: 't', partitions: 1, replicationFactor: 2 }])
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { type: 'leave', nodeId: 'n1' }))).toBe('INVALID_ARGUMENT')
    expect(sm.members().find((m) => m.nodeId === 'n1')?.leaving).toBe(false)
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { type: 'leave', nodeId: 'n9' }))).toBe('NODE_NOT_FOUND')
  })

  it('reassigns a partition onto active members, one move at a time', () => {
    const sm = controllerWith(3)
    run(sm, [{ type: 'createTopic', name: 't', partitions: 2, replicationFactor: 2 }])
    const next = () => sm.appliedIndex + 1
    const first = sm.topic('t')!.partitions[1]!
    // Swap one replica for the node that has none of this partition.
    const target = [['n1', 'n2', 'n3'].find((id) => !first.replicas.includes(id))!, first.replicas[0]!]
    expect(
      codeOf(sm.apply(next(), { type: 'reassignPartition', topic: 't', partition: 1, replicas: target })),
    ).toBe('ok')
    const moving = sm.topic('t')!.partitions[1]!
    expect(moving.replicas).toEqual(target)
    expect(moving.currentReplicas).toEqual(first.replicas)
    expect(moving.initialReplicas).toEqual(first.replicaIds)
    // The node moved off still hosts the group until the move completes.
    for (const id of ['n1', 'n2', 'n3']) expect(sm.partitionsOf(id).map((p) => p.partition)).toContain(1)
    const codes = [
      { type: 'reassignPartition', topic: 'x', partition: 0, replicas: ['n1', 'n2'] },
      { type: 'reassignPartition', topic: 't', partition: 2, replicas: ['n1', 'n2'] },
      { type: 'reassignPartition', topic: 't', partition: 0, replicas: ['n1', 'n9'] },
      { type: 'reassignPartition', topic: 't', partition: 0, replicas: ['n1', 'n1'] },
      { type: 'reassignPartition', topic: 't', partition: 0, replicas: ['n1'] },
      { type: 'reassignPartition', topic: 't', partition: 1, replicas: ['n1', 'n2'] },
    ].map((c) => codeOf(sm.apply(next(), c as ControllerCommand)))
    expect(codes).toEqual([
      'TOPIC_NOT_FOUND',
      'PARTITION_NOT_FOUND',
      'NODE_NOT_FOUND',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'REASSIGNMENT_IN_PROGRESS',
    ])
    run(sm, [
      {
        type: 'reassignmentDone',
        topic: 't',
        topicId: 1,
        partition: 1,
        replicas: [...moving.replicaIds].reverse(),
      },
    ])
    expect(sm.topic('t')!.partitions[1]!.currentReplicas).toEqual(target)
    expect(sm.partitionsOf(first.replicas[1]!).map((p) => p.partition)).not.toContain(1)
    expect(
      codeOf(
        sm.apply(next(), { type: 'reassignPartition', topic: 't', partition: 1, replicas: ['n1', 'n2'] }),
      ),
    ).toBe('ok')
  })
})

describe('ControllerStateMachine: validation and versions', () => {
  it('validates names and limits with stable codes', () => {
    const sm = controllerWith(3)
    const create = (name: string, partitions = 1, replicationFactor = 1, config = {}) =>
      codeOf(
        sm.apply(sm.appliedIndex + 1, { type: 'createTopic', name, partitions, replicationFactor, config }),
      )
    expect(create('orders.v1_x-2')).toBe('ok')
    expect(create('orders.v1_x-2')).toBe('TOPIC_EXISTS')
    expect(create('')).toBe('INVALID_ARGUMENT')
    expect(create('a/b')).toBe('INVALID_ARGUMENT')
    expect(create('x'.repeat(250))).toBe('INVALID_ARGUMENT')
    expect(create('x'.repeat(249))).toBe('ok')
    expect(create('p0', 0)).toBe('INVALID_ARGUMENT')
    expect(create('p1025', 1025)).toBe('INVALID_ARGUMENT')
    expect(create('p1024', 1024)).toBe('ok')
    expect(create('rf4', 1, 4)).toBe('INVALID_ARGUMENT')
    expect(create('rf0', 1, 0)).toBe('INVALID_ARGUMENT')
    expect(create('cfg', 1, 1, { segmentBytes: 1 })).toBe('INVALID_ARGUMENT')
    expect(create('cfg', 1, 1, { maxMessageBytes: -1 })).toBe('INVALID_ARGUMENT')
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { type: 'deleteTopic', name: 'nope' }))).toBe(
      'TOPIC_NOT_FOUND',
    )
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { type: 'join', nodeId: 'bad id' }))).toBe('INVALID_ARGUMENT')
  })

  it('bumps the version on every change and only then', () => {
    const sm = new ControllerStateMachine()
    const versions = [
      { type: 'join', nodeId: 'n1', addresses: { peer: 'a' } },
      { type: 'join', nodeId: 'n1', addresses: { peer: 'a' } },
      { type: 'join', nodeId: 'n1', addresses: { peer: 'b' } },
      { type: 'createTopic', name: 't', partitions: 1, replicationFactor: 1 },
      { type: 'createTopic', name: 't', partitions: 1, replicationFactor: 1 },
      { type: 'deleteTopic', name: 't' },
      { type: 'createTopic', name: 't', partitions: 1, replicationFactor: 1 },
    ].map((c, i) => sm.apply(i + 1, c as ControllerCommand))
    expect(versions.map((r) => (r.type === 'ok' ? r.version : r.code))).toEqual([
      1,
      1,
      2,
      3,
      'TOPIC_EXISTS',
      4,
      5,
    ])
    // A re-created topic gets a fresh id, so its partition groups never mix with the old ones.
    expect(sm.topic('t')!.topicId).toBe(2)
    expect(sm.topic('t')!.config.retentionMs).toBe(7 * 24 * 3600 * 1000)
  })

  it('restores a snapshot into an equal state and rejects corrupt ones', () => {
    const sm = controllerWith(3)
    run(sm, [
      { type: 'createTopic', name: 't', partitions: 3, replicationFactor: 2, config: { retentionBytes: 10 } },
    ])
    const restored = new ControllerStateMachine()
    restored.restore(sm.snapshot())
    expect(restored.topics()).toEqual(sm.topics())
    expect(restored.members()).toEqual(sm.members())
    expect(restored.version).toBe(sm.version)
    const next: ControllerCommand = { type: 'createTopic', name: 'u', partitions: 4, replicationFactor: 3 }
    expect(restored.apply(sm.appliedIndex + 1, next)).toEqual(sm.apply(sm.appliedIndex + 1, next))
    expect(restored.snapshot()).toEqual(sm.snapshot())
    try {
      restored.restore(new Uint8Array([1, 1, 0x90]))
      expect.unreachable('restored a partition snapshot into a controller')
    } catch (error) {
      expect(isLaminarError(error, 'STORAGE_CORRUPT')).toBe(true)
    }
    expect(codeOf(sm.applyEntry(sm.appliedIndex + 1, new Uint8Array([1, 34, 0xc1]))!)).toBe('STORAGE_CORRUPT')
  })
})

describe('ControllerStateMachine: replica ids', () => {
  it('names every placement of a node on a partition with a fresh replica id', () => {
    const sm = controllerWith(3)
    run(sm, [{ type: 'createTopic', name: 't', partitions: 1, replicationFactor: 2 }])
    const created = sm.topic('t')!.partitions[0]!
    expect(created.replicaIds.map(nodeOfReplica)).toEqual(created.replicas)
    expect(created.initialReplicas).toEqual(created.replicaIds)
    const [kept, movedOff] = created.replicas as [string, string]
    const outsider = ['n1', 'n2', 'n3'].find((id) => !created.replicas.includes(id))!
    const movedOffId = created.replicaIds[1]!
    const finishMove = () => {
      const p = sm.topic('t')!.partitions[0]!
      run(sm, [{ type: 'reassignmentDone', topic: 't', topicId: 1, partition: 0, replicas: p.replicaIds }])
    }
    // Off: the kept replica keeps its id, the newcomer gets a new one.
    run(sm, [{ type: 'reassignPartition', topic: 't', partition: 0, replicas: [kept, outsider] }])
    const away = sm.topic('t')!.partitions[0]!
    expect(away.replicaIds[0]).toBe(created.replicaIds[0])
    expect(away.replicaIds[1]).not.toBe(created.replicaIds[1])
    // While the move runs, the node moved off still hosts its old incarnation.
    expect(sm.partitionsOf(movedOff).map((h) => h.replicaId)).toEqual([movedOffId])
    finishMove()
    expect(sm.partitionsOf(movedOff)).toEqual([])
    // And back: the same node is a new Raft member, never the incarnation whose log it cleared.
    run(sm, [{ type: 'reassignPartition', topic: 't', partition: 0, replicas: [kept, movedOff] }])
    const back = sm.topic('t')!.partitions[0]!
    expect(nodeOfReplica(back.replicaIds[1]!)).toBe(movedOff)
    expect(back.replicaIds[1]).not.toBe(movedOffId)
    expect(sm.partitionsOf(movedOff).map((h) => h.replicaId)).toEqual([back.replicaIds[1]])
    // Its bootstrap is still the configuration at creation, under the old names.
    expect(sm.partitionsOf(movedOff)[0]!.initialReplicas).toEqual(created.replicaIds)
    // A report naming nodes, or a stale incarnation, is not the target.
    const done = { type: 'reassignmentDone', topic: 't', topicId: 1, partition: 0 } as const
    expect(codeOf(sm.apply(sm.appliedIndex + 1, { ...done, replicas: [...back.replicas] }))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(
      codeOf(sm.apply(sm.appliedIndex + 1, { ...done, replicas: [back.replicaIds[0]!, movedOffId] })),
    ).toBe('INVALID_ARGUMENT')
    finishMove()
    expect(sm.topic('t')!.partitions[0]!.currentReplicaIds).toEqual(back.replicaIds)
    // Snapshots carry the ids and the epoch counter: a restored replica names the next one alike.
    const restored = new ControllerStateMachine()
    restored.restore(sm.snapshot())
    expect(restored.topics()).toEqual(sm.topics())
    const create: ControllerCommand = { type: 'createTopic', name: 'u', partitions: 2, replicationFactor: 3 }
    expect(restored.apply(sm.appliedIndex + 1, create)).toEqual(sm.apply(sm.appliedIndex + 1, create))
    expect(restored.topic('u')).toEqual(sm.topic('u'))
  })

  it('renews the replicas of a member that joins with another storage id (a wiped disk)', () => {
    const sm = controllerWith(3)
    run(sm, [{ type: 'createTopic', name: 't', partitions: 3, replicationFactor: 3 }])
    const version = sm.version
    // The first storage id is recorded; repeating it changes nothing.
    run(sm, [{ type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-a' }])
    expect(sm.member('n2')).toMatchObject({ storageId: 'disk-a', replicaFloor: 0 })
    const before = sm.topic('t')!.partitions
    run(sm, [{ type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-a' }])
    expect(sm.version).toBe(version + 1)
    expect(sm.topic('t')!.partitions).toEqual(before)
    // Another storage: each of n2's replicas gets a fresh id at or above its new floor; the lost
    // one stays current (a voter the group's leader removes) but n2 no longer hosts it.
    run(sm, [{ type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-b' }])
    const floor = sm.member('n2')!.replicaFloor
    expect(floor).toBeGreaterThan(0)
    for (const [i, p] of sm.topic('t')!.partitions.entries()) {
      const at = p.replicas.indexOf('n2')
      const lost = before[i]!.replicaIds[at]!
      expect(epochOfReplica(p.replicaIds[at]!)).toBeGreaterThanOrEqual(floor)
      expect(p.currentReplicaIds).toContain(lost)
      expect(p.replicaIds).not.toContain(lost)
      // Other nodes keep theirs.
      expect(p.replicaIds.filter((id) => nodeOfReplica(id) !== 'n2')).toEqual(
        before[i]!.replicaIds.filter((id) => nodeOfReplica(id) !== 'n2'),
      )
    }
    expect(sm.partitionsOf('n2').map((h) => h.replicaId)).toEqual(
      sm.topic('t')!.partitions.map((p) => p.replicaIds[p.replicas.indexOf('n2')]),
    )
    // A renewal is a move: another reassignment waits for it.
    const move: ControllerCommand = {
      type: 'reassignPartition',
      topic: 't',
      partition: 0,
      replicas: ['n1', 'n2', 'n3'],
    }
    expect(codeOf(sm.apply(sm.appliedIndex + 1, move))).toBe('REASSIGNMENT_IN_PROGRESS')
    expect(
      codeOf(sm.apply(sm.appliedIndex + 1, { type: 'join', nodeId: 'n2', storageId: 'not/valid' })),
    ).toBe('INVALID_ARGUMENT')
  })

  it('gives a member that comes back with fresh storage a new controller replica id, kept in snapshots', () => {
    const sm = controllerWith(3)
    // First incarnations are named by node id (founders derive their configuration alone).
    expect(sm.members().map((m) => m.controllerReplicaId)).toEqual(['n1', 'n2', 'n3'])
    // Registering a storage the first time, or a fresh one without the flag, renews nothing.
    run(sm, [{ type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-a' }])
    expect(sm.member('n2')!.controllerReplicaId).toBe('n2')
    // The same storage announcing itself fresh lost nothing here: no renewal either.
    run(sm, [
      { type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-a', freshStorage: true },
    ])
    expect(sm.member('n2')!.controllerReplicaId).toBe('n2')
    run(sm, [
      { type: 'join', nodeId: 'n2', addresses: { peer: 'h2:7101' }, storageId: 'disk-b', freshStorage: true },
    ])
    const renewed = sm.member('n2')!.controllerReplicaId
    expect(nodeOfReplica(renewed)).toBe('n2')
    expect(epochOfReplica(renewed)).toBeGreaterThan(0)
    // A founder admitted before it registered (recorded '') is renewed too: it may have voted.
    run(sm, [
      { type: 'join', nodeId: 'n3', addresses: { peer: 'h3:7101' }, storageId: 'disk-c', freshStorage: true },
    ])
    expect(epochOfReplica(sm.member('n3')!.controllerReplicaId)).toBeGreaterThan(epochOfReplica(renewed))
    // A node the controller never knew starts as its node id.
    run(sm, [
      { type: 'join', nodeId: 'n9', addresses: { peer: 'h9:7101' }, storageId: 'disk-d', freshStorage: true },
    ])
    expect(sm.member('n9')!.controllerReplicaId).toBe('n9')
    const restored = new ControllerStateMachine()
    restored.restore(sm.snapshot())
    expect(restored.members()).toEqual(sm.members())
  })

  it('refuses a snapshot written before replica ids with STORAGE_CORRUPT naming the format', () => {
    // The previous layout: partitions as [replicas, currentReplicas, initialReplicas], no epoch.
    const before = encodeSnapshot('controller', [
      3,
      1,
      2,
      [['n1', [], false]],
      [['t', 1, 1, [0, 0, 1024, 1024], [[['n1'], ['n1'], ['n1']]]]],
      [],
    ])
    try {
      new ControllerStateMachine().restore(before)
      expect.unreachable('read a snapshot without replica ids')
    } catch (error) {
      expect(isLaminarError(error, 'STORAGE_CORRUPT')).toBe(true)
      expect((error as { details?: { format?: string } }).details?.format).toMatch(/replica ids/)
    }
  })
})
