import { LaminarNode, type NodeTuning } from '@laminar-ts/core'
import type { ProcessContext, ProcessFactory, SimProcess } from '../process'

/** A joining node's first start waits this long (virtual time), so it joins a working cluster, often under faults. */
const JOIN_DELAY_MS = 800

/**
 * A real LaminarNode as a simulated process: it gets exactly the simulation's transport,
 * storage, clock and randomness. A crash needs nothing from it (its clock and network are cut
 * by the simulation and the object is dropped); `stop` is the graceful shutdown.
 */
export class LaminarNodeProcess implements SimProcess {
  readonly node: LaminarNode
  readonly #context: ProcessContext
  readonly #startDelayMs: number

  /**
   * With `joiner`, that node is not one of the cluster's founders: the others are configured
   * without it, and it starts with only itself and the founders' addresses as join seeds, so it
   * is admitted at run time (and finds its admission in storage after a restart). Its first
   * start comes {@link JOIN_DELAY_MS} after the others'.
   */
  constructor(context: ProcessContext, options: Partial<NodeTuning> = {}, joiner?: string) {
    const founders = context.peers.filter((peer) => peer.id !== joiner)
    const joining = context.id === joiner
    this.#context = context
    this.#startDelayMs = joining && context.incarnation === 1 ? JOIN_DELAY_MS : 0
    this.node = new LaminarNode({
      id: context.id,
      peers: joining ? context.peers.filter((peer) => peer.id === joiner) : founders,
      ...(joining ? { join: founders.map((peer) => peer.address) } : {}),
      transport: context.transport,
      storage: context.storage,
      clock: context.clock,
      random: context.random,
      options,
    })
  }

  async start(): Promise<void> {
    if (this.#startDelayMs > 0) {
      await new Promise<void>((resolve) => this.#context.clock.setTimer(resolve, this.#startDelayMs))
    }
    await this.node.start()
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

/**
 * Simulated LaminarNodes with the given tuning (simulation-friendly defaults below); `joiner`
 * names a node that joins the founders at run time.
 */
export function laminarProcessFactory(
  options: Partial<NodeTuning> = {},
  joiner?: string,
): ProcessFactory<LaminarNodeProcess> {
  const tuning: Partial<NodeTuning> = { requestTimeoutMs: 2_000, memberSessionTimeoutMs: 2_000, ...options }
  return (context) => new LaminarNodeProcess(context, tuning, joiner)
}
