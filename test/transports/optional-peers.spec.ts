/**
 * The main entry of nestjs-fief loads without the optional peers of the transports and Swagger, and
 * a feature whose peer is missing says which package to install.
 */
import { describe, expect, it, jest } from '@jest/globals';

const OPTIONAL_PEERS = ['@nestjs/graphql', '@nestjs/apollo', '@nestjs/websockets', '@nestjs/platform-socket.io', '@nestjs/microservices', '@nestjs/swagger'];
const imported: string[] = [];
for (const name of OPTIONAL_PEERS) {
  jest.unstable_mockModule(name, () => {
    imported.push(name);
    throw new Error(`Cannot find package '${name}'`);
  });
}

describe('nestjs-fief without the optional transport and Swagger packages', () => {
  it('loads its main entry without importing any of them', async () => {
    const entry = await import('../../lib/index.js');
    expect(typeof entry.FiefTransportAuthGuard).toBe('function');
    expect(typeof entry.createFiefSwaggerDocument).toBe('function');
    expect(imported).toEqual([]);
  });

  it('names the missing package when a feature needs it', async () => {
    const { createFiefSwaggerDocument } = await import('../../lib/index.js');
    await expect(createFiefSwaggerDocument({} as never, {} as never)).rejects.toThrow(
      'createFiefSwaggerDocument needs the optional peer dependency "@nestjs/swagger": npm install @nestjs/swagger',
    );
    expect(imported).toEqual(['@nestjs/swagger']);
  });
});
