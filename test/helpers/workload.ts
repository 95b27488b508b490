import type { Simulator } from '../../src/simulator/index.js';
import type { Workload } from '../../src/simulator/workload.js';
import { TOKEN } from './pipeline.js';

/** Creates the workload's seed contacts and companies in the simulator, for TOKEN. */
export function seedWorkload(sim: Simulator, workload: Workload): void {
  for (const type of ['contacts', 'companies'] as const) {
    sim.createObjects(
      TOKEN,
      type,
      workload.seed.filter((s) => s.objectType === type).map((s) => ({ id: s.id, properties: s.properties })),
    );
  }
}
