// Device cookies (OWASP "Blocking brute force attacks"): a browser where someone completed a
// sign-in (password, and second factor when they have one) keeps a long-lived random token; only
// its SHA-256 is stored, bound to each account signed in from it. Attempts from such a browser are
// counted on that browser's own small counter, never on the account-wide one, so a storm of wrong
// passwords from elsewhere cannot lock the owner out of a browser they already use.
import { sql } from 'kysely';
import type { Cookies } from '@sveltejs/kit';
import type { Db } from '../db/index.ts';
import { generateSessionToken, sessionIdFromToken } from './session.ts';

export const DEVICE_COOKIE = 'device';
const DEVICE_LIFETIME_DAYS = 365;

function tokenShape(token: string | undefined | null): token is string {
	return typeof token === 'string' && /^[a-z2-7]{32}$/.test(token);
}

/** The hash of the browser's device token when it is trusted for this user, otherwise null. */
export async function trustedDevice(db: Db, token: string | undefined | null, userId: string | undefined): Promise<string | null> {
	if (!tokenShape(token) || !userId) return null;
	const hash = sessionIdFromToken(token);
	const row = await db
		.selectFrom('trusted_device')
		.select('token_hash')
		.where('token_hash', '=', hash)
		.where('user_id', '=', userId)
		.where('last_used_at', '>', sql<Date>`now() - make_interval(days => ${DEVICE_LIFETIME_DAYS})`)
		.executeTakeFirst();
	return row ? hash : null;
}

/**
 * After a complete sign-in: a fresh token for this browser, carrying the accounts the previous
 * token was trusted for (a shared practice computer) plus this one. Rotating means a token that
 * someone else planted or copied stops working at the owner's next sign-in.
 */
export async function trustDevice(db: Db, previousToken: string | undefined | null, userId: string): Promise<string> {
	const token = generateSessionToken();
	const hash = sessionIdFromToken(token);
	await db.transaction().execute(async (trx) => {
		if (tokenShape(previousToken)) {
			await trx
				.updateTable('trusted_device')
				.set({ token_hash: hash })
				.where('token_hash', '=', sessionIdFromToken(previousToken))
				.where('last_used_at', '>', sql<Date>`now() - make_interval(days => ${DEVICE_LIFETIME_DAYS})`)
				.execute();
		}
		await trx
			.insertInto('trusted_device')
			.values({ token_hash: hash, user_id: userId })
			.onConflict((oc) => oc.columns(['token_hash', 'user_id']).doUpdateSet({ last_used_at: sql`now()` }))
			.execute();
	});
	return token;
}

export function setDeviceCookie(cookies: Cookies, token: string, secure: boolean): void {
	cookies.set(DEVICE_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: DEVICE_LIFETIME_DAYS * 24 * 3600 });
}

/** Marks the browser as trusted for the user who has just signed in completely. */
export async function rememberDevice(db: Db, cookies: Cookies, userId: string, secure: boolean): Promise<void> {
	setDeviceCookie(cookies, await trustDevice(db, cookies.get(DEVICE_COOKIE), userId), secure);
}
