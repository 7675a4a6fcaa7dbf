/**
 * Relay + write-back worker with real PostgreSQL, real Redis (own key prefix) and the three
 * sandboxes: ticket changes reach the targets once each; failures retry, dead-letter or wait as
 * RELIABILITY.md says; conflicts become data issues; stale writes are skipped.
 */
import type { Redis } from 'ioredis';
import { sqlOne, sqlRows } from '../db/sql';
import { MappingEngine } from '../mapping/engine';
import { closeInstances } from '../sync/instances';
import type { ConnectorInstance } from '../sync/pipeline';
import { redisConnection } from '../sync/queue';
import { TicketService } from '../tickets/ticket-service';
import { TicketStatus } from '../tickets/ticket-enums';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { sandboxInstances, startWritebackSandboxes, WritebackSandboxes } from '../../tests/support/writeback';
import { linkParty, WorldParty } from '../../tests/support/writeback-world';
import { startWritebackRuntime, WritebackRuntime } from './runtime';

const actor = { name: 'agent', origin: 'test' };
const db = useTestDatabase();
let sb: WritebackSandboxes;
let instances: Map<string, ConnectorInstance>;
let connection: Redis;
let prefix: string;
let runtime: WritebackRuntime;
let service: TicketService;
let parties: WorldParty[];

const rows = (number: string) =>
  sqlRows<{ id: string; route: string; status: string; attempts: number; last_error: any; result: any }>(
    db.orm, `select id, route, status, attempts, last_error, result from writeback_outbox where ticket_number = ? order by id`, [number]);
const settled = (number: string, n: number) =>
  eventually(async () => {
    const r = await rows(number);
    return r.length >= n && r.every((x) => ['APPLIED', 'SKIPPED', 'CONFLICT', 'DEAD', 'DISCARDED'].includes(x.status)) ? r : undefined;
  }, 20_000, `write-backs of ${number} to settle`);

async function start(instancesOverride?: Map<string, ConnectorInstance>) {
  runtime = await startWritebackRuntime({
    orm: db.orm, engine: new MappingEngine(), instances: instancesOverride ?? instances, connection, prefix, concurrency: 8,
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 50, jitter: 0.5 } },
    relayOptions: { pollMs: 200 },
    workerOptions: { misconfiguredDelayMs: 200, orderDelayMs: 50, unreachableDelayMs: 100 },
  });
}

beforeAll(async () => {
  sb = await startWritebackSandboxes();
  instances = sandboxInstances(sb.configYaml);
  service = new TicketService(db.orm);
  parties = [];
  for (let i = 0; i < 6; i++) parties.push(await linkParty(db.orm, sb, i));
});
afterAll(async () => {
  await closeInstances(instances);
  await sb.close();
});
beforeEach(async () => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
  await start();
});
afterEach(async () => {
  await runtime.close();
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('write-back end to end', () => {
  it('a ticket from creation to closure reaches CRM, ERP and IoT once per change, tagged with its number', async () => {
    const p = parties[0];
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '不制冷' }, actor);
    await service.changeStatus(number, { status: TicketStatus.IN_PROGRESS }, actor);
    await service.changeStatus(number, { status: TicketStatus.RESOLVED, solution: '更换压缩机' }, actor);
    await service.changeStatus(number, { status: TicketStatus.CLOSED }, actor);
    const done = await settled(number, 13); // 3 routes × 4 changes + the Case on closing
    expect(done.map((r) => r.status)).toEqual(done.map(() => 'APPLIED'));
    for (const r of done) expect(sb.crm.control.effects.count(`junction-wb-${r.id}`) + sb.erp.control.effects.count(`junction-wb-${r.id}`) + sb.iot.control.effects.count(`junction-wb-${r.id}`)).toBe(1);

    const notes = sb.crm.control.records('Task').filter((t) => t.WhatId === p.accountId);
    expect(notes).toHaveLength(4);
    expect(notes.every((t) => String(t.Subject).startsWith(`Junction ticket ${number}`))).toBe(true);
    expect(sb.crm.control.records('Case').find((c) => c.Id === p.caseId)).toMatchObject({ Status: 'Closed', IsClosed: true });
    const erp = sb.erp.control.data.forms.JUNC_ServiceRecord.rows.filter((r) => r.FNumber === number);
    expect(erp).toHaveLength(1);
    expect(erp[0]).toMatchObject({ F_JUNC_Status: 'CLOSED', F_JUNC_Solution: '更换压缩机', F_JUNC_SerialNo: p.serial });
    expect(sb.iot.control.device(p.tbDeviceId)!.attributes.SERVER_SCOPE.junctionMaintenance.value).toMatchObject({ ticket: number, status: 'CLOSED' });
    expect(await sqlOne<{ n: string }>(db.orm, `select count(*) as n from writeback_applied where outbox_id = any(?::bigint[])`, [`{${done.map((r) => r.id).join(',')}}`])).toEqual({ n: '13' });
  });

  it('500s retry to success; a 4xx dead-letters with the vendor message; the others go on', async () => {
    const p = parties[1];
    sb.iot.control.failNext(2, 500, { method: 'POST', path: '/attributes/SERVER_SCOPE' });
    sb.crm.control.respondNext(1, 400, [{ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Notes are locked for this account' }], { match: /\/sobjects\/Task\/$/ });
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '漏水' }, actor);
    const done = await settled(number, 3);
    const by = Object.fromEntries(done.map((r) => [r.route, r]));
    expect(by['iot-maintenance']).toMatchObject({ status: 'APPLIED', attempts: 3 });
    expect(by['erp-service-record'].status).toBe('APPLIED');
    expect(by['crm-account-note'].status).toBe('DEAD');
    expect(by['crm-account-note'].last_error.message).toMatch(/Notes are locked for this account/);
    expect(by['crm-account-note'].last_error.code).toBe('CONNECTOR_REQUEST_REJECTED');
  });

  it('after N failed attempts the job is DEAD with the last error', async () => {
    const p = parties[2];
    sb.erp.control.failNext(50, 503);
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '噪音大' }, actor);
    const done = await settled(number, 3);
    const erp = done.find((r) => r.route === 'erp-service-record')!;
    sb.erp.control.reset();
    expect(erp).toMatchObject({ status: 'DEAD', attempts: 3 });
    expect(erp.last_error.code).toBe('CONNECTOR_UNAVAILABLE');
  });

  it('429 with Retry-After waits without using an attempt', async () => {
    const p = parties[3];
    sb.iot.control.failNext(4, 429, { method: 'POST', path: '/attributes/SERVER_SCOPE', retryAfterSeconds: 0 });
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: 'E5' }, actor);
    const done = await settled(number, 3);
    // 4 refusals, attempts 3: it would be DEAD if they counted
    expect(done.find((r) => r.route === 'iot-maintenance')).toMatchObject({ status: 'APPLIED', attempts: 1 });
  });

  it('a mapping that fails for one ticket dead-letters that job with the reason; the others are applied', async () => {
    await runtime.close();
    const engine = new MappingEngine();
    const file = engine.fileSource('thingsboard/maintenance.out');
    engine.setOverride('thingsboard/maintenance.out', `$contains(ticket.fault, "E9") ? $error("no maintenance code for fault E9") : ${file}`, 'v1');
    runtime = await startWritebackRuntime({
      orm: db.orm, engine, instances, connection, prefix, jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 50 } }, relayOptions: { pollMs: 200 },
    });
    const p = parties[4];
    const bad = await service.create({ phone: p.phone, serial: p.serial, fault: 'E9 无法开机' }, actor);
    const good = await service.create({ phone: p.phone, serial: p.serial, fault: '无法开机' }, actor);
    const badRows = await settled(bad.number, 3);
    const dead = badRows.find((r) => r.route === 'iot-maintenance')!;
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(dead.last_error.message).toMatch(new RegExp(`thingsboard/maintenance.out failed for ticket ${bad.number}: .*no maintenance code for fault E9`));
    expect(badRows.filter((r) => r.id !== dead.id).every((r) => r.status === 'APPLIED')).toBe(true);
    expect((await settled(good.number, 3)).every((r) => r.status === 'APPLIED')).toBe(true);
  });

  it('maps with the synchronous fast path, and through jsonata when it bails', async () => {
    const watch = (engine: MappingEngine) => {
      const seen = new Map<string, { fast: boolean; sync: jest.SpyInstance; async: jest.SpyInstance }>();
      const get = engine.get.bind(engine);
      jest.spyOn(engine, 'get').mockImplementation((name) => {
        const c = get(name);
        if (!seen.has(name)) seen.set(name, { fast: c.fast === true, sync: jest.spyOn(c, 'evaluateSync' as never), async: jest.spyOn(c, 'evaluate') });
        return c;
      });
      return seen;
    };
    const run = async (engine: MappingEngine, party: WorldParty) => {
      await runtime.close();
      runtime = await startWritebackRuntime({ orm: db.orm, engine, instances, connection, prefix, relayOptions: { pollMs: 200 } });
      const { number } = await service.create({ phone: party.phone, serial: party.serial, fault: '不制冷' }, actor);
      expect((await settled(number, 3)).map((r) => r.status)).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
      return number;
    };

    const withFast = new MappingEngine();
    const fast = watch(withFast);
    await run(withFast, parties[0]);
    const fastOnes = [...fast.values()].filter((m) => m.fast);
    expect(fastOnes.length).toBeGreaterThan(0);
    for (const m of fastOnes) {
      expect(m.sync).toHaveBeenCalled();
      expect(m.async).not.toHaveBeenCalled(); // no promise chain when the fast path answers
    }

    const withoutFast = new MappingEngine({ fastPath: false }); // evaluateSync always bails
    const bailed = watch(withoutFast);
    await run(withoutFast, parties[1]);
    expect(bailed.size).toBe(3);
    for (const m of bailed.values()) {
      expect(m.sync).toHaveBeenCalled();
      expect(m.async).toHaveBeenCalled();
    }
  });

  it('a connector that is not configured: jobs wait (RETRYING), nothing dropped, and go out once it is there', async () => {
    await runtime.close();
    const withoutErp = new Map([...instances].filter(([name]) => name !== 'erp'));
    await start(withoutErp);
    const p = parties[5];
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '遥控失灵' }, actor);
    const waiting = await eventually(async () => (await rows(number)).find((r) => r.route === 'erp-service-record' && r.status === 'RETRYING'), 10_000, 'erp job waiting');
    expect(waiting.last_error.message).toMatch(/connector erp is not configured/);
    await new Promise((r) => setTimeout(r, 700)); // several waits: still no attempt used, still waiting
    expect((await rows(number)).find((r) => r.route === 'erp-service-record')).toMatchObject({ status: 'RETRYING', attempts: 0 });
    await runtime.close();
    await start();
    const done = await settled(number, 3);
    expect(done.every((r) => r.status === 'APPLIED')).toBe(true);
  });

  it('an unreachable connector: jobs wait without using attempts and go out once it answers', async () => {
    await runtime.close();
    const unreachable = sandboxInstances(sb.configYaml.replace(sb.erp.url.replace(/\/k3cloud\/$/, ''), 'http://127.0.0.1:9'));
    await start(new Map([...instances].map(([name, i]) => [name, name === 'erp' ? unreachable.get('erp')! : i])));
    const p = parties[5];
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '断电' }, actor);
    const waiting = await eventually(async () => {
      const erp = (await rows(number)).find((r) => r.route === 'erp-service-record');
      return erp && erp.status === 'RETRYING' && /unavailable|ECONNREFUSED|failed/i.test(erp.last_error?.message ?? '') ? erp : undefined;
    }, 10_000, 'erp job waiting');
    expect(waiting.attempts).toBe(0);
    await new Promise((r) => setTimeout(r, 1000)); // more tries than the 3 attempts allow: still waiting, none used
    expect((await rows(number)).find((r) => r.route === 'erp-service-record')).toMatchObject({ status: 'RETRYING', attempts: 0 });
    await runtime.close();
    await closeInstances(unreachable);
    await start();
    const done = await settled(number, 3);
    expect(done.every((r) => r.status === 'APPLIED')).toBe(true);
  });

  it('a Case changed in the CRM since Junction saw it: not overwritten; a WRITEBACK_CONFLICT data issue holds both values', async () => {
    const p = parties[0];
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '异响' }, actor);
    await service.changeStatus(number, { status: TicketStatus.IN_PROGRESS }, actor);
    await service.changeStatus(number, { status: TicketStatus.RESOLVED, solution: '紧固' }, actor);
    // reopen the Case closed by the first test, as a CRM user would; Junction has not synced since
    sb.crm.control.update('Case', p.caseId, { Status: 'Working' });
    await sqlRows(db.orm, `update complaint set status = 'OPEN' where case_number = 'WB0'`);
    await new Promise((r) => setTimeout(r, 1100)); // a later SystemModstamp second
    sb.crm.control.update('Case', p.caseId, { Status: 'Escalated' });
    await service.changeStatus(number, { status: TicketStatus.CLOSED }, actor);
    const done = await settled(number, 13);
    const close = done.find((r) => r.route === 'crm-case-close')!;
    expect(close.status).toBe('CONFLICT');
    expect(sb.crm.control.records('Case').find((c) => c.Id === p.caseId)!.Status).toBe('Escalated');
    const issue = await sqlOne<any>(db.orm, `select kind, entity_type, state, evidence, message from data_issue where kind = 'WRITEBACK_CONFLICT'`);
    expect(issue).toMatchObject({ kind: 'WRITEBACK_CONFLICT', entity_type: 'ticket', state: 'OPEN' });
    expect(issue.evidence).toMatchObject({ field: 'Status', junctionValue: 'Closed', targetValue: 'Escalated', ticketNumber: number });
  });

  it('a stale write (older than one applied to the same record) is skipped and recorded', async () => {
    const p = parties[1];
    const { number } = await service.create({ phone: p.phone, serial: p.serial, fault: '显示屏' }, actor);
    await service.update(number, { solution: '重装固件' }, actor);
    const done = await settled(number, 5);
    const iot = done.filter((r) => r.route === 'iot-maintenance');
    expect(iot.map((r) => r.status)).toEqual(['APPLIED', 'APPLIED']);
    // an admin replays the older one: the newer already applied wins
    // the finished job goes first: were the row PENDING while BullMQ still held the job, the
    // relay's poll could add it (BullMQ ignores an id it holds) and mark the row QUEUED for nothing
    await runtime.queue.remove(`wb-${iot[0].id}`);
    await sqlRows(db.orm, `update writeback_outbox set status = 'PENDING' where id = ?`, [iot[0].id]);
    await sqlRows(db.orm, `select pg_notify('junction_writeback', '')`);
    const skipped = await eventually(async () => (await rows(number)).find((r) => r.id === iot[0].id && r.status === 'SKIPPED'), 10_000, 'stale skip');
    expect(skipped.result).toMatchObject({ stale: true, newerApplied: iot[1].id });
    expect(sb.iot.control.device(p.tbDeviceId)!.attributes.SERVER_SCOPE.junctionMaintenance.value).toMatchObject({ solution: '重装固件' });
  });
});
