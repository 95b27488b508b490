/**
 * Members of the dead-letter index (the `failed` zset, scored by finish time in ms) are
 * `traceId|category|jobId`. The category travels with the entry so that pruning can take the entry off the
 * `failed:<category>` counter after its outcome record has expired. Trace ids never contain `|` and categories
 * have it replaced, so the first two `|` separate the fields and the job id, which may contain `|`, comes last.
 *
 * Queues written by earlier versions hold `jobId|traceId`. Such a member has exactly one `|` (job ids made by
 * the producer are `t-<traceId>`), which is how it is told apart; its category is unknown until its outcome
 * record is read. The Lua scripts that read members (replay.lua, prune.lua) follow the same rules.
 */

/** One parsed index member. `category` is undefined for a member in the earlier `jobId|traceId` form. */
export interface FailedMember {
  traceId: string;
  category: string | undefined;
  jobId: string;
}

/** `|` separates the member's fields, so it may not appear inside a trace id or a category. */
export function memberField(text: string): string {
  return text.replaceAll('|', '_');
}

/** The index member of a failed update. */
export function failedMember(traceId: string, category: string, jobId: string): string {
  return `${memberField(traceId)}|${memberField(category)}|${jobId}`;
}

/** Reads either form of member; undefined for a string that is neither. */
export function parseFailedMember(member: string): FailedMember | undefined {
  const first = member.indexOf('|');
  if (first <= 0) return undefined;
  const second = member.indexOf('|', first + 1);
  if (second < 0) {
    const traceId = member.slice(first + 1);
    return traceId === '' ? undefined : { traceId, category: undefined, jobId: member.slice(0, first) };
  }
  const jobId = member.slice(second + 1);
  if (jobId === '') return undefined;
  return { traceId: member.slice(0, first), category: member.slice(first + 1, second), jobId };
}
