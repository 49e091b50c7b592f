// Compliance suites every adapter runs, as abstract-level ships its own test suite.
export {}
