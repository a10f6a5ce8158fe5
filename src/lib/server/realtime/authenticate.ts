// The session check for websocket upgrades and socket.io handshakes: the same cookie and the same
// rules as pages (hooks.server.ts), plus an Origin check against cross-site websocket hijacking.
import type { IncomingMessage } from 'node:http';
import { parse } from 'cookie';
import { config } from '../config.ts';
import { getDb, type Db } from '../db/index.ts';
import { readSessions, SESSION_COOKIE, sessionIdFromToken, validateSessionToken, wellFormedSessionToken, type SessionUser, type SessionValidation } from '../auth/session.ts';
import { batched } from '../batch.ts';
import { requiresTwoFactor, type Actor } from '../access/policy.ts';
import type { AccessCache } from './access-cache.ts';

export interface Authenticated {
	user: SessionUser;
	actor: Actor;
	sessionId: string;
	expiresAt: Date;
}

/** A browser always sends Origin on websockets; it must be this site. Non-browser clients send none. */
export function originAllowed(req: IncomingMessage): boolean {
	const origin = req.headers.origin;
	if (!origin) return true;
	if (config.origin) return origin === config.origin;
	try {
		return new URL(origin).host === req.headers.host;
	} catch {
		return false;
	}
}

/** The request's session token, when it has one that could be valid (nothing is read for it yet). */
export function requestSessionToken(req: IncomingMessage): string | null {
	const token = parse(req.headers.cookie ?? '')[SESSION_COOKIE];
	return token && wellFormedSessionToken(token) ? token : null;
}

/**
 * With a cache, a session seen in the last seconds costs no query (access-cache.ts), and sessions
 * not seen yet are read together while a read runs (a reconnect storm costs a few statements).
 */
export async function authenticateRequest(req: IncomingMessage, cache?: AccessCache): Promise<Authenticated | null> {
	const token = requestSessionToken(req);
	if (!token) return null;
	if (!cache) return signedIn(await validateSessionToken(getDb(), token));
	return cache.session(sessionIdFromToken(token), async () => signedIn(await sessionReads.run(token)));
}

/**
 * The upgrades of a storm are read and audited together (here, attach.ts), this many per statement
 * at most: each statement's answer resumes its upgrades in one turn of the event loop (accepting
 * them, sending the documents), and editors already typing must not wait for hundreds at once.
 */
export const UPGRADES_PER_BATCH = 32;

const sessionReads = batched((tokens: string[]) => readSessions(getDb(), tokens), UPGRADES_PER_BATCH);

function signedIn({ session, user, actor }: SessionValidation): Authenticated | null {
	if (!session) return null;
	// A session that still owes its second factor is not signed in yet.
	if ((user.twoFactorEnabled || requiresTwoFactor(actor)) && !session.twoFactorVerified) return null;
	return { user, actor, sessionId: session.id, expiresAt: session.expiresAt };
}

/** Of these sessions, those that still exist, have not expired and belong to an enabled user. */
export async function stillValidSessions(db: Db, sessionIds: string[]): Promise<Set<string>> {
	const rows = await db
		.selectFrom('user_session as s')
		.innerJoin('app_user as u', 'u.id', 's.user_id')
		.select('s.id')
		.where('s.id', 'in', sessionIds)
		.where('s.expires_at', '>', new Date())
		.where('u.disabled_at', 'is', null)
		.execute();
	return new Set(rows.map((r) => r.id));
}
