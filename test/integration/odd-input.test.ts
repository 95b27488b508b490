import { describe, expect, it } from 'vitest';
import { UpdateValidationError } from '../../src/update.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

describe('odd but legal input', () => {
  it('a very small or very large JSON number for a number property reaches HubSpot in a form it takes', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '1000', properties: {} },
      { id: '1001', properties: {} },
    ]);
    const queueName = testQueue('numbers');
    const producer = testProducer(queueName);
    await testWorker(queueName, sim, { validateProperties: false });
    // Finite numbers the producer accepts; JavaScript's own String() writes them as "1e-7" and "1e+21".
    const a = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { age: 0.0000001 } });
    const b = await producer.enqueue({ objectType: 'contacts', id: '1001', properties: { age: 1e21 } });
    const outcomes = await producer.waitForOutcomes([a.objectWriteTraceId, b.objectWriteTraceId]);
    expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.age).toBe('0.0000001');
    expect(sim.getObject(TOKEN, 'contacts', '1001')?.properties.age).toBe('1000000000000000000000');
  });

  it('a property name a parsed object cannot hold (__proto__) is refused, not silently dropped', async () => {
    const producer = testProducer(testQueue('proto'));
    const update = JSON.parse(
      '{"objectType":"contacts","id":"1","properties":{"__proto__":"x","firstname":"a"}}',
    );
    const refused = await producer.enqueue(update).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UpdateValidationError);
    expect(String((refused as Error).message)).toMatch(/__proto__/);
  });
});
