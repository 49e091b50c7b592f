#!/usr/bin/env node
// The `laminar` CLI contract is fixed in DESIGN.md; its commands land with the CLI issue.
process.stderr.write('laminar: the CLI is not built yet; see the open issues.\n')
process.exitCode = 2
