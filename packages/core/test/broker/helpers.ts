import { type LaminarRecord, type PartitionCommand, type PartitionResult, RecordBatch } from '../../src/index'

/** A record with a one-byte value and an optional string key. */
export function record(value: number, key: string | null = null, timestampMs = 1000): LaminarRecord {
  return {
    key: key === null ? null : new TextEncoder().encode(key),
    value: new Uint8Array([value & 0xff]),
    headers: {},
    timestampMs,
  }
}

export function append(
  count: number,
  extra: Partial<PartitionCommand & { type: 'append' }> = {},
): PartitionCommand {
  return { type: 'append', batch: batchOf(Array.from({ length: count }, (_, i) => record(i))), ...extra }
}

/** Records encoded as an append's batch. */
export function batchOf(records: LaminarRecord[]): RecordBatch {
  return RecordBatch.encode(records)
}

/** Narrow a result to its expected variant or fail with what it was. */
export function expectType<T extends PartitionResult['type']>(
  result: PartitionResult | undefined,
  type: T,
): Extract<PartitionResult, { type: T }> {
  if (result?.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(result)}`)
  return result as Extract<PartitionResult, { type: T }>
}

/** A tiny seeded generator (LCG) for the randomized tests: the same seed replays the same run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}
