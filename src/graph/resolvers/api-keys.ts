import { Arg, Authorized, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys';
import { Role } from '../../auth/roles';
import type { GraphContext } from '../context';

@ObjectType({ description: 'An API key as admins see it: never the key or its hash.' })
export class ApiKeyInfo {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() role!: string;
  @Field({ description: 'First characters of the key, to recognise it.' }) prefix!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKeyInfo) info!: ApiKeyInfo;
  @Field({ description: 'The key itself, shown only this once.' }) key!: string;
}

@Resolver()
export class ApiKeyResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [ApiKeyInfo])
  async apiKeys(@Ctx() ctx: GraphContext): Promise<ApiKeyInfo[]> {
    return (await listApiKeys(ctx.orm)).map((k) => Object.assign(new ApiKeyInfo(), k));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatedApiKey, { description: 'Make a key for role portal, admin or batch.' })
  async createApiKey(@Arg('name') name: string, @Arg('role') role: string, @Ctx() ctx: GraphContext): Promise<CreatedApiKey> {
    const { id, key } = await createApiKey(ctx.orm, { name, role });
    const info = (await listApiKeys(ctx.orm)).find((k) => k.id === id)!;
    return Object.assign(new CreatedApiKey(), { info: Object.assign(new ApiKeyInfo(), info), key });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: 'Revoke a key; true if it was active. Gateways honour it within the key cache time.' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphContext): Promise<boolean> {
    return revokeApiKey(ctx.orm, id);
  }
}
