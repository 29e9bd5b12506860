/** FiefTransportAuthGuard on GraphQL resolvers (Apollo on Express and Fastify), against a live FiefDevServer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Context, GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefModule, Permissions, Public, type FiefAuthenticatedRequest } from '../../lib/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

const typeDefs = `
  type Castle { name: String! }
  type Query { castles: [Castle!]!, health: String!, whoami: String! }
  type Mutation { createCastle(name: String!): Castle! }
`;

@Resolver()
@UseGuards(FiefTransportAuthGuard)
class CastlesResolver {
  @Query('castles')
  @Permissions('castles:read')
  castles() {
    return [{ name: 'Nantes' }];
  }

  @Mutation('createCastle')
  @Permissions('castles:create')
  createCastle(@Args('name') name: string) {
    return { name };
  }

  @Query('health')
  @Public()
  health() {
    return 'ok';
  }

  // The guard attaches the verified token to the HTTP request of the GraphQL context.
  @Query('whoami')
  whoami(@Context('req') req: FiefAuthenticatedRequest) {
    return req.fief!.accessTokenInfo.id;
  }
}

describe.each(['express', 'fastify'])('FiefTransportAuthGuard on GraphQL resolvers on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let reader: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', isGlobal: true, jwksCooldown: 0 }),
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs }),
      ],
      providers: [CastlesResolver],
    }).compile();
    app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    reader = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const graphql = (query: string, token?: string) => {
    const req = request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json');
    if (token !== undefined) req.set('Authorization', `Bearer ${token}`);
    return req.send({ query });
  };

  it('answers a guarded query for a token with the permission', async () => {
    const res = await graphql('{ castles { name } }', reader);
    expect(res.body).toEqual({ data: { castles: [{ name: 'Nantes' }] } });
  });

  it('attaches the verified token to context.req.fief', async () => {
    const res = await graphql('{ whoami }', reader);
    expect(res.body.data).toEqual({ whoami: dev.findUser('guest@example.com')!.id });
  });

  it('refuses a query without a token with an UNAUTHENTICATED error and no data', async () => {
    const res = await graphql('{ castles { name } }');
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ message: expect.stringContaining('access token is required'), extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses a tampered token as UNAUTHENTICATED', async () => {
    const [header, payload] = reader.split('.');
    const res = await graphql('{ castles { name } }', `${header}.${payload}.${'A'.repeat(342)}`);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors[0].message).not.toContain('required');
  });

  it('refuses a mutation the token has no permission for as FORBIDDEN', async () => {
    const res = await graphql('mutation { createCastle(name: "Brest") { name } }', reader);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0]).toMatchObject({ message: expect.stringContaining('castles:create'), extensions: { code: 'FORBIDDEN' } });
  });

  it('lets a @Public() query through without a token', async () => {
    const res = await graphql('{ health }');
    expect(res.body).toEqual({ data: { health: 'ok' } });
  });

  // Rotates the dev server's signing key; the old one stays published for the other tests.
  it('reports a Fief outage (a new signing key, Fief down) as an error saying so, never as data', async () => {
    await dev.rotateSigningKey();
    const token = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
    dev.setFault('all', 'down');
    try {
      const res = await graphql('{ castles { name } }', token);
      expect(res.body.data).toBeNull();
      expect(res.body.errors[0]).toMatchObject({ message: expect.stringContaining('Fief cannot be reached'), extensions: { status: 503 } });
    } finally {
      dev.setFault('all', null);
    }
  });

  it('refuses a token sent in the URL as well as in the header', async () => {
    const res = await request(app.getHttpServer())
      .post(`/graphql?access_token=${reader}`)
      .set('Authorization', `Bearer ${reader}`)
      .send({ query: '{ castles { name } }' });
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].message).toContain('not in the URL');
  });
});
