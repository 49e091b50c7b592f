import { describe, expect, it } from 'vitest'
import {
  type ControllerCommand,
  ControllerStateMachine,
  encodeControllerCommand,
  nodeOfReplica,
} from '../../src/index'
import { seeded } from './helpers'

/** A random mix of joins, leaves, creates, deletes and reassignments. */
function randomCommands(seed: number, count: number): ControllerCommand[] {
  const random = seeded(seed)
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!
  const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']
  const topics = ['a', 'b', 'c', 'd']
  return Array.from({ length: count }, (): ControllerCommand => {
    const roll = random()
    if (roll < 0.25) return { type: 'join', nodeId: pick(nodes) }
    if (roll < 0.35) return { type: 'leave', nodeId: pick(nodes) }
    if (roll < 0.7) {
      const partitions = 1 + Math.floor(random() * 8)
      return {
        type: 'createTopic',
        name: pick(topics),
        partitions,
        replicationFactor: 1 + Math.floor(random() * 4),
      }
    }
    if (roll < 0.75) return { type: 'deleteTopic', name: pick(topics) }
    // 1 to 4 distinct nodes, sometimes a valid target, sometimes not (wrong count, a stranger).
    const replicas = [...nodes].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 4))
    if (roll < 0.8)
      return {
        type: 'reassignmentDone',
        topic: pick(topics),
        topicId: 1 + Math.floor(random() * 40),
        partition: Math.floor(random() * 4),
        replicas,
      }
    return { type: 'reassignPartition', topic: pick(topics), partition: Math.floor(random() * 4), replicas }
  })
}

/**
 * Every other reassignment command is aimed at the state: a move to as many replicas as the
 * topic's factor, or the report that a move completed, so moves really start and finish.
 */
function aimed(sm: ControllerStateMachine, command: ControllerCommand, i: number): ControllerCommand {
  if (i % 2 === 0) return command
  if (command.type !== 'reassignPartition' && command.type !== 'reassignmentDone') return command
  const topic = sm.topic(command.topic)
  const assignment = topic?.partitions[command.partition]
  if (topic === undefined || assignment === undefined) return command
  if (command.type === 'reassignmentDone')
    return { ...command, topicId: topic.topicId, replicas: [...assignment.replicaIds] }
  const active = sm.members().filter((m) => !m.leaving)
  const replicas = active
    .slice(i % active.length)
    .concat(active)
    .map((m) => m.nodeId)
  return { ...command, replicas: [...new Set(replicas)].slice(0, topic.replicationFactor) }
}

describe('ControllerStateMachine under random commands', () => {
  it.each([1, 2, 3, 4, 5])('keeps placement valid and replicas identical (seed %i)', (seed) => {
    const a = new ControllerStateMachine()
    const b = new ControllerStateMachine()
    let version = 0
    const applied = new Map<string, number>()
    // Replica ids ever seen, and those retired (their node left both lists): never seen again.
    const retired = new Set<string>()
    let live = new Set<string>()
    for (const [i, generated] of randomCommands(seed, 300).entries()) {
      const command = aimed(a, generated, i)
      const result = a.apply(i + 1, command)
      expect(b.applyEntry(i + 1, encodeControllerCommand(command))).toEqual(result)
      // The version moves by one on a change and never otherwise.
      expect(a.version - version).toBeLessThanOrEqual(1)
      if (result.type === 'error') expect(a.version).toBe(version)
      else applied.set(command.type, (applied.get(command.type) ?? 0) + 1)
      version = a.version
      const members = new Set(a.members().map((m) => m.nodeId))
      const nowLive = new Set<string>()
      for (const topic of a.topics()) {
        for (const p of topic.partitions) {
          const { replicas } = p
          expect(replicas.length).toBeGreaterThan(0)
          expect(new Set(replicas).size).toBe(replicas.length)
          for (const id of replicas) expect(members.has(id)).toBe(true)
          // Aligned ids naming their nodes; one id per node per partition.
          expect(p.replicaIds.map(nodeOfReplica)).toEqual(replicas)
          expect(p.currentReplicaIds.map(nodeOfReplica)).toEqual(p.currentReplicas)
          p.currentReplicas.forEach((nodeId, j) => {
            const k = replicas.indexOf(nodeId)
            if (k >= 0) expect(p.replicaIds[k]).toBe(p.currentReplicaIds[j])
          })
          for (const id of [...p.replicaIds, ...p.currentReplicaIds]) {
            expect(retired.has(id), `${id} reused`).toBe(false)
            nowLive.add(id)
          }
        }
      }
      for (const id of live) if (!nowLive.has(id)) retired.add(id)
      live = nowLive
    }
    // The mix really exercised placement, moves and reassignment.
    expect(retired.size).toBeGreaterThan(0)
    for (const type of ['join', 'leave', 'createTopic', 'deleteTopic', 'reassignPartition']) {
      expect(applied.get(type) ?? 0, type).toBeGreaterThan(0)
    }
    expect(a.snapshot()).toEqual(b.snapshot())
    const restored = new ControllerStateMachine()
    restored.restore(a.snapshot())
    expect(restored.topics()).toEqual(a.topics())
  })
})
