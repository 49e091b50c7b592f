import type { NodeId } from '@laminar-ts/core'
import type { QueueEvent } from './checkers/queue-history'

/** What a Raft process observed; every event carries the virtual time it happened at. */
export type RaftEvent =
  /** The node became leader of `term`; `logTerms[i]` is the term of its entry at index i + 1. */
  | { kind: 'leader'; atMs: number; node: NodeId; term: number; logTerms: number[] }
  /** The node sent a granted vote for `candidate` in `term`. */
  | { kind: 'vote'; atMs: number; node: NodeId; term: number; candidate: NodeId }
  /** The node's hard state after a Ready was persisted (`synced`: with fsync). */
  | {
      kind: 'hardState'
      atMs: number
      node: NodeId
      incarnation: number
      term: number
      vote: NodeId
      commit: number
      synced: boolean
    }
  /** The hard state a restarted node read back from its disk. */
  | {
      kind: 'recovered'
      atMs: number
      node: NodeId
      incarnation: number
      term: number
      vote: NodeId
      commit: number
    }
  /** The node applied an entry; `nodeTerm` is its term at that moment. */
  | {
      kind: 'apply'
      atMs: number
      node: NodeId
      incarnation: number
      index: number
      term: number
      digest: string
      nodeTerm: number
      /** On the first apply of an index: a node that could still be elected without this entry. */
      electableWithout?: NodeId
    }
  /** A client got a success answer for the entry at (index, term); `durableReplicas` hold it on disk. */
  | {
      kind: 'ack'
      atMs: number
      node: NodeId
      index: number
      term: number
      digest: string
      durableReplicas: number
      clusterSize: number
    }
  /** A snapshot of every live node's log (term and digest by index), for log matching. */
  | { kind: 'logs'; atMs: number; logs: Record<NodeId, Array<{ term: number; digest: string }>> }

/** A fault the simulation injected (for the report and the trace). */
export interface FaultEvent {
  atMs: number
  description: string
}

/** A process failed in a way no fault excuses (an exception escaping its loop). */
export interface ProcessErrorEvent {
  atMs: number
  node: NodeId
  message: string
}

/**
 * Everything recorded in one simulation run: the checkers' input. Process adapters append;
 * the queue section is filled by broker-level processes and clients.
 */
export class SimHistory {
  readonly raft: RaftEvent[] = []
  readonly queue: QueueEvent[] = []
  readonly faults: FaultEvent[] = []
  readonly errors: ProcessErrorEvent[] = []
  /** Bound on recorded events, so a long run cannot exhaust memory; beyond it checks are partial. */
  readonly eventsMax: number
  #truncated = false

  constructor(eventsMax = 2_000_000) {
    this.eventsMax = eventsMax
  }

  get truncated(): boolean {
    return this.#truncated
  }

  /** Observers of Raft events as they are recorded (the nemesis watches for new leaders). */
  readonly raftListeners: Array<(event: RaftEvent) => void> = []

  recordRaft(event: RaftEvent): void {
    for (const listener of this.raftListeners) listener(event)
    if (this.raft.length >= this.eventsMax) {
      this.#truncated = true
      return
    }
    this.raft.push(event)
  }

  recordQueue(event: QueueEvent): void {
    if (this.queue.length >= this.eventsMax) {
      this.#truncated = true
      return
    }
    this.queue.push(event)
  }

  recordError(event: ProcessErrorEvent): void {
    if (this.errors.length < this.eventsMax) this.errors.push(event)
  }

  recordFault(event: FaultEvent): void {
    if (this.faults.length < this.eventsMax) this.faults.push(event)
  }
}
