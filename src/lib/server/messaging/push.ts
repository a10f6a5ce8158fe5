// Web Push for new messages, without content. A push travels through the browser vendor's push
// service (Google, Mozilla, Apple): encrypted end to end (aes128gcm), but its arrival, size and
// timing are seen there, and the text shows on a locked screen. So every push says the same thing —
// "Nouveau message dans Microstructures" and a link to /messages — never a patient's name, a
// message's text, a motive, a conversation's title or a sender.
//
// VAPID keys: from the environment in production (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY,
// VAPID_SUBJECT); on the embedded default, generated once and kept in app_setting (the first
// process to insert wins, every process reads back the same pair).
//
// Who gets one: the readers of the conversation except the sender, with a subscription, outside
// their quiet hours, at most one per person and conversation per COALESCE_MS. The coalescing is in
// the memory of each process (a burst of messages handled by two processes may give two pushes:
// harmless, the text is the same and the browser replaces a notification with the same tag).
import type { Db } from '../db/index.ts';
import { config } from '../config.ts';
import { log } from '../log.ts';
import { isCleanText } from '../input.ts';
import { parisInstant, parisWallClock } from '../rcp/schedule.ts';
import { addDays } from '../patients/lifecycle.ts';
import { batchedPerDb } from '../batch.ts';

/** Exactly what every push carries. */
export const PUSH_PAYLOAD = { title: 'Microstructures', body: 'Nouveau message dans Microstructures', url: '/messages' } as const;
export const COALESCE_MS = 2 * 60_000;
/** How long a push service keeps a push for an offline device (seconds). */
const TTL = 12 * 3600;

// ---------------------------------------------------------------------------------------------
// Quiet hours (Paris wall clock; start > end spans midnight; start = end means none)
// ---------------------------------------------------------------------------------------------

const hm = (t: string) => t.slice(0, 5);

export function inQuietHours(start: string | null, end: string | null, now = new Date()): boolean {
	if (!start || !end || hm(start) === hm(end)) return false;
	const t = parisWallClock(now).time;
	const [s, e] = [hm(start), hm(end)];
	return s < e ? t >= s && t < e : t >= s || t < e;
}

/** The instant the current quiet hours end (call when inQuietHours is true). */
export function quietHoursEnd(end: string, now = new Date()): Date {
	const { date, time } = parisWallClock(now);
	return time < hm(end) ? parisInstant(date, hm(end)) : parisInstant(addDays(date, 1), hm(end));
}

// ---------------------------------------------------------------------------------------------
// VAPID keys
// ---------------------------------------------------------------------------------------------

export interface VapidKeys {
	publicKey: string;
	privateKey: string;
	subject: string;
}

const VAPID_SETTING = 'vapid_keys';
let cached: { db: Db; keys: Promise<VapidKeys> } | undefined;

/** The server's VAPID keys: the environment's, or the pair generated once for this database. */
export function vapidKeys(db: Db): Promise<VapidKeys> {
	if (config.vapid) return Promise.resolve(config.vapid);
	if (cached?.db !== db) {
		const keys = storedKeys(db);
		cached = { db, keys };
		keys.catch(() => {
			if (cached?.keys === keys) cached = undefined;
		});
	}
	return cached.keys;
}

/** web-push (and its crypto dependencies) is loaded at the first push or key generation, not with every process. */
const loadWebPush = () => import('web-push').then((m) => m.default);

async function storedKeys(db: Db): Promise<VapidKeys> {
	const fresh = (await loadWebPush()).generateVAPIDKeys();
	// Two processes starting together each generate a pair: the first insert wins, both read it back.
	await db
		.insertInto('app_setting')
		.values({ key: VAPID_SETTING, value: JSON.stringify(fresh) })
		.onConflict((oc) => oc.column('key').doNothing())
		.execute();
	const row = await db.selectFrom('app_setting').select('value').where('key', '=', VAPID_SETTING).executeTakeFirstOrThrow();
	const stored = JSON.parse(row.value) as { publicKey: string; privateKey: string };
	return { publicKey: stored.publicKey, privateKey: stored.privateKey, subject: config.origin?.startsWith('https:') ? config.origin : 'mailto:no-reply@localhost' };
}

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

export type SubscriptionResult = { ok: true } | { ok: false; error: string };
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** A browser's subscription as PushSubscription.toJSON() gives it, checked. */
/** An endpoint at one of the push services this deployment posts to (config.pushServiceHosts). */
export function isPushService(endpoint: URL | string): boolean {
	let url: URL;
	try {
		url = typeof endpoint === 'string' ? new URL(endpoint) : endpoint;
	} catch {
		return false;
	}
	return url.protocol === 'https:' && config.pushServiceHosts.some((host) => url.hostname === host || url.hostname.endsWith(`.${host}`));
}

export function parseSubscription(input: unknown): { endpoint: string; p256dh: string; auth: string } | null {
	if (typeof input !== 'object' || input === null) return null;
	const { endpoint, keys } = input as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
	// Clean text too: PostgreSQL refuses a NUL (a server error) and a lone surrogate would be stored altered.
	if (typeof endpoint !== 'string' || endpoint.length > 1000 || !isCleanText(endpoint) || typeof keys !== 'object' || keys === null) return null;
	let url: URL;
	try {
		url = new URL(endpoint);
	} catch {
		return null;
	}
	if (url.protocol !== 'https:' || url.username || url.password || !isPushService(url)) return null;
	const { p256dh, auth } = keys;
	// An uncompressed P-256 point is 65 bytes (87 characters in base64url), the auth secret 16 (22).
	if (typeof p256dh !== 'string' || !BASE64URL.test(p256dh) || Buffer.from(p256dh, 'base64url').length !== 65) return null;
	if (typeof auth !== 'string' || !BASE64URL.test(auth) || Buffer.from(auth, 'base64url').length !== 16) return null;
	return { endpoint, p256dh, auth };
}

/** Records this device's subscription for the user (a device handed to someone else moves with its endpoint). */
export async function savePushSubscription(db: Db, userId: string, input: unknown): Promise<SubscriptionResult> {
	const sub = parseSubscription(input);
	if (!sub) return { ok: false, error: 'Abonnement aux notifications invalide.' };
	await db
		.insertInto('push_subscription')
		.values({ user_id: userId, ...sub })
		.onConflict((oc) => oc.column('endpoint').doUpdateSet({ user_id: userId, p256dh: sub.p256dh, auth: sub.auth, created_at: new Date() }))
		.execute();
	return { ok: true };
}

export async function removePushSubscription(db: Db, userId: string, endpoint: unknown): Promise<void> {
	if (typeof endpoint !== 'string' || endpoint.length > 1000) return;
	await db.deleteFrom('push_subscription').where('user_id', '=', userId).where('endpoint', '=', endpoint).execute();
}

export async function pushSubscriptionCount(db: Db, userId: string): Promise<number> {
	const r = await db.selectFrom('push_subscription').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', userId).executeTakeFirst();
	return Number(r?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

/** person:conversation → when the last push went (this process). */
const lastPush = new Map<string, number>();

function coalesced(userId: string, conversationId: string, now: number): boolean {
	const key = `${userId}:${conversationId}`;
	const last = lastPush.get(key);
	if (last !== undefined && now - last < COALESCE_MS) return true;
	lastPush.set(key, now);
	if (lastPush.size > 50_000) for (const [k, at] of lastPush) if (now - at >= COALESCE_MS) lastPush.delete(k);
	return false;
}

/** Forgets the coalescing (tests that send several pushes in a row). */
export function resetPushCoalescing(): void {
	lastPush.clear();
}

/** Messages per batched statement: their readers are its parameters (PostgreSQL takes at most 65,535). */
export const BATCH_MESSAGES = 200;

/** The devices of these people: those of messages sent together are read by one statement. */
const subscriptions = batchedPerDb(async (db, lists: string[][]) => {
	const rows = await db
		.selectFrom('app_user as u')
		.innerJoin('push_subscription as s', 's.user_id', 'u.id')
		.select(['u.id as user_id', 'u.quiet_start', 'u.quiet_end', 's.id', 's.endpoint', 's.p256dh', 's.auth'])
		.where('u.id', 'in', [...new Set(lists.flat())])
		.where('u.disabled_at', 'is', null)
		.execute();
	return lists.map((ids) => rows.filter((r) => ids.includes(r.user_id)));
}, BATCH_MESSAGES);

/**
 * One push to each recipient's devices; returns how many were accepted by the push services.
 * Never throws: a failing push service is logged, a subscription it says is gone is deleted.
 */
export async function pushNewMessage(db: Db, conversationId: string, recipients: string[], now = new Date()): Promise<number> {
	if (recipients.length === 0) return 0;
	try {
		const people = await subscriptions(db, recipients);
		const due = people.filter((p) => !inQuietHours(p.quiet_start, p.quiet_end, now));
		const users = [...new Set(due.map((p) => p.user_id))].filter((id) => !coalesced(id, conversationId, now.getTime()));
		// Subscriptions recorded before their host was refused are never posted to.
		const targets = due.filter((p) => users.includes(p.user_id) && isPushService(p.endpoint));
		if (targets.length === 0) return 0;
		const [keys, webpush] = await Promise.all([vapidKeys(db), loadWebPush()]);
		const payload = JSON.stringify(PUSH_PAYLOAD);
		const results = await Promise.all(
			targets.map(async (t) => {
				try {
					await webpush.sendNotification({ endpoint: t.endpoint, keys: { p256dh: t.p256dh, auth: t.auth } }, payload, {
						vapidDetails: keys,
						TTL,
						urgency: 'normal',
						timeout: 10_000
					});
					return 1;
				} catch (error) {
					const status = (error as { statusCode?: number }).statusCode;
					if (status === 404 || status === 410) {
						await db.deleteFrom('push_subscription').where('id', '=', t.id).execute();
						log('info', 'push subscription gone', { status });
					} else {
						log('warn', 'push failed', { status, error: error instanceof Error ? error.message : String(error) });
					}
					return 0;
				}
			})
		);
		return results.reduce<number>((a, b) => a + b, 0);
	} catch (error) {
		log('error', 'push dispatch failed', { error: error instanceof Error ? error.message : String(error) });
		return 0;
	}
}
