// Runtime configuration, read from the environment in one place.
// Imported by both the SvelteKit bundle and the custom server, so it must not use $env.
import { resolve } from 'node:path';

export interface Config {
	databaseUrl: string | undefined;
	/** Connections to PostgreSQL per process: a live RCP opens many documents at once. */
	databasePoolMax: number;
	dataDir: string;
	redisUrl: string | undefined;
	port: number;
	origin: string | undefined;
	production: boolean;
	smtpUrl: string | undefined;
	mailFrom: string;
	/** Largest websocket message accepted, in bytes (Yjs and socket.io). */
	maxMessageBytes: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
	return {
		databaseUrl: env.DATABASE_URL || undefined,
		databasePoolMax: Number(env.DATABASE_POOL_MAX || 20),
		dataDir: resolve(env.DATA_DIR || '.data'),
		redisUrl: env.REDIS_URL || undefined,
		port: Number(env.PORT || 3000),
		origin: env.ORIGIN || undefined,
		production: env.NODE_ENV === 'production',
		smtpUrl: env.SMTP_URL || undefined,
		mailFrom: env.MAIL_FROM || 'Microstructures <no-reply@localhost>',
		maxMessageBytes: Number(env.MAX_MESSAGE_BYTES || 1024 * 1024)
	};
}

export const config = readConfig();
