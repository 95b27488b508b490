import { afterEach, expect } from 'vitest';
import { openResources, runCleanups } from './resources.js';

// Cleanups first, then a test that left a worker, connection or server open fails, so leaks are found where
// they start.
afterEach(async () => {
  await runCleanups();
  const open = openResources();
  expect(open, `resources left open: ${open.join(', ')}`).toEqual([]);
});
