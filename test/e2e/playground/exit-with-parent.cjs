// Preloaded (`node --require`) into the servers the Playground suite starts (Allot and the two
// Playgrounds): when the test worker that started one dies without stopping it (killed, crashed), the
// server is re-parented and stops too, so no process outlives the run. Chromium needs no such help: it
// exits when Playwright's pipe to it closes.
'use strict';

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();
