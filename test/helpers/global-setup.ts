import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Picks the Redis the tests talk to: REDIS_URL if set, else a testcontainers Redis when a Docker engine
 * answers, else the local Redis at 127.0.0.1:6379.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stop = async () => {};
  let url = process.env.REDIS_URL;
  if (!url) {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await withTimeout(getContainerRuntimeClient(), 5_000);
      const { GenericContainer } = await import('testcontainers');
      const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
      url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
      stop = async () => {
        await container.stop();
      };
    } catch {
      url = 'redis://127.0.0.1:6379';
    }
  }
  project.provide('redisUrl', url);
  return stop;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);
}
