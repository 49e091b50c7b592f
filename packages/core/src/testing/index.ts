// Compliance suites every adapter runs, as abstract-level ships its own test suite.
export * from './storage-suite'
export * from './transport-suite'
