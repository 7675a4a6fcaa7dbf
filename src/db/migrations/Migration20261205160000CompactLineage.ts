import { Migration } from '@mikro-orm/migrations';

/**
 * Readers of golden lineage in SQL, for both stored forms (src/db/lineage.ts): the full map
 * (`{"name":{…}}`) and the compact one the merge writes (`{"~":[{…}],"name":0}`).
 * - junction_lineage(l): the full map;
 * - junction_field_lineage(l, field): one field's source (null when it has none).
 * Rows already stored stay as they are: both functions read either form.
 */
export class Migration20261205160000CompactLineage extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function junction_lineage(l jsonb) returns jsonb language sql immutable parallel safe as $$
  select case when jsonb_typeof(l -> '~') = 'array'
              then coalesce((select jsonb_object_agg(e.key, l -> '~' -> (e.value::text)::int)
                               from jsonb_each(l) e where e.key <> '~' and jsonb_typeof(e.value) = 'number'), '{}'::jsonb)
              else l end
$$`);
    this.addSql(`create function junction_field_lineage(l jsonb, field text) returns jsonb language sql immutable parallel safe as $$
  select case when jsonb_typeof(l -> '~') = 'array' then l -> '~' -> ((l ->> field)::int) else l -> field end
$$`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists junction_field_lineage(jsonb, text)`);
    this.addSql(`drop function if exists junction_lineage(jsonb)`);
  }
}
