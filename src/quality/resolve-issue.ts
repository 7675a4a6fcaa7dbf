import { isBigintId } from '../util/bigint-id';
import type { MikroORM } from '@mikro-orm/postgresql';
import { bulkExecutor } from '../db/sql';
import { badInput, notFound } from '../errors/codes';

export const SETTABLE_STATES = ['ACKNOWLEDGED', 'RESOLVED', 'IGNORED'] as const;
export type SettableState = (typeof SETTABLE_STATES)[number];

/**
 * A person's decision on a data issue, in one transaction: the row is locked, changed, and each
 * changed field (state, resolution note) gets an audit_log row. IGNORED needs a reason. RESOLVED
 * and IGNORED record who (`apikey:<name>`) and when; a check run leaves such a decision alone
 * while the evidence stays the same (src/quality/findings.ts).
 */
export async function resolveDataIssue(
  orm: MikroORM, id: string, state: SettableState, reason: string | null | undefined, actor: { name: string; origin: string },
): Promise<Record<string, unknown>> {
  if (!isBigintId(id)) throw badInput(`"${id}" is not a data issue id`, 'id');
  if (!SETTABLE_STATES.includes(state)) throw badInput(`state must be one of ${SETTABLE_STATES.join(', ')}`, 'state');
  const note = reason?.trim() ? reason.trim() : null;
  if (state === 'IGNORED' && !note) throw badInput(`Ignoring data issue ${id} needs a reason`, 'reason', { recordId: id });
  if (note && note.length > 2000) throw badInput('reason is longer than 2000 characters', 'reason', { recordId: id });
  return orm.em.fork().transactional(async (em) => {
    const exec = bulkExecutor(em);
    const [before] = await exec<any>(`select * from data_issue where id = ? for update`, [id]);
    if (!before) throw notFound(`No data issue ${id}`, { recordId: id, field: 'id' });
    const closing = state === 'RESOLVED' || state === 'IGNORED';
    const [after] = await exec<any>(
      `update data_issue set state = ?, resolution_note = coalesce(?, resolution_note),
              resolved_at = case when ? then now() else null end, resolved_by = case when ? then ? else null end
        where id = ? returning *`,
      [state, note, closing, closing, actor.name, id],
    );
    const changes = [['state', before.state, after.state], ['resolution_note', before.resolution_note, after.resolution_note]]
      .filter(([, b, a]) => b !== a);
    for (const [field, b, a] of changes) {
      await exec(`insert into audit_log (entity_type, entity_id, field, before, after, actor, origin) values ('data_issue', ?, ?, ?::jsonb, ?::jsonb, ?, ?)`,
        [id, field, JSON.stringify(b ?? null), JSON.stringify(a ?? null), actor.name, actor.origin]);
    }
    return after;
  });
}
