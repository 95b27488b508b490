/**
 * `explain` prints other producers' text to an operator's terminal: trace ids (its own and those merged with it)
 * and HubSpot's messages. A trace id carrying terminal control sequences (ESC, BEL: not whitespace, so the
 * trace id rule let them in) must not reach that terminal: either the update is refused at enqueue, or the
 * text printed has no control characters.
 */
import { describe, expect, it } from 'vitest';
import { renderExplanation } from '../../src/story/render.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

// Control characters a terminal acts on; newline is explain's own line separator.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters the test looks for
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/;

describe('explain: text from producers', () => {
  it('a trace id with terminal escape sequences never reaches the text explain prints of an update merged with it', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '7000', properties: {} }]);
    const queue = testQueue('explain-escapes');
    const producer = testProducer(queue);
    // Sets the terminal's title and clears the screen.
    const evil = 'order-1\u001b]0;owned\u0007\u001b[2J';
    let refused = false;
    try {
      await producer.enqueueMany([
        { objectType: 'contacts', id: '7000', properties: { firstname: 'x' }, objectWriteTraceId: evil },
      ]);
    } catch {
      refused = true;
    }
    const [victim] = await producer.enqueueMany([
      { objectType: 'contacts', id: '7000', properties: { lastname: 'y' } },
    ]);
    const trace = victim?.objectWriteTraceId as string;
    await testWorker(queue, sim);
    await producer.waitForOutcomes(refused ? [trace] : [trace, evil]);

    const story = await producer.explain(trace);
    const text = renderExplanation(story);
    expect(text, 'control characters in the text explain prints').not.toMatch(CONTROL);
  });
});
