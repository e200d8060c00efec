/**
 * The database a bench run uses. With `DATABASE_URL` or `TEST_DATABASE_URL` set: a fresh, randomly
 * named database on that server, created now and dropped at the end, so no run ever touches another
 * database's contents. Otherwise: embedded PGlite, in memory, inside each measured process.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface BenchDatabase {
  driver: 'postgres' | 'pglite';
  /** postgres://… of the fresh database (postgres only). */
  url: string | undefined;
  /** What to print: the server's version, or why PGlite. */
  description: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(env: NodeJS.ProcessEnv = process.env): Promise<BenchDatabase> {
  const base = env.DATABASE_URL?.trim() || env.TEST_DATABASE_URL?.trim();
  if (!base) {
    return {
      driver: 'pglite',
      url: undefined,
      description: 'PGlite (embedded, in memory): neither DATABASE_URL nor TEST_DATABASE_URL is set; figures are not comparable with Postgres runs',
      drop: async () => {},
    };
  }
  const name = `bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  let version = '';
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const [row] = await admin.unsafe<{ server_version: string }[]>('SHOW server_version');
    version = row?.server_version ?? '';
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    driver: 'postgres',
    url: url.toString(),
    description: `Postgres ${version} on ${url.hostname}:${url.port || 5432} (fresh database ${name}, dropped afterwards)`,
    async drop() {
      const dropper = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end({ timeout: 5 });
      }
    },
  };
}
