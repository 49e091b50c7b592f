/**
 * What happens to one frame on its way from one host to another. The in-memory network asks
 * its {@link LinkPolicy} once per frame; the simulator's policy draws faults from the seed.
 */
export type FrameFate =
  | { readonly drop: true }
  | {
      readonly drop: false
      /** Network latency for this frame. */
      readonly delayMs: number
      /** Deliver out of order: not held behind earlier frames of the same connection. */
      readonly reorder: boolean
      /** When set, a second copy arrives this many milliseconds after the first. */
      readonly duplicateDelayMs?: number
    }

/** What happens to a connection attempt from one host to another. */
export type ConnectFate =
  | { readonly refuse: true; readonly delayMs: number }
  | { readonly refuse: false; readonly delayMs: number }

/**
 * Decides the fate of traffic between hosts. Hosts are the names given to
 * `MemoryNetwork.transport({ host })`; in a Simulation they are node ids.
 */
export interface LinkPolicy {
  frameFate(fromHost: string, toHost: string, frameBytes: number): FrameFate
  connectFate(fromHost: string, toHost: string): ConnectFate
}

const DELIVER_NOW: FrameFate = { drop: false, delayMs: 0, reorder: false }
const CONNECT_NOW: ConnectFate = { refuse: false, delayMs: 0 }

/** The fault-free network: every frame arrives, in order, without delay. */
export const perfectLinks: LinkPolicy = {
  frameFate: () => DELIVER_NOW,
  connectFate: () => CONNECT_NOW,
}
