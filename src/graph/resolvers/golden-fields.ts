import { Arg, Authorized, Ctx, ID, Int, Mutation, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { badInput } from '../../errors/codes';
import { actorOf, GraphContext } from '../context';
import { checkCustomerInput, checkDeviceInput, editGolden } from '../golden-fields';
import { CustomerFieldsInput, CustomerGoldenField, DeviceFieldsInput, DeviceGoldenField } from '../golden-fields-inputs';
import { Customer } from '../types/customer';
import { Device } from '../types/device';

const PIN_DESCRIPTION =
  'Pin the values (default true): sync never overwrites a pinned value until it is unpinned. ' +
  'Unpinned, a value set by hand is a correction the next differing value from a source system replaces.';

/** Admin edits of golden fields by hand (lineage system `manual`), see src/graph/golden-fields.ts. */
@Resolver()
export class GoldenFieldsResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => Customer, { description: 'Set golden customer fields by hand (admin keys). Audited; lineage system manual.' })
  async setCustomerFields(
    @Ctx() ctx: GraphContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => CustomerFieldsInput) input: CustomerFieldsInput,
    @Arg('pin', () => Boolean, { defaultValue: true, description: PIN_DESCRIPTION }) pin: boolean,
    @Arg('expectedVersion', () => Int, { nullable: true, description: 'CONFLICT unless the customer is at this version.' }) expectedVersion?: number | null,
  ): Promise<Customer> {
    const set = checkCustomerInput(input);
    const row = await editGolden(ctx.orm, ctx.tickets.enricher, { entity: 'customer', key: id, set, pin, expectedVersion }, actorOf(ctx));
    return Customer.fromRow(row);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Customer, { description: 'Unpin golden customer fields (admin keys): their values stay until a source brings a different one.' })
  async unpinCustomerFields(
    @Ctx() ctx: GraphContext,
    @Arg('id', () => ID) id: string,
    @Arg('fields', () => [CustomerGoldenField]) fields: CustomerGoldenField[],
    @Arg('expectedVersion', () => Int, { nullable: true, description: 'CONFLICT unless the customer is at this version.' }) expectedVersion?: number | null,
  ): Promise<Customer> {
    if (!fields.length) throw badInput('Give at least one field to unpin', 'fields');
    const row = await editGolden(ctx.orm, ctx.tickets.enricher, { entity: 'customer', key: id, unpin: fields, expectedVersion }, actorOf(ctx));
    return Customer.fromRow(row);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Device, { description: 'Set golden device fields by hand (admin keys). Audited; lineage system manual.' })
  async setDeviceFields(
    @Ctx() ctx: GraphContext,
    @Arg('serial', () => String, { description: 'Any case or width.' }) serial: string,
    @Arg('input', () => DeviceFieldsInput) input: DeviceFieldsInput,
    @Arg('pin', () => Boolean, { defaultValue: true, description: PIN_DESCRIPTION }) pin: boolean,
  ): Promise<Device> {
    const set = checkDeviceInput(input);
    const row = await editGolden(ctx.orm, ctx.tickets.enricher, { entity: 'device', key: serial, set, pin }, actorOf(ctx));
    return Device.fromRow(row);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Device, { description: 'Unpin golden device fields (admin keys): their values stay until a source brings a different one.' })
  async unpinDeviceFields(
    @Ctx() ctx: GraphContext,
    @Arg('serial', () => String, { description: 'Any case or width.' }) serial: string,
    @Arg('fields', () => [DeviceGoldenField]) fields: DeviceGoldenField[],
  ): Promise<Device> {
    if (!fields.length) throw badInput('Give at least one field to unpin', 'fields');
    const row = await editGolden(ctx.orm, ctx.tickets.enricher, { entity: 'device', key: serial, unpin: fields }, actorOf(ctx));
    return Device.fromRow(row);
  }
}
