import type { Storage } from '@laminar-ts/core'
import type { Checker, Violation } from './checkers/violation'
import type { LinkFaultSettings } from './link-faults'
import type { Prng } from './prng'
import type { ProcessFactory, SimProcess } from './process'
import type { SimulatedDisk, SimulatedStorage, StorageLatency } from './simulated-storage'
import type { ProcessClock } from './virtual-clock'

export interface SimulationOptions<P extends SimProcess = SimProcess> {
  /** Everything random in the run derives from this. */
  seed: number
  /** Cluster size (ids n1..nN); default 3. */
  nodes?: number
  /** The process each node runs; default a {@link RaftProcess}. */
  process?: ProcessFactory<P>
  /** Per-frame network faults; default calm (1 to 3 ms, nothing lost). */
  links?: Partial<LinkFaultSettings>
  storageLatency?: StorageLatency
  /** Each node's durable store; default a {@link SortedMemoryStorage} (opened by the simulation). */
  durableStorage?: (nodeId: string) => Storage
  /** Checkers run by {@link Simulation.check} besides the Raft, queue and process-error ones. */
  checkers?: ReadonlyArray<{ name: string; check: Checker }>
  /** Bound on timers run by one `runFor`, against a livelock that never lets time advance. */
  eventsPerRunMax?: number
}

export interface CheckResult {
  ok: boolean
  violations: Violation[]
}

/** A node's process: running, frozen, or dead (crashed or stopped). */
export type NodeState = 'up' | 'paused' | 'down'

/** @internal One node of a Simulation across its incarnations. */
export interface NodeSlot<P> {
  id: string
  disk: SimulatedDisk
  random: Prng
  state: NodeState
  incarnation: number
  skewMs: number
  clock: ProcessClock | undefined
  storage: SimulatedStorage | undefined
  process: P | undefined
}
