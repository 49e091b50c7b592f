// The embedded 3-node demo lands with the broker (LaminarNode). Until then this says so plainly.
console.log('laminar-ts: the embedded cluster demo is not built yet (the broker issue is open).')
process.exitCode = 1
