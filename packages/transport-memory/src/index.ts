export type { ConnectFate, FrameFate, LinkPolicy } from './network/link-policy'
export { perfectLinks } from './network/link-policy'
export { MemoryConnection } from './network/memory-connection'
export type { MemoryNetworkOptions } from './network/memory-network'
export {
  CONNECTION_HIGH_WATER_MARK_BYTES_DEFAULT,
  HELD_DELIVERIES_MAX,
  MemoryNetwork,
} from './network/memory-network'
export { MemoryTransport } from './network/memory-transport'
export type { DeliveryScheduler } from './network/scheduler'
export { ClockScheduler, RealTimeScheduler } from './network/scheduler'
export {
  checkDuplicates,
  checkInconsistentOffsets,
  checkLostWrites,
  checkPollOrder,
  checkQueueHistory,
  checkSeenButFailed,
  checkUnseen,
} from './sim/checkers/queue-checkers'
export type { QueueEvent } from './sim/checkers/queue-history'
export {
  checkAckDurability,
  checkCommittedEntriesUnlosable,
  checkDurableStateMonotonic,
  checkElectionSafety,
  checkLeaderCompleteness,
  checkLogMatching,
  checkOneVotePerTerm,
  checkStateMachineSafety,
  RAFT_CHECKERS,
} from './sim/checkers/raft-checkers'
export type { Checker, Violation } from './sim/checkers/violation'
export { VIOLATIONS_PER_CHECKER_MAX } from './sim/checkers/violation'
export type { FaultKind, FaultSettings } from './sim/fault-plan'
export { describeFaultSettings, FAULT_KINDS, parseFaultKinds, randomFaultSettings } from './sim/fault-plan'
export type { FaultEvent, ProcessErrorEvent, RaftEvent } from './sim/history'
export { SimHistory } from './sim/history'
export { LaminarNodeProcess, laminarProcessFactory } from './sim/laminar/laminar-process'
export type { LaminarWorkloadOptions } from './sim/laminar/laminar-workload'
export { LaminarWorkload } from './sim/laminar/laminar-workload'
export type { LaminarSeedRunOptions, LaminarSeedRunResult } from './sim/laminar/run-laminar-seed'
export { LAMINAR_FAULT_KINDS, runLaminarSeed } from './sim/laminar/run-laminar-seed'
export type { LinkFaultSettings } from './sim/link-faults'
export { CALM_LINKS, SimulatedLinks } from './sim/link-faults'
export { Nemesis } from './sim/nemesis'
export { Prng } from './sim/prng'
export type { ProcessContext, ProcessFactory, SimPeer, SimProcess } from './sim/process'
export { DurableRaftMirror, PersistedRaftLog } from './sim/raft/persisted-raft-log'
export type { RaftClientStats } from './sim/raft/raft-client'
export { RaftClient } from './sim/raft/raft-client'
export type {
  ProposalAck,
  RaftHostFault,
  RaftProcessOptions,
  RaftProcessStatus,
} from './sim/raft/raft-process'
export { DEFAULT_RAFT_PROCESS_OPTIONS, RaftProcess, raftProcessFactory } from './sim/raft/raft-process'
export type { SeedRunOptions, SeedRunResult } from './sim/run-seed'
export { runSeed } from './sim/run-seed'
export type {
  CrashOutcome,
  DurableChange,
  SimulatedStorageOptions,
  StorageLatency,
} from './sim/simulated-storage'
export { DEFAULT_STORAGE_LATENCY, SimulatedDisk, SimulatedStorage } from './sim/simulated-storage'
export { Simulation } from './sim/simulation'
export type { CheckResult, NodeState, SimulationOptions } from './sim/simulation-options'
export { SortedMemoryStorage } from './sim/sorted-memory-storage'
export type { VirtualTimer } from './sim/timer-queue'
export { TimerQueue } from './sim/timer-queue'
export { digestBytes, TraceHash } from './sim/trace-hash'
export { ProcessClock, VirtualTime } from './sim/virtual-clock'
