import { describe, expect, it } from 'vitest'
import {
  encodePartitionCommand,
  type LaminarRecord,
  type PartitionCommand,
  PartitionStateMachine,
} from '../../src/index'
import { batchOf, record, seeded } from './helpers'

/** Appends (some idempotent, some retried or out of order) mixed with group commands. */
function randomCommands(seed: number, count: number): PartitionCommand[] {
  const random = seeded(seed)
  const int = (bound: number) => Math.floor(random() * bound)
  const sequences = new Map<string, number>()
  let written = 0
  return Array.from({ length: count }, (): PartitionCommand => {
    const roll = random()
    const group = `g${int(3)}`
    if (roll < 0.5) {
      const records = Array.from({ length: 1 + int(5) }, (_, i) =>
        record(i, `k${int(4)}`, 1000 + int(10_000)),
      )
      written += records.length
      if (random() < 0.5) return { type: 'append', batch: batchOf(records) }
      const producerId = `p${int(3)}`
      const next = sequences.get(producerId) ?? 0
      const sequence = Math.max(0, next + int(4) - 2) // retries, the next one, or a gap
      sequences.set(producerId, Math.max(next, sequence + 1))
      return { type: 'append', producerId, sequence, batch: batchOf(records) }
    }
    const offsets = Array.from({ length: int(6) }, () => int(written + 2))
    if (roll < 0.6) return { type: 'groupCreate', group, config: { maxDeliveries: int(3) } }
    if (roll < 0.8) return { type: 'ack', group, offsets }
    if (roll < 0.85) return { type: 'delivered', group, offsets }
    if (roll < 0.9) return { type: 'deadLettered', group, offsets }
    if (roll < 0.95) return { type: 'commitOffset', group: `r${int(2)}`, offset: int(written + 1) }
    return { type: 'groupDelete', group }
  })
}

describe('PartitionStateMachine under random commands', () => {
  it.each([1, 2, 3, 4, 5])(
    'replicas agree, readers find every offset, a restored replica continues identically (seed %i)',
    (seed) => {
      const commands = randomCommands(seed, 400)
      const a = new PartitionStateMachine({ indexIntervalRecords: 8 })
      const b = new PartitionStateMachine({ indexIntervalRecords: 8 })
      let restored: PartitionStateMachine | undefined
      const kinds = new Set<string>()
      /** Ground truth: the record each offset got. */
      const byOffset: LaminarRecord[] = []
      const recordsOf = (command: PartitionCommand & { type: 'append' }) => command.batch.records()
      for (const [i, command] of commands.entries()) {
        const result = a.apply(i + 1, command)
        kinds.add(result.type === 'error' ? result.code : result.type)
        if (command.type === 'append' && result.type === 'append' && !result.duplicate)
          byOffset.push(...recordsOf(command))
        expect(b.applyEntry(i + 1, encodePartitionCommand(command))).toEqual(result)
        if (restored !== undefined) expect(restored.apply(i + 1, command)).toEqual(result)
        if (i === 200) {
          restored = new PartitionStateMachine({ indexIntervalRecords: 8 })
          restored.restore(a.snapshot())
        }
        for (const name of a.groupNames()) {
          const group = a.group(name)!
          expect(group.ackFloor).toBeLessThanOrEqual(a.endOffset)
          expect(group.acked.every((offset) => offset > group.ackFloor && offset < a.endOffset)).toBe(true)
        }
      }
      // A log reader: scan from locate(offset), counting only appends that got offsets.
      expect(byOffset).toHaveLength(a.endOffset)
      for (let offset = 0; offset < a.endOffset; offset++) {
        const location = a.locate(offset)!
        let cursor = location.offset
        let found: LaminarRecord | undefined
        for (let index = location.index; found === undefined && index <= commands.length; index++) {
          const command = commands[index - 1]!
          if (command.type !== 'append' || a.isSkippedAppend(index)) continue
          const records = recordsOf(command)
          if (offset < cursor + records.length) found = records[offset - cursor]
          cursor += records.length
        }
        expect(found).toEqual(byOffset[offset])
      }
      expect(a.snapshot()).toEqual(b.snapshot())
      expect(restored!.snapshot()).toEqual(a.snapshot())
      // The mix reached duplicates, sequence gaps and missing groups, not just the happy path.
      expect(kinds).toContain('OUT_OF_ORDER_SEQUENCE')
      expect(kinds).toContain('GROUP_NOT_FOUND')
      expect(kinds).toContain('append')
    },
  )
})
