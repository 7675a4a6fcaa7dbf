import { createHash } from 'crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import '../connectors/all'; // every connector type registered: `$system` in previews, as in sync
import { connectorRegistry } from '../connectors/registry';
import { sqlOne, sqlRows } from '../db/sql';
import { badInput, notFound } from '../errors/codes';
import { pgDate } from '../graph/types/scalars';
import { logger } from '../logging/logger';
import type { Actor } from '../tickets/ticket-service';
import type { MappingEngine } from './engine';
import { MappingError } from './errors';
import { checkFixtures, Fixture, FixtureFailure, fixturesOf, mappingFileNames } from './fixtures';
import { SandboxedEvaluator, SandboxErrorInfo } from './sandboxed';

/**
 * Admin-saved mapping versions (table `mapping_version`) over the files under `mappings/`.
 * The files are the defaults; at most one saved version per mapping is active and overrides the
 * file in the engine. Saving validates (compiles, passes the mapping's fixtures in the sandbox),
 * numbers the version max+1 and activates it in one transaction; rolling back activates an
 * earlier version or, past the first, returns to the file. Every change of the version in force
 * leaves an audit_log row (entity_type `mapping_version`): who, when, from which to which.
 */

export interface MappingVersionRecord {
  id: string;
  version: number;
  source: string;
  comment: string | null;
  createdBy: string;
  createdAt: Date;
  active: boolean;
  /** Saved with `force` past failing fixtures: the reason given and the fixtures that failed. */
  forced: { reason: string; failingFixtures: string[] } | null;
}

export interface MappingSummary {
  name: string;
  /** The active saved version; null = the file is in force. */
  activeVersion: number | null;
  /** `file:<sha256 prefix>` of the file, as the engine labels it; null when there is no file. */
  fileVersion: string | null;
  /** `v<n>` or the file version: what the engine runs. */
  inForce: string;
  /** Last change of the version in force (save or rollback); null while the file always was. */
  updatedAt: Date | null;
  source: string;
  fileSource: string | null;
  fixtureCount: number;
  /** Newest first. */
  versions: MappingVersionRecord[];
}

export type { Fixture, FixtureFailure } from './fixtures';

export interface SaveOptions {
  /** Save even though fixtures fail; needs a reason (kept in the audit log). */
  force?: boolean | null;
  reason?: string | null;
}

export interface SaveResult {
  version: number;
  fixturesRun: number;
  /** Non-empty only for a forced save. */
  failingFixtures: FixtureFailure[];
}

export interface PreviewOptions {
  /** Expression to try; default the mapping in force. */
  source?: string | null;
  /** Latest this many stored records (1..200, default 20). */
  limit?: number | null;
  /** Only records of this configured connector instance. */
  connector?: string | null;
}

export interface PreviewRow {
  connector: string;
  stream: string;
  externalId: string;
  version: string | null;
  fetchedAt: Date;
  input: unknown;
  output: unknown;
  error: (Omit<SandboxErrorInfo, 'code'> & { code: string; field?: string }) | null;
}

export interface PreviewResult {
  mapping: string;
  /** `draft` for a given source, else the label of the mapping in force. */
  expressionVersion: string;
  rows: PreviewRow[];
  ok: number;
  failed: number;
  timedOut: boolean;
  budgetMs: number;
  elapsedMs: number;
}

export interface LoadActiveResult {
  applied: string[];
  cleared: string[];
  failed: Array<{ name: string; version: number; message: string }>;
}

export interface MappingStoreOptions {
  sandbox?: SandboxedEvaluator;
  /** `$system` for a connector type (crm, erp, iot); default: the connector registry. */
  systemOf?: (connectorType: string) => string | undefined;
  /**
   * Extra check of a preview's outputs (e.g. sync's canonical validation); a throw marks the row
   * failed with the error's `code` (default MAPPING_INVALID_OUTPUT), keeping the output beside it.
   */
  validateOutput?: (output: unknown) => void;
}

export const MAX_PREVIEW_LIMIT = 200;
export const MAX_SOURCE_CHARS = 100_000;
/** First key of the two-key advisory lock that serializes changes of one mapping. */
const LOCK_SPACE = 7274;
const AUDIT_TYPE = 'mapping_version';

interface VersionRow {
  id: string;
  name: string;
  version: number;
  source: string;
  comment: string | null;
  created_by: string;
  created_at: unknown;
  active: boolean;
}

export class MappingStore {
  private readonly sandbox: SandboxedEvaluator;
  private readonly systemOf: (connectorType: string) => string | undefined;
  private readonly validateOutput?: (output: unknown) => void;
  /** name → id of the active row the engine runs (what loadActive compares against). */
  private readonly applied = new Map<string, string>();
  /** Rows that failed to compile on load: not retried (nor logged again) until they change. */
  private readonly refused = new Set<string>();
  private current: Promise<LoadActiveResult> | null = null;
  private queued: Promise<LoadActiveResult> | null = null;

  constructor(
    private readonly orm: MikroORM,
    readonly engine: MappingEngine,
    opts: MappingStoreOptions = {},
  ) {
    this.sandbox = opts.sandbox ?? new SandboxedEvaluator();
    this.systemOf = opts.systemOf ?? ((type) => connectorRegistry.get(type)?.system);
    this.validateOutput = opts.validateOutput;
  }

  /** Every mapping: files under the engine root (recursively) and names that exist only as saved versions. */
  async list(): Promise<MappingSummary[]> {
    const { versions, updatedAt } = await this.readVersions();
    const names = new Set([...this.fileNames(), ...versions.keys()]);
    return [...names].sort().map((name) => this.summary(name, versions.get(name) ?? [], updatedAt.get(name) ?? null));
  }

  /** One mapping; NOT_FOUND when there is neither a file nor a saved version. */
  async get(name: string): Promise<MappingSummary> {
    const { versions, updatedAt } = await this.readVersions(name);
    const rows = versions.get(name) ?? [];
    if (rows.length === 0 && this.fileSourceOf(name) === null) throw unknownMapping(name);
    return this.summary(name, rows, updatedAt.get(name) ?? null);
  }

  async versions(name: string): Promise<MappingVersionRecord[]> {
    return (await this.get(name)).versions;
  }

  /**
   * Saves `source` as the next version of `name` and makes it the one in force. Refused
   * (BAD_USER_INPUT, field `source`) when it does not compile or fails a fixture, unless `force`
   * with a `reason` lets a failing fixture through.
   */
  async save(name: string, source: string, comment: string | null | undefined, actor: Actor, opts: SaveOptions = {}): Promise<SaveResult> {
    await this.get(name); // NOT_FOUND first
    this.checkSource(name, source);
    const force = opts.force === true;
    const reason = opts.reason?.trim() || null;
    if (force && !reason) throw badInput('Saving with force needs a reason (it is kept in the audit log)', 'reason');
    const fixtures = this.fixturesOf(name);
    const failures = await this.checkFixtures(name, source, fixtures);
    if (failures.length > 0 && !force) {
      const [first] = failures;
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more: ${failures.slice(1).map((f) => `"${f.fixture}"`).join(', ')})` : '';
      throw badInput(
        `Mapping ${name} fails its fixture "${first.fixture}": ${first.message}${more}. Fix the expression, or save with force and a reason.`,
        'source',
        { mapping: name, fixture: first.fixture, mappingCode: first.code, failingFixtures: failures.map((f) => f.fixture) },
      );
    }
    const saved = await this.changeInTransaction(name, async (em, current) => {
      const next = await sqlOne<{ version: number }>(em, 'select coalesce(max(version), 0) + 1 as version from mapping_version where name = ?', [name]);
      const version = Number(next!.version);
      if (current) await sqlRows(em, 'update mapping_version set active = false where id = ?', [current.id]);
      const row = await sqlOne<{ id: string }>(
        em,
        'insert into mapping_version (name, version, source, comment, created_by, active) values (?, ?, ?, ?, ?, true) returning id',
        [name, version, source, comment?.trim() || null, actor.name],
      );
      await audit(em, row!.id, 'activeVersion', current?.version ?? null, version, actor);
      if (failures.length > 0) {
        await audit(em, row!.id, 'forcedPastFixtures', null, { reason, failingFixtures: failures.map((f) => f.fixture) }, actor);
      }
      return version;
    });
    await this.loadActive();
    return { version: saved, fixturesRun: fixtures.length, failingFixtures: failures };
  }

  /**
   * Activates `version` of `name`; without a version, the one before the active one (past the
   * first saved version: the file). `version: 0` returns to the file directly.
   */
  async rollback(name: string, actor: Actor, version?: number | null): Promise<{ activeVersion: number | null }> {
    await this.get(name);
    const hasFile = this.fileSourceOf(name) !== null;
    const result = await this.changeInTransaction(name, async (em, current) => {
      let target: VersionRow | null;
      if (version !== undefined && version !== null) {
        if (!Number.isInteger(version) || version < 0) throw badInput(`"${version}" is not a version number (0 = the file)`, 'version');
        target = version === 0 ? null : await sqlOne<VersionRow>(em, 'select * from mapping_version where name = ? and version = ?', [name, version]);
        if (version !== 0 && !target) throw notFound(`Mapping ${name} has no saved version ${version}`, { field: 'version', mapping: name });
      } else {
        if (!current) throw badInput(`Mapping ${name} already runs its file: there is nothing to roll back`, 'version', { mapping: name });
        target = await sqlOne<VersionRow>(em, 'select * from mapping_version where name = ? and version < ? order by version desc limit 1', [name, current.version]);
      }
      if (!target && !hasFile) throw badInput(`Mapping ${name} has no file to return to: roll back to a saved version instead`, 'version', { mapping: name });
      if ((target?.id ?? null) === (current?.id ?? null)) return target ? Number(target.version) : null; // already in force
      if (target) {
        try {
          this.engine.compile(name, target.source, `v${target.version}`);
        } catch (e) {
          throw badInput(`Version ${target.version} of mapping ${name} no longer compiles: ${e instanceof Error ? e.message : String(e)}`, 'version', { mapping: name });
        }
      }
      if (current) await sqlRows(em, 'update mapping_version set active = false where id = ?', [current.id]);
      if (target) await sqlRows(em, 'update mapping_version set active = true where id = ?', [target.id]);
      await audit(em, (target ?? current)!.id, 'activeVersion', current ? Number(current.version) : null, target ? Number(target.version) : null, actor);
      return target ? Number(target.version) : null;
    });
    await this.loadActive();
    return { activeVersion: result };
  }

  /**
   * Makes the engine run what the database says is active. Cheap enough to call before every use:
   * one query over the active rows only (a partial unique index, one row per overridden mapping);
   * sources are read only for rows that changed. It compares the active row ids rather than a
   * max(id) marker because a rollback changes which row is active without adding one. Calls are
   * serialized, so a load never applies rows it read before a change that finished earlier.
   */
  loadActive(): Promise<LoadActiveResult> {
    if (this.queued) return this.queued;
    if (!this.current) {
      this.current = this.doLoad().finally(() => { this.current = null; });
      return this.current;
    }
    const after = this.current.catch(() => undefined);
    this.queued = after.then(() => {
      this.queued = null;
      return this.loadActive();
    });
    return this.queued;
  }

  /**
   * Runs `source` (default: the mapping in force) in the sandbox over the latest stored records of
   * the mapping's stream. Reads only: nothing is written.
   */
  async preview(name: string, opts: PreviewOptions = {}): Promise<PreviewResult> {
    const limit = opts.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PREVIEW_LIMIT) {
      throw badInput(`limit must be between 1 and ${MAX_PREVIEW_LIMIT}, got ${limit}`, 'limit');
    }
    let source: string;
    let expressionVersion: string;
    if (opts.source !== undefined && opts.source !== null) {
      await this.get(name);
      this.checkSource(name, opts.source);
      source = opts.source;
      expressionVersion = 'draft';
    } else {
      // Exactly what the engine runs (after catching up with saves made elsewhere).
      await this.get(name);
      await this.loadActive();
      const inForce = this.engine.get(name);
      source = inForce.source;
      expressionVersion = inForce.version;
    }
    const slash = name.indexOf('/');
    const connectorType = slash < 0 ? name : name.slice(0, slash);
    const stream = slash < 0 ? name : name.slice(slash + 1);
    const params: unknown[] = [stream];
    let where = 'stream = ?';
    if (opts.connector) {
      where += ' and connector = ?';
      params.push(opts.connector);
    }
    const records = await sqlRows<{ connector: string; stream: string; external_id: string; version: string | null; payload: unknown; fetched_at: unknown }>(
      this.orm,
      `select connector, stream, external_id, version, payload, fetched_at from source_record where ${where} order by fetched_at desc, id desc limit ?`,
      [...params, limit],
    );
    const system = this.systemOf(connectorType);
    const run = await this.sandbox.run(name, source, records.map((r) => ({
      input: r.payload,
      bindings: { externalId: r.external_id, version: r.version, stream: r.stream, connector: r.connector, ...(system ? { system } : {}) },
    })));
    const rows = records.map((r, i): PreviewRow => {
      const result = run.results[i];
      const row: PreviewRow = {
        connector: r.connector, stream: r.stream, externalId: r.external_id, version: r.version, fetchedAt: pgDate(r.fetched_at)!,
        input: r.payload, output: result.ok ? result.output : null, error: result.ok ? null : result.error,
      };
      if (result.ok && this.validateOutput) {
        try {
          this.validateOutput(result.output);
        } catch (e) {
          const err = e as { code?: unknown; message?: string; field?: string };
          row.error = {
            code: typeof err.code === 'string' ? err.code : 'MAPPING_INVALID_OUTPUT',
            message: new MappingError('MAPPING_INVALID_OUTPUT', name, err.message ?? String(e)).message,
            field: err.field,
          };
        }
      }
      return row;
    });
    const failed = rows.filter((r) => r.error).length;
    return {
      mapping: name, expressionVersion, rows, ok: rows.length - failed, failed,
      timedOut: run.timedOut, budgetMs: run.budgetMs, elapsedMs: run.elapsedMs,
    };
  }

  /** The fixtures beside the mapping's file (`<name>.fixtures.json`), or none. */
  fixturesOf(name: string): Fixture[] {
    return fixturesOf(this.engine.root, name);
  }

  /** Runs fixtures against `source` in the sandbox; the failures, in file order. */
  checkFixtures(name: string, source: string, fixtures: Fixture[]): Promise<FixtureFailure[]> {
    return checkFixtures(this.sandbox, name, source, fixtures);
  }

  // ---------------------------------------------------------------------------------------------

  private async doLoad(): Promise<LoadActiveResult> {
    const result: LoadActiveResult = { applied: [], cleared: [], failed: [] };
    const active = await sqlRows<{ id: string; name: string }>(this.orm, 'select id, name from mapping_version where active');
    const changed = active.filter((r) => this.applied.get(r.name) !== String(r.id) && !this.refused.has(String(r.id)));
    if (changed.length > 0) {
      const rows = await sqlRows<VersionRow>(this.orm, 'select id, name, version, source from mapping_version where id in (?)', [changed.map((r) => r.id)]);
      for (const row of rows) {
        try {
          this.engine.setOverride(row.name, row.source, `v${row.version}`);
          this.applied.set(row.name, String(row.id));
          result.applied.push(row.name);
        } catch (e) {
          // Saved versions were compiled when saved; this means the engine changed under them.
          // Keep whatever ran before and say so loudly, once.
          this.refused.add(String(row.id));
          const message = e instanceof Error ? e.message : String(e);
          result.failed.push({ name: row.name, version: Number(row.version), message });
          logger.error('saved mapping version does not compile; the previous one stays in force', { mapping: row.name, version: row.version, message });
        }
      }
    }
    const activeNames = new Set(active.map((r) => r.name));
    for (const name of [...this.applied.keys()]) {
      if (activeNames.has(name)) continue;
      this.engine.clearOverride(name);
      this.applied.delete(name);
      result.cleared.push(name);
    }
    return result;
  }

  /** One transaction holding the mapping's lock, with its active row (if any). */
  private changeInTransaction<T>(name: string, fn: (em: EntityManager, current: VersionRow | null) => Promise<T>): Promise<T> {
    return this.orm.em.fork().transactional(async (em) => {
      await sqlRows(em, 'select pg_advisory_xact_lock(?, hashtext(?))', [LOCK_SPACE, name]);
      const current = await sqlOne<VersionRow>(em, 'select * from mapping_version where name = ? and active', [name]);
      return fn(em, current);
    });
  }

  private checkSource(name: string, source: string): void {
    if (!source.trim()) throw badInput('The expression is empty', 'source');
    if (source.length > MAX_SOURCE_CHARS) throw badInput(`The expression is ${source.length} characters, more than ${MAX_SOURCE_CHARS}`, 'source');
    try {
      this.engine.compile(name, source, 'draft');
    } catch (e) {
      if (!(e instanceof MappingError)) throw e;
      throw badInput(e.message, 'source', { mapping: name, mappingCode: e.code, position: e.details.position, token: e.details.token });
    }
  }

  private async readVersions(name?: string): Promise<{ versions: Map<string, MappingVersionRecord[]>; updatedAt: Map<string, Date> }> {
    const filter = name === undefined ? '' : 'where v.name = ?';
    const params = name === undefined ? [] : [name];
    const rows = await sqlRows<VersionRow & { forced: any }>(
      this.orm,
      `select v.*, f.after as forced from mapping_version v
         left join lateral (select a.after from audit_log a
                             where a.entity_type = '${AUDIT_TYPE}' and a.entity_id = v.id and a.field = 'forcedPastFixtures'
                             order by a.id desc limit 1) f on true
       ${filter} order by v.name, v.version desc`,
      params,
    );
    const changes = await sqlRows<{ name: string; at: unknown }>(
      this.orm,
      `select v.name, max(a.at) as at from audit_log a join mapping_version v on a.entity_type = '${AUDIT_TYPE}' and a.entity_id = v.id
       ${filter} group by v.name`,
      params,
    );
    const versions = new Map<string, MappingVersionRecord[]>();
    for (const r of rows) {
      const list = versions.get(r.name) ?? [];
      list.push({
        id: String(r.id), version: Number(r.version), source: r.source, comment: r.comment, createdBy: r.created_by,
        createdAt: pgDate(r.created_at)!, active: r.active,
        forced: r.forced ? { reason: String(r.forced.reason ?? ''), failingFixtures: (r.forced.failingFixtures ?? []).map(String) } : null,
      });
      versions.set(r.name, list);
    }
    return { versions, updatedAt: new Map(changes.map((c) => [c.name, pgDate(c.at)!])) };
  }

  private summary(name: string, versions: MappingVersionRecord[], updatedAt: Date | null): MappingSummary {
    const fileSource = this.fileSourceOf(name);
    const fileVersion = fileSource === null ? null : `file:${createHash('sha256').update(fileSource).digest('hex').slice(0, 12)}`;
    const active = versions.find((v) => v.active) ?? null;
    let fixtureCount = 0;
    try {
      fixtureCount = this.fixturesOf(name).length;
    } catch {
      fixtureCount = 0; // an unreadable fixtures file shows up when saving, with its reason
    }
    return {
      name,
      activeVersion: active ? active.version : null,
      fileVersion,
      inForce: active ? `v${active.version}` : (fileVersion ?? 'none'),
      updatedAt,
      source: active ? active.source : (fileSource ?? ''),
      fileSource,
      fixtureCount,
      versions,
    };
  }

  private fileSourceOf(name: string): string | null {
    try {
      return this.engine.fileSource(name); // also refuses names that are not valid mapping names
    } catch (e) {
      if (e instanceof MappingError && e.code === 'MAPPING_NOT_FOUND') return null;
      throw e;
    }
  }

  private fileNames(): string[] {
    return mappingFileNames(this.engine.root);
  }

}

function unknownMapping(name: string) {
  return notFound(`No mapping named "${name}" (neither a file under mappings/ nor a saved version)`, { field: 'name', mapping: name });
}

async function audit(em: EntityManager, id: string, field: string, before: unknown, after: unknown, actor: Actor): Promise<void> {
  await sqlRows(
    em,
    'insert into audit_log (entity_type, entity_id, field, before, after, actor, origin) values (?, ?, ?, ?::jsonb, ?::jsonb, ?, ?)',
    [AUDIT_TYPE, id, field, before === null ? null : JSON.stringify(before), after === null ? null : JSON.stringify(after), actor.name, actor.origin],
  );
}
