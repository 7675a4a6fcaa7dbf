import { Customer } from './customer';
import { Device, DeviceSerialVariant } from './device';
import { Telemetry } from './telemetry';
import { Purchase } from './purchase';
import { PartCompatibility, SparePart, Stock } from './spare-part';
import { Ticket, TicketEvent, TicketNumberCounter } from './ticket';
import { ApiKey, AuditLog, DataIssue, QualityRun, SourceLink } from './metadata';
import { Complaint, MappingVersion, SourceRecordRow, SyncRun, SyncState } from './sync';
import { ExcelJob, ExcelRow } from './excel';
import { WebhookEvent } from './webhook';
import { WritebackApplied, WritebackOutbox } from './writeback';

export * from './base';
export {
  Customer, Device, Telemetry, Purchase, SparePart, PartCompatibility, Stock,
  Ticket, TicketEvent, TicketNumberCounter, SourceLink, AuditLog, DataIssue, ApiKey,
  SourceRecordRow, SyncState, SyncRun, Complaint, MappingVersion, DeviceSerialVariant, ExcelRow, ExcelJob, QualityRun, WebhookEvent,
  WritebackOutbox, WritebackApplied,
};

export const ALL_ENTITIES = [
  Customer, Device, Telemetry, Purchase, SparePart, PartCompatibility, Stock,
  Ticket, TicketEvent, TicketNumberCounter, SourceLink, AuditLog, DataIssue, ApiKey,
  SourceRecordRow, SyncState, SyncRun, Complaint, MappingVersion, DeviceSerialVariant, ExcelRow, ExcelJob, QualityRun, WebhookEvent,
  WritebackOutbox, WritebackApplied,
];
