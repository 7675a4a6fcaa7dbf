import type { FieldLineage, LineageMap } from './entities/base';

/**
 * Stored form of a golden record's lineage. The merge writes it compact: each source once, under
 * `"~"`, and each field as the index of its source (`{"~":[{…erp order 1…}],"model":0,"amount":0}`):
 * a record's fields mostly come from one or two source records, and the full map repeated the same
 * source for every field (85% of a purchase row's bytes, parsed and written again on every merge).
 * The full map (`{"model":{…},"amount":{…}}`) is still read everywhere: rows written before, the
 * demo loader, tickets. `decodeLineage` (JS) and `junction_lineage` / `junction_field_lineage` (SQL,
 * migration CompactLineage) read both forms; nothing outside the merge sees the compact one.
 */
export const SOURCES_KEY = '~';

/** The full map of a stored lineage, whichever form it is in. */
export function decodeLineage(stored: unknown): LineageMap {
  if (stored === null || stored === undefined || typeof stored !== 'object') return {};
  const s = stored as Record<string, unknown>;
  const sources = s[SOURCES_KEY];
  if (!Array.isArray(sources)) return s as LineageMap;
  const map: LineageMap = {};
  for (const field of Object.keys(s)) {
    if (field === SOURCES_KEY) continue;
    const l = sources[s[field] as number] as FieldLineage | undefined;
    if (l !== undefined) map[field] = l;
  }
  return map;
}

/**
 * The compact JSON text of a lineage map. Fields whose sources are the same (the same text) share
 * one entry; `textOf` gives each source's JSON (callers cache it: one object is shared by many rows).
 */
export function encodeLineage(map: LineageMap, textOf: (l: FieldLineage) => string = JSON.stringify): string {
  const index = new Map<string, number>();
  let sources = '';
  let fields = '';
  for (const field of Object.keys(map)) {
    const l = map[field];
    if (l === undefined) continue;
    const text = textOf(l);
    let i = index.get(text);
    if (i === undefined) {
      i = index.size;
      index.set(text, i);
      sources += `${i ? ',' : ''}${text}`;
    }
    fields += `,${JSON.stringify(field)}:${i}`;
  }
  return `{"${SOURCES_KEY}":[${sources}]${fields}}`;
}
