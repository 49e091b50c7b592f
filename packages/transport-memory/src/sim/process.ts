import type { Clock, NodeId, Random, Storage, Transport } from '@laminar-ts/core'
import type { SimHistory } from './history'

/** How every node of a simulated cluster is addressed: what LaminarNode calls a peer. */
export interface SimPeer {
  id: NodeId
  address: string
}

/**
 * What a simulated process gets: exactly the dependencies a LaminarNode takes
 * (`{ id, peers, transport, storage, clock, random }`), plus the simulation's recorder.
 */
export interface ProcessContext {
  id: NodeId
  peers: SimPeer[]
  clock: Clock
  random: Random
  transport: Transport
  storage: Storage
  /** 1 for the first start, +1 per restart. */
  incarnation: number
  history: SimHistory
  /** Mix an event into the run's trace hash. */
  trace(text: string): void
  /** How many nodes hold the Raft entry (index, term) on disk right now (Raft-level processes). */
  durableReplicas(index: number, term: number): number
  /**
   * A node that could win an election on the disks as they are now without holding the Raft
   * entry (index, term), or undefined. Asked when an entry is applied: a committed entry must
   * be unlosable.
   */
  electableWithout(index: number, term: number): string | undefined
}

/**
 * A process hosted by the Simulation. It lives until it is crashed (dropped on the floor: no
 * call) or stopped at the end of a run.
 */
export interface SimProcess {
  start(): Promise<void>
  /** Orderly shutdown (optional). */
  stop?(): Promise<void>
}

/** Creates the process of one node incarnation. */
export type ProcessFactory<P extends SimProcess = SimProcess> = (context: ProcessContext) => P
