// Preloaded into benchmark worker processes (NODE_OPTIONS=--import): reports each stall of the event loop over
// 15 ms on stderr as `STALL <epoch ms> <ms>`, so a gap between two calls at HubSpot's side can be told apart
// from a replica that could not run at that moment (a GC pause, the machine's other processes).
let expected = Date.now() + 5;
setInterval(() => {
  const now = Date.now();
  if (now - expected > 15) process.stderr.write(`STALL ${expected} ${now - expected}\n`);
  expected = now + 5;
}, 5).unref();
