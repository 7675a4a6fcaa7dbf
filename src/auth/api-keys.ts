import { createHash, randomBytes } from 'crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne, sqlRows } from '../db/sql';
import { badInput } from '../errors/codes';
import { parseRole, Role } from './roles';
import { pgDate } from '../graph/types/scalars';
import { isBigintId } from '../util/bigint-id';

/** Shortest key we accept, also for preset demo keys (keys are bearer secrets). */
export const MIN_KEY_LENGTH = 24;

export interface AuthInfo {
  keyId: string;
  name: string;
  role: Role;
}

export interface ApiKeySummary {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * What is stored and listed to tell keys apart: `jk_<role>_` and the first 4 random characters
 * (only `jk_portal_` before, the same for every portal key); 8 characters of a preset key of another shape.
 */
export function keyPrefix(key: string): string {
  const m = /^jk_[a-z]+_/.exec(key);
  return key.slice(0, m ? m[0].length + 4 : 8);
}

function newKeyValue(role: Role): string {
  return `jk_${role}_${randomBytes(24).toString('base64url')}`;
}

/**
 * Stores a key (only its hash) and returns the plain key once. `presetKey` lets the demo and
 * tests fix a known key; it must still be long enough to be a secret.
 */
export async function createApiKey(
  orm: MikroORM,
  input: { name: string; role: Role | string; presetKey?: string },
): Promise<{ id: string; key: string }> {
  const role = parseRole(String(input.role));
  if (!role) throw badInput(`Unknown role "${input.role}"; use portal, admin or batch`, 'role');
  const name = input.name.trim();
  if (!name) throw badInput('A key needs a name', 'name');
  const key = input.presetKey ?? newKeyValue(role);
  if (key.length < MIN_KEY_LENGTH) throw badInput(`An API key must have at least ${MIN_KEY_LENGTH} characters`, 'key');
  const row = await sqlOne<{ id: string }>(
    orm,
    `insert into api_key (name, role, prefix, key_hash) values (?, ?, ?, ?)
     on conflict (key_hash) do update set name = excluded.name, role = excluded.role, revoked_at = null
     returning id`,
    [name, role, keyPrefix(key), hashApiKey(key)],
  );
  return { id: String(row!.id), key };
}

export async function listApiKeys(orm: MikroORM): Promise<ApiKeySummary[]> {
  const rows = await sqlRows<any>(orm, `select id, name, role, prefix, created_at, revoked_at from api_key order by id`);
  return rows.map((r) => ({
    id: String(r.id), name: r.name, role: r.role, prefix: r.prefix, createdAt: pgDate(r.created_at)!, revokedAt: pgDate(r.revoked_at),
  }));
}

export async function revokeApiKey(orm: MikroORM, id: string): Promise<boolean> {
  if (!isBigintId(id)) throw badInput(`"${id}" is not an API key id`, 'id');
  const rows = await sqlRows(orm, `update api_key set revoked_at = now() where id = ? and revoked_at is null returning id`, [id]);
  return rows.length > 0;
}

/**
 * Verifies bearer keys. Verified keys are cached for a short time per process so a request
 * costs no extra round trip; revocation takes effect within `cacheSeconds`.
 */
export class ApiKeyVerifier {
  private cache = new Map<string, { auth: AuthInfo | null; expires: number }>();

  constructor(private readonly orm: MikroORM, private readonly cacheSeconds: number) {}

  async verify(key: string): Promise<AuthInfo | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expires > now) return hit.auth;
    const row = await sqlOne<any>(this.orm, `select id, name, role from api_key where key_hash = ? and revoked_at is null`, [hash]);
    const auth = row ? { keyId: String(row.id), name: row.name, role: row.role as Role } : null;
    // Unknown keys are cached too (briefly) so a flood of bad keys does not hit the database each time.
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(hash, { auth, expires: now + this.cacheSeconds * 1000 });
    return auth;
  }

  forget(): void {
    this.cache.clear();
  }
}
