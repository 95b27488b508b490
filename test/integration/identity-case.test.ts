import { describe, expect, it } from 'vitest';
import { foldEmailCase } from '../../src/email-case.js';
import { addressKeyOf, groupOf, queueKeys } from '../../src/keys.js';
import { LUA_KEYS } from '../../src/lua-prelude.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

/** Every non-ASCII code point below 0x3000 and a few past it (Deseret, fullwidth, Kelvin and Ångström signs). */
function sampleText(): string[] {
  const chunks: string[] = [];
  let chunk = '';
  for (let cp = 0x80; cp < 0x3000; cp++) {
    chunk += String.fromCodePoint(cp);
    if (chunk.length >= 400) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  chunks.push(`${chunk}\u{10400}\u{1E900}ＡＢＣ\u212A\u212B\u0130ΟΔΟΣ Σ`);
  return chunks;
}

describe('emails are compared case-insensitively in any script, alike in TypeScript, Lua and the simulator', () => {
  it("Lua's address keys fold emails as normalizeAddress does", async () => {
    const k = queueKeys(testQueue('email-case'));
    const group = groupOf('a', 'contacts');
    const values = [
      ...sampleText(),
      'ÉLODIE.Straße@Exemple.FR',
      'plain@example.com',
      'İSTANBUL@örnek.com.tr',
    ];
    for (const value of values) {
      const lua = await testRedis().eval(
        `${LUA_KEYS}\nreturn K.addressKey(ARGV[3], 'email', ARGV[4])`,
        0,
        ...k.scriptArgs,
        group,
        value,
      );
      expect(lua).toBe(addressKeyOf('a', 'contacts', 'email', value));
    }
    expect(foldEmailCase('ÉLODIE.Straße@Exemple.FR')).toBe('élodie.straße@exemple.fr');
    // One code point each: İ is i, a final Σ is σ (not the word-final ς of toLowerCase).
    expect(foldEmailCase('İSTANBUL@ΟΔΟΣ.gr')).toBe('istanbul@οδοσ.gr');
  });

  it('one contact addressed by a non-ASCII email in three cases and by its id: one record, one read', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '200001', properties: { email: 'élodie.durand@exemple.fr' } },
      { id: '200002', properties: { email: 'Иван.Петров@пример.рф' } },
    ]);
    const queue = testQueue('identity-case');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const results = await producer.enqueueMany([
      {
        objectType: 'contacts',
        id: 'ÉLODIE.DURAND@EXEMPLE.FR',
        idProperty: 'email',
        properties: { city: 'Lyon' },
      },
      {
        objectType: 'contacts',
        id: 'Élodie.Durand@exemple.fr',
        idProperty: 'email',
        properties: { firstname: 'É' },
      },
      { objectType: 'contacts', id: '200001', properties: { lastname: 'Durand' } },
      {
        objectType: 'contacts',
        id: 'иван.петров@ПРИМЕР.РФ',
        idProperty: 'email',
        properties: { city: 'Москва' },
      },
    ]);
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.hubspotObjectId])).toEqual([
      ['succeeded', '200001'],
      ['succeeded', '200001'],
      ['succeeded', '200001'],
      ['succeeded', '200002'],
    ]);
    expect(sim.getObject(TOKEN, 'contacts', '200001')?.properties).toMatchObject({
      city: 'Lyon',
      firstname: 'É',
      lastname: 'Durand',
    });
    expect(sim.getObject(TOKEN, 'contacts', '200002')?.properties.city).toBe('Москва');
    // One mapping per record, under the folded email; one read for both addresses.
    const mapped = await testRedis().get(
      queueKeys(queue).address(addressKeyOf('default', 'contacts', 'email', 'élodie.durand@exemple.fr')),
    );
    expect(mapped).toBe('200001');
    expect(sim.calls().filter((c) => c.endpoint === 'batchRead')).toHaveLength(1);
  });
});
