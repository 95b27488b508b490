import { addressKeyOf, groupOf, objectKeyOf } from '../keys.js';
import type { Update } from '../update.js';

/**
 * Where an update goes in the queue's keys, as intake.lua files it: worked out by the producer, so the enqueue
 * script neither decodes the job's data nor folds an email's case in Redis, whose one thread every replica and
 * producer shares. It must agree with `Intake.route` (intake.lua), which ingest uses for other clients' jobs; a
 * test compares the two over odd but legal updates.
 */
export interface Route {
  /** `account|objectType`. */
  group: string;
  /** The object's key when the update names its record id; '' when it is addressed by a unique value. */
  objectKey: string;
  /** The address (a unique property's value) the update is addressed by; '' when it names its record id. */
  address: string;
  /** The addresses of the unique values the update sets, one per line ('' for none), see `Intake.route`. */
  sets: string;
  /**
   * True when the producer leaves the update to ingest (an email beyond ASCII, see {@link routeOf}): then only
   * `objectKey` counts, whose fence the enqueue keeps while the update waits.
   */
  toIngest: boolean;
}

/** As JobData.route tells a part usable in a key (job-data.lua): no `|`, `:` or white space. */
const NAME_PART = /^[^|:\s]+$/;
/** Lua's `%s`: the C locale's white space. */
const LUA_SPACE = /[ \t\n\v\f\r]/;

/** Anything beyond ASCII, whose case folding follows the Unicode data of the Node that runs the code. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The route of a valid update, or undefined when the queue's scripts would not route it (it is left to ingest,
 * which fails it by name; validation refuses every such update, so this is a guard). `toIngest` when it names an
 * email beyond ASCII: the producer leaves it to ingest too. The worker keys emails by the case folding of its own
 * Node (`K.lowerEmail`, built from its Unicode tables); a producer embedded in an app on another Node version could
 * fold such an email otherwise, so the worker works those routes out itself. ASCII folds alike everywhere.
 */
export function routeOf(u: Update): Route | undefined {
  const email = (u.properties as Record<string, unknown>).email;
  // Folded: the email an update is addressed by, and a new email it sets (a contact's, or the property an object
  // is addressed by).
  const toIngest =
    (u.idProperty === 'email' && NON_ASCII.test(u.id)) ||
    ((u.objectType === 'contacts' || u.idProperty === 'email') &&
      typeof email === 'string' &&
      NON_ASCII.test(email));
  const routable =
    NAME_PART.test(u.objectType) &&
    u.id !== '' &&
    NAME_PART.test(u.account) &&
    (u.idProperty === undefined || NAME_PART.test(u.idProperty)) &&
    NAME_PART.test(u.objectWriteTraceId);
  if (!routable) return undefined;
  const group = groupOf(u.account, u.objectType);
  const own =
    u.idProperty === undefined ? undefined : addressKeyOf(u.account, u.objectType, u.idProperty, u.id);
  const sets: string[] = [];
  const index = (property: string) => {
    const value = (u.properties as Record<string, unknown>)[property];
    if (typeof value !== 'string' || value === '' || LUA_SPACE.test(value)) return;
    const address = addressKeyOf(u.account, u.objectType, property, value);
    if (address !== own) sets.push(address);
  };
  if (u.objectType === 'contacts') index('email');
  if (u.idProperty !== undefined && !(u.objectType === 'contacts' && u.idProperty === 'email'))
    index(u.idProperty);
  return {
    group,
    objectKey: own === undefined ? objectKeyOf(u.account, u.objectType, '', u.id) : '',
    address: own ?? '',
    sets: sets.join('\n'),
    toIngest,
  };
}
