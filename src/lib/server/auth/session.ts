// Sessions as in the Lucia guide: the browser holds a random token, the database holds only its
// SHA-256, so a database leak yields no usable session. 30-day sliding expiry.
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { executePrepared, type Db } from '../db/index.ts';
import type { User } from '../db/schema.ts';
import { actorFrom, actorMemberships, type Actor } from '../access/policy.ts';

export const SESSION_COOKIE = 'session';
const DAY = 24 * 60 * 60 * 1000;
const SESSION_LIFETIME = 30 * DAY;
const RENEW_WHEN_LEFT = 15 * DAY;

export interface Session {
	id: string;
	userId: string;
	expiresAt: Date;
	twoFactorVerified: boolean;
}

export type SessionUser = Pick<
	User,
	'id' | 'email' | 'first_name' | 'last_name' | 'profession' | 'locale' | 'platform_admin'
> & { twoFactorEnabled: boolean };

export type SessionValidation = { session: Session; user: SessionUser; actor: Actor } | { session: null; user: null; actor?: undefined };

export function generateSessionToken(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(20));
	return encodeBase32LowerCaseNoPadding(bytes);
}

export function sessionIdFromToken(token: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export async function createSession(
	db: Db,
	token: string,
	userId: string,
	meta: { twoFactorVerified: boolean; ip?: string | null; userAgent?: string | null }
): Promise<Session> {
	const session: Session = {
		id: sessionIdFromToken(token),
		userId,
		expiresAt: new Date(Date.now() + SESSION_LIFETIME),
		twoFactorVerified: meta.twoFactorVerified
	};
	await db
		.insertInto('user_session')
		.values({
			id: session.id,
			user_id: userId,
			expires_at: session.expiresAt,
			two_factor_verified: session.twoFactorVerified,
			ip: meta.ip ?? null,
			user_agent: meta.userAgent?.slice(0, 300) ?? null
		})
		.execute();
	return session;
}

/** What generateSessionToken makes: anything else is refused before any hashing or query. */
export function wellFormedSessionToken(token: string): boolean {
	return /^[a-z2-7]{32}$/.test(token);
}

export async function validateSessionToken(db: Db, token: string): Promise<SessionValidation> {
	if (!wellFormedSessionToken(token)) return { session: null, user: null };
	const sessionId = sessionIdFromToken(token);
	// The session, its user and their memberships (the actor) in one round trip: every page asks.
	const [row] = (await executePrepared(db, sessionQuery(db).where('s.id', '=', sessionId))).rows;
	if (!row || row.disabled_at) return { session: null, user: null };
	if (Date.now() >= row.expires_at.getTime()) {
		await db.deleteFrom('user_session').where('id', '=', row.id).execute();
		return { session: null, user: null };
	}
	const validation = validationOf(row);
	if (Date.now() >= validation.session.expiresAt.getTime() - RENEW_WHEN_LEFT) {
		validation.session.expiresAt = new Date(Date.now() + SESSION_LIFETIME);
		await db
			.updateTable('user_session')
			.set({ expires_at: validation.session.expiresAt })
			.where('id', '=', row.id)
			.execute();
	}
	return validation;
}

/**
 * Several tokens in one statement, read only: an expired session is refused but neither deleted
 * nor renewed (pages do that). For live connections, which arrive by hundreds after a restart.
 * Answers in the order of `tokens`.
 */
export async function readSessions(db: Db, tokens: string[]): Promise<SessionValidation[]> {
	const ids = new Map(tokens.filter(wellFormedSessionToken).map((token) => [token, sessionIdFromToken(token)]));
	const rows = ids.size ? await sessionQuery(db).where('s.id', 'in', [...new Set(ids.values())]).execute() : [];
	const now = Date.now();
	const valid = new Map(rows.filter((r) => !r.disabled_at && now < r.expires_at.getTime()).map((r) => [r.id, r]));
	return tokens.map((token) => {
		const row = valid.get(ids.get(token) ?? '');
		return row ? validationOf(row) : { session: null, user: null };
	});
}

function sessionQuery(db: Db) {
	return db
		.selectFrom('user_session as s')
		.innerJoin('app_user as u', 'u.id', 's.user_id')
		.select((eb) => [
			actorMemberships(eb).as('memberships'),
			's.id',
			's.user_id',
			's.expires_at',
			's.two_factor_verified',
			'u.email',
			'u.first_name',
			'u.last_name',
			'u.profession',
			'u.locale',
			'u.platform_admin',
			'u.totp_key',
			'u.disabled_at'
		]);
}

type SessionRow = Awaited<ReturnType<ReturnType<typeof sessionQuery>['executeTakeFirstOrThrow']>>;

function validationOf(row: SessionRow): { session: Session; user: SessionUser; actor: Actor } {
	const session: Session = { id: row.id, userId: row.user_id, expiresAt: row.expires_at, twoFactorVerified: row.two_factor_verified };
	const user: SessionUser = {
		id: row.user_id,
		email: row.email,
		first_name: row.first_name,
		last_name: row.last_name,
		profession: row.profession,
		locale: row.locale,
		platform_admin: row.platform_admin,
		twoFactorEnabled: row.totp_key !== null
	};
	return { session, user, actor: actorFrom(row.user_id, row.platform_admin, row.memberships) };
}

export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
	await db.deleteFrom('user_session').where('id', '=', sessionId).execute();
}

/** Ends every session of a user, optionally keeping the current one. */
export async function invalidateUserSessions(db: Db, userId: string, keepSessionId?: string): Promise<void> {
	let q = db.deleteFrom('user_session').where('user_id', '=', userId);
	if (keepSessionId) q = q.where('id', '!=', keepSessionId);
	await q.execute();
}

export async function markSessionTwoFactorVerified(db: Db, sessionId: string): Promise<void> {
	await db.updateTable('user_session').set({ two_factor_verified: true }).where('id', '=', sessionId).execute();
}

export function sessionCookieOptions(expiresAt: Date, secure: boolean) {
	return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, expires: expiresAt };
}
