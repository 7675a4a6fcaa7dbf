/**
 * `POST /webhooks/<connector>`: who may push, what the push carries, and what happens to it.
 *
 * Order of checks — cheap and unauthenticated first, nothing stored before the sender is verified:
 * connector known and webhook-enabled (404) → body size (413, in the router) → content type (415)
 * → sender (401/403: HMAC or shared secret, timestamp window, Salesforce organization) → then the
 * delivery is stored (`webhook_event`) and processed in ONE transaction with the merge, so the
 * answer the sender gets (Ack / 200) means "stored and merged", and a crash means "nothing
 * happened, send again". Malformed bodies and wrong shapes from a verified sender are stored as
 * FAILED with their error (400/422) so an admin can see what was sent.
 *
 * Processing is synchronous, in the request: pushes are small (one record, or up to 100 Salesforce
 * notifications), a page merges in milliseconds, and answering only after the commit is what makes
 * the sender's retry the recovery path. Merges take the same transaction-scoped advisory lock as
 * pull pages (Merger), so a push waits at most for the page being merged, never for a whole run.
 *
 * Replays: the dedupe key is the sender's delivery id (X-Junction-Event-Id, or Salesforce's
 * notification ids), else the HMAC's bytes (unique per signing; hex, base64 or `sha256=` alike),
 * else the body with what dates it (timestamp header, X-TB-Ts); a shared-secret push with nothing
 * that dates it has no guard.
 * A repeat of a processed delivery is acknowledged (200 / Ack true, `duplicate: true`) without
 * processing it again: senders retry when an answer is lost, and refusing the retry would only
 * make them retry for a day. A captured request replayed gains nothing: it changes nothing.
 */
import { createHash, randomUUID } from 'crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConnectorsConfig } from '../connectors/config';
import type { ConnectorEntry } from '../connectors/config';
import { sqlOne } from '../db/sql';
import { ErrorCode } from '../errors/codes';
import { logger } from '../logging/logger';
import type { MappingStore } from '../mapping/store';
import { loadSyncSetup } from '../sync/instances';
import { ConnectorInstance, IngestResult, SyncPipeline } from '../sync/pipeline';
import { readSecret, WebhookSettings } from './config';
import { WebhookError, webhookError } from './errors';
import type { PushBatch } from './push';
import { outboundAck, parseOutboundMessage, parseSalesforceJson, redactSessionId, soapFault } from './salesforce';
import { claimEvent, EventOutcome, finishEvent } from './store';
import { NAME_KEYED_PREFIX, parseThingsBoardPush } from './thingsboard';
import { checkTimestamp, decodeSignature, verifyHmac, verifyToken } from './verify';
import { parseXml } from './xml';

/** Connector types that can push, and the media types each accepts. */
const PUSH_TYPES: Record<string, { json: boolean; soap: boolean }> = {
  salesforce: { json: true, soap: true },
  thingsboard: { json: true, soap: false },
};

export interface WebhookTarget {
  entry: ConnectorEntry & { webhook: WebhookSettings };
  instance: ConnectorInstance;
}

export interface WebhookRequest {
  connector: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  query: Record<string, unknown>;
  contentType: string | undefined;
  body: Buffer;
}

export interface WebhookResponse {
  status: number;
  contentType: string;
  body: string;
}

interface Setup {
  entries: Map<string, ConnectorEntry>;
  pipeline: SyncPipeline;
  instances: Map<string, ConnectorInstance>;
}

export interface WebhookServiceOptions {
  /** Connector config file (else $JUNCTION_CONFIG, else ./junction.config.yaml). */
  configPath?: string;
  /** Where `{env: NAME}` secrets are read (tests). */
  env?: NodeJS.ProcessEnv;
}

export class WebhookService {
  private setup: Setup | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly mappings: MappingStore,
    private readonly opts: WebhookServiceOptions = {},
  ) {}

  /**
   * The config, read on the first push. Instances are built without the vendors' credentials
   * (like the gateway's stream catalog): a push needs the connector's type, system and streams,
   * never a call to the vendor, so the gateway holds only the webhook secrets.
   */
  private load(): Setup {
    if (this.setup) return this.setup;
    const config = loadConnectorsConfig(this.opts.configPath, this.opts.env ?? process.env);
    const placeholders = new Proxy({} as NodeJS.ProcessEnv, { get: (_t, key) => (typeof key === 'string' ? 'not-read' : undefined) });
    const { instances } = loadSyncSetup(undefined, { config, env: placeholders });
    this.setup = { entries: new Map(config.connectors.map((e) => [e.name, e])), instances, pipeline: new SyncPipeline(this.orm, this.mappings.engine, instances) };
    return this.setup;
  }

  /** The instance a request names, if it may push (else 404 with why). */
  target(connector: string): WebhookTarget {
    const { entries, instances } = this.load();
    const entry = entries.get(connector);
    if (!entry) throw webhookError(ErrorCode.WEBHOOK_UNKNOWN_CONNECTOR, `No connector "${connector.slice(0, 64)}" is configured`, { field: 'connector' });
    if (!PUSH_TYPES[entry.type]) throw webhookError(ErrorCode.WEBHOOK_NOT_ENABLED, `Connector ${connector} (${entry.type}) does not accept pushes; types that do: ${Object.keys(PUSH_TYPES).join(', ')}`, { field: 'connector' });
    if (!entry.webhook) throw webhookError(ErrorCode.WEBHOOK_NOT_ENABLED, `Connector ${connector} has no webhook section in the connector config: pushes to it are not enabled`, { field: 'connector' });
    return { entry: entry as WebhookTarget['entry'], instance: instances.get(connector)! };
  }

  async handle(req: WebhookRequest): Promise<WebhookResponse> {
    const media = parseMediaType(req.contentType);
    const soap = media?.type === 'text/xml';
    try {
      const target = this.target(req.connector);
      return await this.process(target, req, media);
    } catch (e) {
      if (!(e instanceof WebhookError)) throw e;
      logger.warn('webhook refused', { connector: req.connector.slice(0, 64), code: e.code, status: e.status, message: e.message });
      return errorResponse(e, soap);
    }
  }

  private async process(target: WebhookTarget, req: WebhookRequest, media: MediaType | null): Promise<WebhookResponse> {
    const { entry, instance } = target;
    const hook = entry.webhook;
    const types = PUSH_TYPES[entry.type];
    const accepted = [types.json ? 'application/json' : null, types.soap ? 'text/xml (SOAP 1.1)' : null].filter(Boolean).join(' or ');
    if (!media || !((media.type === 'application/json' && types.json) || (media.type === 'text/xml' && types.soap))) {
      throw webhookError(ErrorCode.WEBHOOK_UNSUPPORTED_MEDIA_TYPE, `Content-Type ${req.contentType ? JSON.stringify(req.contentType.slice(0, 80)) : '(none)'} is not accepted by connector ${entry.name}: send ${accepted}`, { field: 'Content-Type' });
    }
    if (media.charset && media.charset !== 'utf-8' && media.charset !== 'utf8') {
      throw webhookError(ErrorCode.WEBHOOK_UNSUPPORTED_MEDIA_TYPE, `charset ${media.charset} is not accepted: send UTF-8`, { field: 'Content-Type' });
    }
    const soap = media.type === 'text/xml';
    const streams = Object.keys(instance.connector.streams);
    const header = (name: string) => req.headers[name.toLowerCase()];
    const secret = (ref: WebhookSettings['secret'], what: string) => {
      const s = readSecret(ref, this.opts.env ?? process.env);
      if ('missing' in s) {
        // The details are for the operator's log; an unauthenticated caller learns only that it is the server's fault.
        logger.error('webhook secret cannot be read', { connector: entry.name, setting: `webhook.${what}`, problem: s.missing });
        throw webhookError(ErrorCode.WEBHOOK_MISCONFIGURED, `Connector ${entry.name}: its webhook is misconfigured on the server (see the server log)`);
      }
      return s;
    };

    // 1. The sender.
    let parsed: { batch: PushBatch } | { error: WebhookError } | null = null;
    let dedupe: string;
    const eventId = header(hook.eventIdHeader)?.trim();
    // PostgreSQL text and jsonb hold no NUL character: kept visible as U+FFFD in the stored body,
    // refused in parsed values (below), so a push is never a database error that would repeat forever.
    const text = req.body.toString('utf8').split('\u0000').join('\uFFFD');
    if (soap) {
      // Outbound Messages cannot sign nor set headers: a token in the endpoint URL, then the organization.
      const token = typeof req.query.token === 'string' ? req.query.token : header(hook.tokenHeader);
      verifyToken(secret(hook.outboundMessageToken ?? hook.secret, hook.outboundMessageToken ? 'outboundMessageToken' : 'secret'), token, `the endpoint URL's ?token= (or ${hook.tokenHeader})`);
      const message = attempt(() => parseOutboundMessage(parseXml(text), streams));
      parsed = message;
      if ('organizationId' in message) {
        const org = message.organizationId;
        if (!hook.organizationIds.includes(org.slice(0, 15))) {
          throw webhookError(ErrorCode.WEBHOOK_ORG_NOT_ALLOWED, `Salesforce organization ${org.slice(0, 18)} is not in webhook.organizationIds of connector ${entry.name}`, { field: 'OrganizationId' });
        }
        dedupe = `om:${[...message.batch.deliveryIds!].sort().join(',')}`;
      } else dedupe = `body:${sha256(req.body)}`;
    } else {
      const timestamp = header(hook.timestampHeader);
      if (hook.mode === 'hmac-sha256') {
        const signature = header(hook.signatureHeader);
        verifyHmac({ secret: secret(hook.secret, 'secret'), body: req.body, signature, timestamp, signatureHeader: hook.signatureHeader, timestampHeader: hook.timestampHeader, toleranceSeconds: hook.toleranceSeconds });
        // The MAC's bytes, not the header's text: upper-case hex, base64 or a `sha256=` prefix spell
        // the same MAC, and a capture replayed so spelled is still the same delivery.
        dedupe = `sig:${decodeSignature(signature!)!.toString('hex')}`;
      } else {
        verifyToken(secret(hook.secret, 'secret'), header(hook.tokenHeader), hook.tokenHeader);
        if (timestamp) checkTimestamp(timestamp, hook.timestampHeader, hook.toleranceSeconds);
        // Without a signature, a delivery is its body plus what dates it and the headers that feed
        // the record (X-TB-*). With nothing that dates it, the same body sent twice may be two real
        // events (active true → false → true): no replay guard then, and processing it again is
        // harmless (unchanged content is skipped by its hash, older values by their timestamps).
        const stamp = timestamp ?? header('x-tb-ts');
        const fed = Object.keys(req.headers).filter((k) => k.startsWith('x-tb-')).sort().map((k) => `${k}=${req.headers[k]}`).join('\n');
        dedupe = stamp ? `body:${sha256(req.body)}:${stamp}:${sha256(fed)}` : `once:${randomUUID()}`;
      }
      parsed = attempt(() => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (e) {
          throw webhookError(ErrorCode.WEBHOOK_MALFORMED, `The JSON body does not parse: ${(e as Error).message}`);
        }
        if (/\\u0000/i.test(text)) throw webhookError(ErrorCode.WEBHOOK_MALFORMED, 'The JSON body holds a NUL character (\\u0000), which Junction does not store');
        return { batch: entry.type === 'salesforce' ? parseSalesforceJson(body, streams) : parseThingsBoardPush(req.headers, body) };
      });
    }
    // The sender's event id names the delivery (a sender's re-signed retry is recognized by it). The
    // header is not signed: a captured request replayed inside the timestamp window with a new id is
    // processed again, and changes nothing — its content hash is unchanged, and an older version is
    // skipped (Salesforce by SystemModstamp, ThingsBoard per key by timestamp).
    if (eventId) dedupe = `event:${eventId}`;

    // 2. Store and process, one transaction, with the mappings admins saved (as the sync worker does).
    await this.mappings.loadActive();
    const kindGuess = 'batch' in parsed ? parsed.batch.kind : `${entry.type}.${soap ? 'outbound-message' : 'json'}`;
    // An outbound message's session id is a live API token: never stored, nor shown to admins.
    const payload = soap ? redactSessionId(text) : text;
    const result = await this.orm.em.fork().transactional(async (em) => {
      const claimed = await claimEvent(em, { connector: entry.name, kind: kindGuess, dedupeKey: sha256(`${dedupe}`), contentType: req.contentType?.slice(0, 200) ?? null, payload });
      if (claimed.duplicate) return { eventId: claimed.id, duplicate: true as const, status: claimed.status };
      if ('error' in parsed!) {
        await finishEvent(em, claimed.id, failedOutcome(kindGuess, parsed.error));
        return { eventId: claimed.id, error: parsed.error };
      }
      let batch = parsed!.batch;
      if (entry.type === 'thingsboard') batch = await this.resolveDevice(em, entry.name, req, batch);
      const totals: IngestResult = { fetched: 0, unchanged: 0, merged: 0, failed: 0, errors: [] };
      for (const page of batch.pages) {
        const r = await this.load().pipeline.ingestPage(entry.name, page.stream, page.records, { em, combine: batch.combine });
        totals.fetched += r.fetched;
        totals.unchanged += r.unchanged;
        totals.merged += r.merged;
        totals.failed += r.failed;
        totals.errors.push(...r.errors.map((x) => ({ ...x, stream: page.stream })));
      }
      const status = totals.failed === 0 ? 'PROCESSED' : totals.failed < totals.fetched ? 'PARTIAL' : 'FAILED';
      const outcome: EventOutcome = {
        kind: batch.kind,
        status,
        externalIds: batch.pages.flatMap((p) => p.records.map((r) => ({ stream: p.stream, externalId: r.externalId }))),
        error: totals.failed ? { code: ErrorCode.WEBHOOK_BAD_PAYLOAD, message: `${totals.failed} of ${totals.fetched} records could not be merged`, records: totals.errors } : null,
        records: totals.fetched, merged: totals.merged, unchanged: totals.unchanged, failed: totals.failed,
      };
      await finishEvent(em, claimed.id, outcome);
      return { eventId: claimed.id, outcome };
    });

    // 3. The answer.
    if ('duplicate' in result) {
      logger.info('webhook repeat acknowledged, not processed again', { connector: entry.name, eventId: result.eventId });
      return soap ? ack() : json(200, { eventId: result.eventId, duplicate: true, status: result.status });
    }
    if ('error' in result) {
      const e = result.error!;
      logger.warn('webhook stored as failed', { connector: entry.name, eventId: result.eventId, code: e.code, message: e.message });
      return errorResponse(e, soap, result.eventId);
    }
    const o = result.outcome;
    logger.info('webhook processed', { connector: entry.name, eventId: result.eventId, kind: o.kind, status: o.status, records: o.records, merged: o.merged, unchanged: o.unchanged, failed: o.failed });
    if (o.status === 'FAILED') {
      const e = webhookError(ErrorCode.WEBHOOK_BAD_PAYLOAD, `No record could be merged: ${(o.error!.records as Array<{ externalId: string; message: string }>).map((r) => `${r.externalId}: ${r.message}`).join('; ')}`, { records: o.error!.records });
      return errorResponse(e, soap, result.eventId);
    }
    if (soap) return ack();
    return json(200, { eventId: result.eventId, duplicate: false, status: o.status, records: o.records, merged: o.merged, unchanged: o.unchanged, failed: o.failed, errors: o.error?.records ?? [] });
  }

  /**
   * The device's id as the pull stream stores it: the X-TB-Device-Id header, else the record of
   * this connector already stored under the device's name (one keyed by the device id first), else
   * `name:<device name>` (a new source record; the device and telemetry still merge by serial, and
   * write-backs wait for a link keyed by the id).
   */
  private async resolveDevice(em: Parameters<typeof claimEvent>[0], connector: string, req: WebhookRequest, batch: PushBatch): Promise<PushBatch> {
    const rec = batch.pages[0].records[0];
    const p = rec.payload as { device: { id: { id: string }; name: string } };
    let id = rec.externalId;
    if (!id) {
      const row = await sqlOne<{ external_id: string }>(em, DEVICE_RECORD_BY_NAME_SQL, [connector, p.device.name]);
      id = row?.external_id ?? `${NAME_KEYED_PREFIX}${p.device.name}`;
    }
    const payload = { ...p, device: { ...p.device, id: { entityType: 'DEVICE', id } } };
    return { ...batch, pages: [{ stream: 'devices', records: [{ ...rec, externalId: id, payload }] }] };
  }
}

/**
 * The record a ThingsBoard connector stored for a device name (connector, name): one keyed by the
 * device id (pulled, or pushed with X-TB-Device-Id) before an earlier `name:` one, which would
 * otherwise keep taking the device's pushes, then the first. Through source_record_device_name_idx;
 * `offset 0` keeps the planner from walking the primary key in id order instead and filtering every
 * payload (it did: 0.3 s per push at 100k devices); the order applies to the few rows of one name.
 */
export const DEVICE_RECORD_BY_NAME_SQL = `select external_id from (select id, external_id from source_record
                                   where connector = ? and stream = 'devices' and (payload -> 'device') ->> 'name' = ? offset 0) r
  order by starts_with(external_id, '${NAME_KEYED_PREFIX}'), id limit 1`;

function attempt<T>(fn: () => T): T | { error: WebhookError } {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WebhookError) return { error: e };
    throw e;
  }
}

function failedOutcome(kind: string, e: WebhookError): EventOutcome {
  return { kind, status: 'FAILED', externalIds: [], error: { code: e.code, message: e.message }, records: 0, merged: 0, unchanged: 0, failed: 0 };
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

interface MediaType {
  type: string;
  charset: string | null;
}

function parseMediaType(header: string | undefined): MediaType | null {
  if (!header) return null;
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '') ?? null;
  return { type, charset };
}

const json = (status: number, body: unknown): WebhookResponse => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) });
const ack = (): WebhookResponse => ({ status: 200, contentType: 'text/xml; charset=utf-8', body: outboundAck(true) });

export function errorResponse(e: WebhookError, soap: boolean, eventId?: string): WebhookResponse {
  if (soap) return { status: e.status, contentType: 'text/xml; charset=utf-8', body: soapFault(e.code, e.message, e.status < 500) };
  return json(e.status, { error: { code: e.code, message: e.message, ...(e.details.field ? { field: e.details.field } : {}), ...(e.details.records ? { records: e.details.records } : {}), ...(eventId ? { eventId } : {}) } });
}
