import { LaminarNode, type NodeTuning } from '@laminar-ts/core'
import type { ProcessContext, ProcessFactory, SimProcess } from '../process'

/**
 * A real LaminarNode as a simulated process: it gets exactly the simulation's transport,
 * storage, clock and randomness. A crash needs nothing from it (its clock and network are cut
 * by the simulation and the object is dropped); `stop` is the graceful shutdown.
 */
export class LaminarNodeProcess implements SimProcess {
  readonly node: LaminarNode

  constructor(context: ProcessContext, options: Partial<NodeTuning> = {}) {
    this.node = new LaminarNode({
      id: context.id,
      peers: context.peers,
      transport: context.transport,
      storage: context.storage,
      clock: context.clock,
      random: context.random,
      options,
    })
  }

  start(): Promise<void> {
    return this.node.start()
  }

  stop(): Promise<void> {
    return this.node.stop()
  }

  /** The role this node plays in the controller group, for leader-aimed faults. */
  status(): { role: string } {
    const controller = this.node.status().groups.find((group) => group.groupId === 'controller')
    return { role: controller?.role ?? 'follower' }
  }
}

/** Simulated LaminarNodes with the given tuning (simulation-friendly defaults below). */
export function laminarProcessFactory(options: Partial<NodeTuning> = {}): ProcessFactory<LaminarNodeProcess> {
  const tuning: Partial<NodeTuning> = { requestTimeoutMs: 2_000, memberSessionTimeoutMs: 2_000, ...options }
  return (context) => new LaminarNodeProcess(context, tuning)
}
