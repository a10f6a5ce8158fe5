// Runtime configuration, read from the environment in one place.
// Imported by both the SvelteKit bundle and the custom server, so it must not use $env.
import { resolve } from 'node:path';

export interface Config {
	databaseUrl: string | undefined;
	/** Connections to PostgreSQL per process: a live RCP opens many documents at once. */
	databasePoolMax: number;
	dataDir: string;
	redisUrl: string | undefined;
	/**
	 * Names this deployment's keys and channels in Redis (REDIS_PREFIX): the processes of one
	 * deployment share it, and two deployments (or test runs) on one Redis do not hear each other.
	 */
	redisPrefix: string;
	port: number;
	origin: string | undefined;
	production: boolean;
	smtpUrl: string | undefined;
	mailFrom: string;
	/** A generic SMS gateway (POST JSON { to, text }) for appointment reminders; none by default. */
	smsWebhookUrl: string | undefined;
	/** Largest websocket message accepted, in bytes (Yjs and socket.io). */
	maxMessageBytes: number;
	/** A document's stored rows are merged into one every this many rows. */
	yjsCompactEvery: number;
	/** A cancellation less than this many hours before the appointment is marked late (BOOKING_LATE_CANCEL_HOURS). */
	bookingLateCancelHours: number;
	/** Largest message attachment (file, image, voice), in bytes (MESSAGE_ATTACHMENT_MAX_BYTES, default 10 MB). */
	messageAttachmentMaxBytes: number;
	/** Messages of team, direct and group conversations older than this many days are purged daily; 0 keeps them (MESSAGE_RETENTION_DAYS). */
	messageRetentionDays: number;
	/** Web Push VAPID keys (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT); generated and stored on the embedded default when unset. */
	vapid: { publicKey: string; privateKey: string; subject: string } | undefined;
	/**
	 * The push services a subscription may point at (PUSH_SERVICE_HOSTS, comma-separated; a host
	 * and its subdomains): the browsers' own. The server posts to each subscriber's endpoint, so
	 * any other host would let a user make it call an address of the inside network.
	 */
	pushServiceHosts: string[];
}

/** Chrome and other Chromium browsers (FCM), Firefox (Mozilla autopush), Safari (Apple), Edge (WNS). */
export const PUSH_SERVICE_HOSTS = ['fcm.googleapis.com', 'android.googleapis.com', 'push.services.mozilla.com', 'push.apple.com', 'notify.windows.com'];

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
	return {
		databaseUrl: env.DATABASE_URL || undefined,
		databasePoolMax: Number(env.DATABASE_POOL_MAX || 20),
		dataDir: resolve(env.DATA_DIR || '.data'),
		redisUrl: env.REDIS_URL || undefined,
		redisPrefix: env.REDIS_PREFIX || 'microstructures',
		port: Number(env.PORT || 3000),
		origin: env.ORIGIN || undefined,
		production: env.NODE_ENV === 'production',
		smtpUrl: env.SMTP_URL || undefined,
		mailFrom: env.MAIL_FROM || 'Microstructures <no-reply@localhost>',
		smsWebhookUrl: env.SMS_WEBHOOK_URL || undefined,
		maxMessageBytes: Number(env.MAX_MESSAGE_BYTES || 1024 * 1024),
		yjsCompactEvery: Math.max(2, Number(env.YJS_COMPACT_EVERY || 200)),
		bookingLateCancelHours: lateCancelHours(env.BOOKING_LATE_CANCEL_HOURS),
		messageAttachmentMaxBytes: attachmentMaxBytes(env.MESSAGE_ATTACHMENT_MAX_BYTES),
		messageRetentionDays: retentionDays(env.MESSAGE_RETENTION_DAYS),
		vapid:
			env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY
				? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY, subject: env.VAPID_SUBJECT || 'mailto:no-reply@localhost' }
				: undefined,
		pushServiceHosts: env.PUSH_SERVICE_HOSTS
			? env.PUSH_SERVICE_HOSTS.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)
			: PUSH_SERVICE_HOSTS
	};
}

/** Bytes, from 1 KB to 100 MB (stored in PostgreSQL rows); anything else falls back to 10 MB. */
function attachmentMaxBytes(value: string | undefined): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n >= 1024 && n <= 100 * 1024 * 1024 ? n : 10 * 1024 * 1024;
}

/** Hours, between 0 and two weeks; anything else falls back to the usual 24 h. */
function lateCancelHours(value: string | undefined): number {
	const n = Number(value);
	return value && Number.isFinite(n) && n >= 0 && n <= 336 ? n : 24;
}

/** Whole days, 0 (keep) to 100 years; anything else keeps the messages. */
function retentionDays(value: string | undefined): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n >= 0 && n <= 36_500 ? n : 0;
}

export const config = readConfig();
