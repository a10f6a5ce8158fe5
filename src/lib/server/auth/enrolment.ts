// Enrolling a second factor. The first enrolment needs more than the password (otherwise whoever
// knows it first would attach their own authenticator): the session must have proven the account's
// e-mail, by one of
//   - a 6-digit code sent to the address (10 minutes, single use, only the latest one, throttled);
//   - the invitation link, when the account is created or the invitation accepted;
//   - a code an administrator gives the person (24 hours, single use), when no mail can be sent.
// Replacing an enrolled authenticator needs a session verified with the current one.
import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { inTransaction, type Db } from '../db/index.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { deliverMail, mailChannel, type MailChannel } from '../mail/mailer.ts';
import { fill, messages } from '../../i18n/index.ts';
import { consume, reset, type Key } from './throttle.ts';
import { invalidateUserSessions } from './session.ts';

export const EMAIL_CODE_LIFETIME_MS = 10 * 60 * 1000;
export const ADMIN_CODE_LIFETIME_MS = 24 * 60 * 60 * 1000;

function hashCode(userId: string, code: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(`${userId}:${code}`)));
}

function newCode(): string {
	return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export async function sessionMayEnrol(db: Db, sessionId: string): Promise<boolean> {
	const row = await db.selectFrom('user_session').select('enrolment_allowed').where('id', '=', sessionId).executeTakeFirst();
	return row?.enrolment_allowed ?? false;
}

/** The session proved the e-mail (invitation link or code). */
export async function allowEnrolment(db: Db, sessionId: string): Promise<void> {
	await db.updateTable('user_session').set({ enrolment_allowed: true }).where('id', '=', sessionId).execute();
}

export type SendResult =
	| { status: 'sent'; channel: MailChannel }
	| { status: 'throttled'; retryAt: Date }
	| { status: 'no_mail' }
	| { status: 'mail_failed' };

/** Sends a fresh code to the account's address; earlier codes of this session stop working. */
export async function sendEnrolmentCode(
	db: Db,
	ctx: AuditContext,
	session: { id: string; userId: string }
): Promise<SendResult> {
	if (mailChannel() === 'none') return { status: 'no_mail' };
	const user = await db.selectFrom('app_user').select(['email', 'first_name', 'locale']).where('id', '=', session.userId).executeTakeFirst();
	if (!user) return { status: 'no_mail' };
	const counted = await consume(db, [
		{ scope: 'enrol_send_session', subject: [session.id] },
		{ scope: 'enrol_send_user', subject: [session.userId] }
	]);
	if (!counted.allowed) return { status: 'throttled', retryAt: counted.retryAt };
	const code = newCode();
	await inTransaction(db, async (trx) => {
		await trx
			.updateTable('enrolment_code')
			.set({ expires_at: sql`now()` })
			.where('session_id', '=', session.id)
			.where('used_at', 'is', null)
			.execute();
		await trx
			.insertInto('enrolment_code')
			.values({
				user_id: session.userId,
				session_id: session.id,
				code_hash: hashCode(session.userId, code),
				created_by: null,
				expires_at: new Date(Date.now() + EMAIL_CODE_LIFETIME_MS),
				used_at: null
			})
			.execute();
	});
	const t = messages(user.locale);
	let channel: MailChannel;
	try {
		channel = await deliverMail({
			to: user.email,
			subject: t.mail.enrolmentSubject,
			text: fill(t.mail.enrolmentBody, { name: user.first_name, code, minutes: EMAIL_CODE_LIFETIME_MS / 60_000 })
		});
	} catch {
		// The code never left: it must not stay usable.
		await db.updateTable('enrolment_code').set({ expires_at: sql`now()` }).where('session_id', '=', session.id).where('used_at', 'is', null).execute();
		return { status: 'mail_failed' };
	}
	await audit(db, ctx, { action: 'auth.enrolment_code_sent', targetType: 'user', targetId: session.userId });
	return { status: 'sent', channel };
}

export type CheckResult = { status: 'ok' } | { status: 'invalid' } | { status: 'throttled'; retryAt: Date };

export function enrolmentCheckKeys(sessionId: string, userId: string): Key[] {
	return [
		{ scope: 'enrol_check_session', subject: [sessionId] },
		{ scope: 'enrol_check_user', subject: [userId] }
	];
}

/**
 * Checks a code sent to this session or given by an administrator, and uses it up in the same
 * statement (two requests with one code: one wins). The session may then enrol.
 */
export async function checkEnrolmentCode(
	db: Db,
	ctx: AuditContext,
	session: { id: string; userId: string },
	codeInput: string
): Promise<CheckResult> {
	const keys = enrolmentCheckKeys(session.id, session.userId);
	const counted = await consume(db, keys);
	if (!counted.allowed) return { status: 'throttled', retryAt: counted.retryAt };
	const code = codeInput.replace(/\s/g, '');
	const used = /^\d{6}$/.test(code)
		? await db
				.updateTable('enrolment_code')
				.set({ used_at: sql`now()` })
				.where('user_id', '=', session.userId)
				.where((eb) => eb.or([eb('session_id', '=', session.id), eb('session_id', 'is', null)]))
				.where('code_hash', '=', hashCode(session.userId, code))
				.where('used_at', 'is', null)
				.where('expires_at', '>', sql<Date>`now()`)
				.returning(['session_id', 'created_by'])
				.executeTakeFirst()
		: undefined;
	if (!used) {
		await audit(db, ctx, { action: 'auth.enrolment_code_failed', targetType: 'user', targetId: session.userId });
		return { status: 'invalid' };
	}
	await reset(db, keys);
	await allowEnrolment(db, session.id);
	await audit(db, ctx, {
		action: 'auth.enrolment_code_used',
		targetType: 'user',
		targetId: session.userId,
		details: { from: used.session_id ? 'email' : used.created_by ? 'administrator' : 'operator' }
	});
	return { status: 'ok' };
}

/** A code an administrator passes on by phone or in person, when no e-mail can reach the person. */
export async function issueEnrolmentCode(db: Db, ctx: AuditContext, userId: string): Promise<string> {
	const code = newCode();
	await inTransaction(db, async (trx) => {
		await trx
			.updateTable('enrolment_code')
			.set({ expires_at: sql`now()` })
			.where('user_id', '=', userId)
			.where('session_id', 'is', null)
			.where('used_at', 'is', null)
			.execute();
		await trx
			.insertInto('enrolment_code')
			.values({
				user_id: userId,
				session_id: null,
				code_hash: hashCode(userId, code),
				created_by: ctx.actorId,
				expires_at: new Date(Date.now() + ADMIN_CODE_LIFETIME_MS),
				used_at: null
			})
			.execute();
		await audit(trx, ctx, { action: 'auth.enrolment_code_issued', targetType: 'user', targetId: userId });
	});
	return code;
}

/**
 * Stores the authenticator's key with the time step of the code that confirmed it (that code cannot
 * be used again to sign in). A first enrolment only succeeds if the account still has none, so two
 * sessions racing to enrol cannot overwrite each other.
 */
export async function enrolTotp(db: Db, userId: string, key: Uint8Array, step: bigint, replace: boolean): Promise<boolean> {
	let q = db.updateTable('app_user').set({ totp_key: key, totp_last_step: String(step) }).where('id', '=', userId);
	if (!replace) q = q.where('totp_key', 'is', null);
	const row = await q.returning('id').executeTakeFirst();
	return row !== undefined;
}

/**
 * An administrator resets a lost second factor: key, last step and recovery codes are cleared,
 * pending codes withdrawn and every session ended (the caller also closes live connections). The
 * person enrols again at the next sign-in, proving the e-mail first.
 */
export async function resetSecondFactor(db: Db, ctx: AuditContext & { actorId: string }, userId: string, details: Record<string, unknown> = {}): Promise<void> {
	await inTransaction(db, async (trx) => {
		await trx.updateTable('app_user').set({ totp_key: null, totp_last_step: null }).where('id', '=', userId).execute();
		await trx.deleteFrom('recovery_code').where('user_id', '=', userId).execute();
		await trx.updateTable('enrolment_code').set({ expires_at: sql`now()` }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
		await invalidateUserSessions(trx, userId);
		await audit(trx, ctx, { action: 'auth.2fa_reset', targetType: 'user', targetId: userId, details });
	});
}
