import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { badInput } from '../../errors/codes';
import { classifyIdentifier } from '../../identity/normalize';
import type { GraphContext } from '../context';
import { LookupResult, MatchedBy } from '../types/lookup';

const MAX_IDENTIFIER = 128;

@Resolver()
export class LookupResolver {
  @Authorized(Role.PORTAL)
  @Query(() => LookupResult, {
    description: 'Resolve a phone (any format), device serial or ticket number to the unified view. Never fails on "no match": matchedBy is NONE and reason says why.',
  })
  async lookup(@Arg('identifier') identifier: string, @Ctx() ctx: GraphContext): Promise<LookupResult> {
    if (!identifier.trim()) throw badInput('identifier must not be empty', 'identifier');
    if (identifier.length > MAX_IDENTIFIER) throw badInput(`identifier is longer than ${MAX_IDENTIFIER} characters`, 'identifier');
    const id = classifyIdentifier(identifier);
    const result = (matchedBy: MatchedBy, normalized: string | null, rest: Partial<LookupResult> = {}) =>
      Object.assign(new LookupResult(), { matchedBy, identifier, normalized, customer: null, device: null, ticket: null, reason: null, ...rest });
    const { loaders } = ctx;

    if (id.ticketNumber) {
      const ticket = await loaders.ticketByNumber.load(id.ticketNumber);
      if (ticket) {
        const [customer, device] = await Promise.all([
          loaders.customerById.load(ticket.customerId),
          ticket.deviceId ? loaders.deviceById.load(ticket.deviceId) : null,
        ]);
        return result(MatchedBy.TICKET_NUMBER, id.ticketNumber, { ticket, customer, device });
      }
      return result(MatchedBy.NONE, null, { reason: `No ticket numbered ${id.ticketNumber}` });
    }
    // A digit string may be a phone or a serial: the phone wins; the serial is tried only when no customer has it.
    const byPhone = id.phone ? await loaders.customerByPhone.load(id.phone) : null;
    if (byPhone) return result(MatchedBy.PHONE, id.phone, { customer: byPhone });
    const bySerial = id.serial ? await loaders.deviceBySerial.load(id.serial) : null;
    if (bySerial) {
      const owner = bySerial.ownerId ? await loaders.customerById.load(bySerial.ownerId) : null;
      return result(MatchedBy.SERIAL, id.serial, { device: bySerial, customer: owner });
    }
    const tried = [
      id.phone ? `no customer has phone ${id.phone}` : `"${identifier}" is not a valid phone number`,
      `no device has serial ${id.serial}`,
    ];
    return result(MatchedBy.NONE, null, { reason: `Nothing matched: ${tried.join('; ')}` });
  }
}
