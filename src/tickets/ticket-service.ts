import { LockMode } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AuditLog, Customer, Device, Ticket, TicketEvent } from '../db/entities';
import { ErrorCode, JunctionError, badInput, notFound } from '../errors/codes';
import { TicketEnricher } from '../enrichment/enricher';
import { normalizePhone, normalizeSerial, normalizeTicketNumber } from '../identity/normalize';
import { checkModel, Insisted, unknownSerial } from '../identity/wrong-input';
import { MAX_SERIAL_LENGTH } from '../identity/suggest';
import { isBigintId } from '../util/bigint-id';
import { MappingEngine } from '../mapping/engine';
import { isAllowedTransition, allowedNextStatuses, requiredFieldsFor, slaDeadlines } from './rules';
import { nextTicketNumber } from './ticket-number';
import { TicketEventType, TicketPriority, TicketStatus } from './ticket-enums';
import { recordWriteBacks } from '../writeback/outbox';

/** Who made a change and through which channel; written into history and audit. */
export interface Actor {
  name: string;
  origin: string;
}

export interface CategoryInput {
  level1?: string | null;
  level2?: string | null;
  level3?: string | null;
}

export interface CreateTicketInput {
  customerId?: string | null;
  phone?: string | null;
  serial?: string | null;
  /** The model as read from the nameplate: checked against known models, keeps serial suggestions in its family. */
  model?: string | null;
  /** Open the ticket with an unknown serial or model as typed; the reason is audited. */
  insistReason?: string | null;
  fault: string;
  category?: CategoryInput | null;
  priority?: TicketPriority | null;
  eta?: Date | null;
  note?: string | null;
}

export interface UpdateTicketInput {
  fault?: string | null;
  solution?: string | null;
  blockingReason?: string | null;
  eta?: Date | null;
  priority?: TicketPriority | null;
  category?: CategoryInput | null;
}

export interface StatusChangeInput {
  status: TicketStatus;
  note?: string | null;
  solution?: string | null;
  blockingReason?: string | null;
}

const MAX_TEXT = 4000;
const CLOSED_STATES = [TicketStatus.CLOSED, TicketStatus.CANCELLED];

/** Fields a change can touch, with how their values are compared and stored in the audit log. */
const TRACKED_FIELDS = ['fault', 'solution', 'blockingReason', 'eta', 'priority', 'categoryL1', 'categoryL2', 'categoryL3',
  'status', 'slaResponseDue', 'slaResolveDue', 'resolvedAt', 'closedAt'] as const;
type TrackedField = (typeof TRACKED_FIELDS)[number];

function auditValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v ?? null;
}

function text(value: string | null | undefined, field: string, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw badInput(`${field} is required`, field);
    return null;
  }
  const t = value.trim();
  if (!t && required) throw badInput(`${field} must not be empty`, field);
  if (t.length > MAX_TEXT) throw badInput(`${field} is ${t.length} characters; at most ${MAX_TEXT}`, field);
  return t || null;
}

/** The normalized serial of an input, refused when blank or longer than MAX_SERIAL_LENGTH. */
function checkSerial(value: string | null | undefined, field: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  const serial = normalizeSerial(value);
  if (!serial) throw badInput(`${field} must not be empty`, field);
  if (serial.length > MAX_SERIAL_LENGTH) throw badInput(`${field} is ${serial.length} characters; at most ${MAX_SERIAL_LENGTH}`, field);
  return serial;
}

/**
 * The category's levels trimmed, a blank level counting as none (it was stored as typed, "   "
 * included); a level needs the ones above it.
 */
function checkCategory(c: CategoryInput | null | undefined, field: string): { l1: string | null; l2: string | null; l3: string | null } {
  if (!c) return { l1: null, l2: null, l3: null };
  const [l1, l2, l3] = (['level1', 'level2', 'level3'] as const).map((level) => text(c[level], `${field}.${level}`, false));
  if (l3 && !l2) throw badInput('category.level3 needs level2', `${field}.level2`);
  if (l2 && !l1) throw badInput('category.level2 needs level1', `${field}.level1`);
  return { l1, l2, l3 };
}

/**
 * Ticket writes. Each call is one transaction holding the ticket change, its history event and
 * one audit entry per changed field, so a failure leaves nothing behind.
 */
export class TicketService {
  readonly enricher: TicketEnricher;

  constructor(private readonly orm: MikroORM, private readonly clock: () => Date = () => new Date(), enricher?: TicketEnricher) {
    this.enricher = enricher ?? new TicketEnricher(new MappingEngine(), { clock });
  }

  async create(input: CreateTicketInput, actor: Actor): Promise<{ id: string; number: string }> {
    text(input.fault, 'input.fault', true);
    checkCategory(input.category, 'input.category');
    text(input.note, 'input.note', false);
    text(input.insistReason, 'input.insistReason', false);
    text(input.model, 'input.model', false);
    checkSerial(input.serial, 'input.serial');
    return this.orm.em.fork().transactional((em) => this.createIn(em, input, actor));
  }

  /**
   * `create` inside the caller's transaction (Excel imports put many rows, or a row and its
   * row-hash claim, in one). Checks the input again; throws like `create`.
   */
  async createIn(em: EntityManager, input: CreateTicketInput, actor: Actor): Promise<{ id: string; number: string }> {
    const fault = text(input.fault, 'input.fault', true)!;
    const category = checkCategory(input.category, 'input.category');
    const note = text(input.note, 'input.note', false);
    const priority = input.priority ?? TicketPriority.P2;
    const { customer, device, model, reportedSerial, insisted } = await this.resolveParties(em, input);
    const now = this.clock();
    const sla = slaDeadlines(priority, now);
    const ticket = em.create(Ticket, {
      number: await nextTicketNumber(em, now),
      customer, device: device ?? null, model, reportedSerial, fault, priority, status: TicketStatus.NEW,
      categoryL1: category.l1, categoryL2: category.l2, categoryL3: category.l3,
      eta: input.eta ?? null, slaResponseDue: sla.responseDue, slaResolveDue: sla.resolveDue,
      createdBy: actor.name, createdAt: now, updatedAt: now,
    } as any);
    await em.flush();
    const changes = this.diff({} as Ticket, ticket);
    if (model) changes.model = { before: null, after: model };
    if (reportedSerial) changes.reportedSerial = { before: null, after: reportedSerial };
    // Insisting on an unknown serial or model is audited with what was suggested instead.
    if (insisted) changes.insistReason = { before: null, after: insisted };
    await this.enricher.enrichNew(em, ticket.id);
    em.persist(em.create(TicketEvent, {
      ticket, type: TicketEventType.CREATED, toStatus: TicketStatus.NEW, changes, note, actor: actor.name, origin: actor.origin, at: now,
    } as any));
    this.audit(em, ticket.id, changes, actor, now);
    await em.flush();
    await recordWriteBacks(em, ticket, changes); // outbox rows commit with the ticket
    return { id: ticket.id, number: ticket.number };
  }

  async update(number: string, patch: UpdateTicketInput, actor: Actor, expectedVersion?: number | null): Promise<string> {
    const keys = Object.keys(patch).filter((k) => (patch as any)[k] !== undefined);
    if (keys.length === 0) throw badInput('Nothing to update: give at least one field', 'input');
    if (patch.fault !== undefined) text(patch.fault, 'input.fault', true);
    text(patch.solution, 'input.solution', false);
    text(patch.blockingReason, 'input.blockingReason', false);
    const category = checkCategory(patch.category, 'input.category');

    return this.withTicket(number, expectedVersion, async (em, ticket) => {
      if (CLOSED_STATES.includes(ticket.status)) {
        throw new JunctionError(ErrorCode.CONFLICT, `Ticket ${ticket.number} is ${ticket.status} and can no longer be changed`, {
          field: 'number', recordId: ticket.number,
        });
      }
      const before = { ...ticket } as Ticket;
      if (patch.fault !== undefined) ticket.fault = text(patch.fault, 'input.fault', true)!;
      if (patch.solution !== undefined) ticket.solution = text(patch.solution, 'input.solution', false);
      if (patch.blockingReason !== undefined) ticket.blockingReason = text(patch.blockingReason, 'input.blockingReason', false);
      if (patch.eta !== undefined) ticket.eta = patch.eta;
      if (patch.category !== undefined) {
        ticket.categoryL1 = category.l1;
        ticket.categoryL2 = category.l2;
        ticket.categoryL3 = category.l3;
      }
      if (patch.priority !== undefined && patch.priority !== null && patch.priority !== ticket.priority) {
        // SLA deadlines follow the priority, counted from creation.
        ticket.priority = patch.priority;
        const sla = slaDeadlines(patch.priority, ticket.createdAt);
        ticket.slaResponseDue = sla.responseDue;
        ticket.slaResolveDue = sla.resolveDue;
      }
      // The status's required fields (a RESOLVED ticket's solution, a PENDING one's blocking reason)
      // must survive the patch: clearing or blanking one is refused, naming it.
      for (const field of requiredFieldsFor(ticket.status)) {
        if (!(ticket as any)[field]) {
          throw badInput(`A ${ticket.status} ticket needs ${field}: it cannot be cleared`, `input.${field}`, { recordId: ticket.number });
        }
      }
      return this.record(em, ticket, before, TicketEventType.UPDATED, null, actor);
    });
  }

  async changeStatus(number: string, change: StatusChangeInput, actor: Actor, expectedVersion?: number | null): Promise<string> {
    const note = text(change.note, 'note', false);
    return this.withTicket(number, expectedVersion, async (em, ticket) => {
      const from = ticket.status;
      if (!isAllowedTransition(from, change.status)) {
        const allowed = allowedNextStatuses(from);
        throw new JunctionError(
          ErrorCode.INVALID_TRANSITION,
          `Ticket ${ticket.number} cannot go from ${from} to ${change.status}; allowed: ${allowed.length ? allowed.join(', ') : 'none (final state)'}`,
          { field: 'status', recordId: ticket.number, from, to: change.status, allowed },
        );
      }
      const before = { ...ticket } as Ticket;
      // A solution or blocking reason given with the move replaces the ticket's; a blank one is refused
      // (it used to erase an existing solution even on the way to CLOSED).
      if (change.solution !== undefined && change.solution !== null) ticket.solution = text(change.solution, 'solution', true);
      if (change.blockingReason !== undefined && change.blockingReason !== null) ticket.blockingReason = text(change.blockingReason, 'blockingReason', true);
      for (const field of requiredFieldsFor(change.status)) {
        if (!(ticket as any)[field]) {
          throw badInput(`Moving ticket ${ticket.number} to ${change.status} needs ${field}`, field, { recordId: ticket.number });
        }
      }
      const now = this.clock();
      ticket.status = change.status;
      if (change.status === TicketStatus.RESOLVED) ticket.resolvedAt = now;
      if (change.status === TicketStatus.CLOSED) ticket.closedAt = now;
      if (change.status === TicketStatus.IN_PROGRESS && from === TicketStatus.RESOLVED) ticket.resolvedAt = null;
      if (from === TicketStatus.PENDING && change.status !== TicketStatus.PENDING) ticket.blockingReason = null;
      return this.record(em, ticket, before, TicketEventType.STATUS_CHANGED, note, actor, from);
    });
  }

  /** Loads and row-locks a ticket inside a transaction, checking the caller's expected version. */
  private async withTicket(
    number: string,
    expectedVersion: number | null | undefined,
    fn: (em: EntityManager, ticket: Ticket) => Promise<string>,
  ): Promise<string> {
    const normalized = normalizeTicketNumber(number);
    if (!normalized) throw badInput(`"${number}" is not a ticket number (expected like T20260218-8892)`, 'number');
    return this.orm.em.fork().transactional(async (em) => {
      const ticket = await em.findOne(Ticket, { number: normalized }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!ticket) throw notFound(`No ticket ${normalized}`, { field: 'number', recordId: normalized });
      if (expectedVersion !== undefined && expectedVersion !== null && expectedVersion !== ticket.version) {
        throw new JunctionError(
          ErrorCode.CONFLICT,
          `Ticket ${normalized} is at version ${ticket.version}, not ${expectedVersion}: someone changed it; reload and retry`,
          { field: 'expectedVersion', recordId: normalized, currentVersion: ticket.version },
        );
      }
      return fn(em, ticket);
    });
  }

  private async record(
    em: EntityManager, ticket: Ticket, before: Ticket, type: TicketEventType, note: string | null, actor: Actor, from?: TicketStatus,
  ): Promise<string> {
    const changes = this.diff(before, ticket);
    if (Object.keys(changes).length === 0 && !note) return ticket.id; // nothing changed: no event, no version bump
    const now = this.clock();
    ticket.updatedAt = now;
    em.persist(em.create(TicketEvent, {
      ticket, type, fromStatus: from ?? null, toStatus: from ? ticket.status : null, changes, note, actor: actor.name, origin: actor.origin, at: now,
    } as any));
    this.audit(em, ticket.id, changes, actor, now);
    await em.flush();
    await recordWriteBacks(em, ticket, changes); // outbox rows commit with the change
    return ticket.id;
  }

  private diff(before: Ticket, after: Ticket): Record<string, { before: unknown; after: unknown }> {
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    for (const f of TRACKED_FIELDS as readonly TrackedField[]) {
      const b = auditValue((before as any)[f]);
      const a = auditValue((after as any)[f]);
      if (b !== a) changes[f] = { before: b, after: a };
    }
    return changes;
  }

  private audit(em: EntityManager, ticketId: string, changes: Record<string, { before: unknown; after: unknown }>, actor: Actor, at: Date) {
    for (const [field, c] of Object.entries(changes)) {
      em.persist(em.create(AuditLog, {
        entityType: 'ticket', entityId: ticketId, field, before: c.before, after: c.after, actor: actor.name, origin: actor.origin, at,
      }));
    }
  }

  /**
   * Finds the customer and device a new ticket belongs to from whichever identifiers were given.
   * An unknown serial or model is never guessed: it fails with UNKNOWN_SERIAL / UNKNOWN_MODEL and
   * ranked suggestions, unless the caller insists with a reason.
   */
  private async resolveParties(em: EntityManager, input: CreateTicketInput): Promise<{
    customer: Customer; device: Device | null; model: string | null; reportedSerial: string | null; insisted: Insisted | null;
  }> {
    let customer: Customer | null = null;
    let device: Device | null = null;
    let reportedSerial: string | null = null;
    let insisted: Insisted | null = null;
    const insistReason = text(input.insistReason, 'input.insistReason', false);
    const typedModel = text(input.model, 'input.model', false);
    if (input.customerId) {
      if (!isBigintId(input.customerId)) throw badInput(`"${input.customerId}" is not a customer id`, 'input.customerId');
      customer = await em.findOne(Customer, { id: input.customerId });
      if (!customer) throw notFound(`No customer with id ${input.customerId}`, { field: 'input.customerId', recordId: input.customerId });
    }
    if (input.phone) {
      const phone = normalizePhone(input.phone);
      if (!phone) throw badInput(`"${input.phone}" is not a valid phone number`, 'input.phone');
      const byPhone = await em.findOne(Customer, { phone });
      if (!byPhone) throw notFound(`No customer with phone ${phone}`, { field: 'input.phone', recordId: phone });
      if (customer && customer.id !== byPhone.id) {
        throw new JunctionError(ErrorCode.CONFLICT, `Phone ${phone} belongs to customer ${byPhone.id}, not ${customer.id}`, { field: 'input.phone' });
      }
      customer = byPhone;
    }
    if (input.serial) {
      const serial = checkSerial(input.serial, 'input.serial')!;
      device = await em.findOne(Device, { serial }, { populate: ['owner'] });
      if (!device) {
        insisted = await unknownSerial(em, serial, { model: typedModel, customerId: customer?.id, insistReason });
        if (!customer) throw badInput(`Serial ${serial} is unknown, so it cannot tell the customer: give the phone too`, 'input.phone');
        reportedSerial = serial;
      } else {
        const owner = device.owner ?? null;
        if (customer && owner && owner.id !== customer.id) {
          throw new JunctionError(ErrorCode.CONFLICT, `Device ${serial} belongs to customer ${owner.id}, not ${customer.id}`, {
            field: 'input.serial', recordId: serial,
          });
        }
        customer = customer ?? owner;
        if (!customer) throw badInput(`Device ${serial} has no known owner: give the customer's phone too`, 'input.phone');
      }
    }
    if (!customer) throw badInput('Give the customer (customerId or phone) or a device serial', 'input.phone');
    let model = device?.model ?? null;
    if (typedModel) ({ model, insisted } = await checkModel(em, typedModel, device, insistReason, insisted));
    return { customer, device, model, reportedSerial, insisted };
  }
}
