import transitionsFile from './status-transitions.json';
import slaFile from './sla-policy.json';
import { TicketPriority, TicketStatus } from './ticket-enums';

const transitions = transitionsFile.transitions as Record<TicketStatus, TicketStatus[]>;
const requires = transitionsFile.requires as Partial<Record<TicketStatus, string[]>>;

export function allowedNextStatuses(from: TicketStatus): TicketStatus[] {
  return transitions[from] ?? [];
}

export function isAllowedTransition(from: TicketStatus, to: TicketStatus): boolean {
  return allowedNextStatuses(from).includes(to);
}

/** Ticket fields that must be filled before entering a status (e.g. a solution to resolve). */
export function requiredFieldsFor(status: TicketStatus): string[] {
  return requires[status] ?? [];
}

export function slaDeadlines(priority: TicketPriority, from: Date): { responseDue: Date; resolveDue: Date } {
  const p = (slaFile as unknown as Record<string, { responseHours: number; resolveHours: number }>)[priority];
  return {
    responseDue: new Date(from.getTime() + p.responseHours * 3600_000),
    resolveDue: new Date(from.getTime() + p.resolveHours * 3600_000),
  };
}
