import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { sql } from 'kysely';
import { decodeBase64, encodeBase64 } from '@oslojs/encoding';
import { getDb } from '$lib/server/db';
import { markSessionTwoFactorVerified } from '$lib/server/auth/session';
import { generateTotpKey, matchTotpStep, regenerateRecoveryCodes, totpEnrolment } from '$lib/server/auth/two-factor';
import { checkEnrolmentCode, enrolTotp, sendEnrolmentCode, sessionMayEnrol } from '$lib/server/auth/enrolment';
import { rememberDevice } from '$lib/server/auth/device';
import { retryDelay } from '$lib/server/auth/throttle';
import { mailChannel } from '$lib/server/mail/mailer';
import { audit } from '$lib/server/audit/audit';
import { auditContext } from '$lib/server/request';
import { formError, parseForm } from '$lib/server/forms';
import { fill } from '$lib/i18n';
import { withSecurity } from '$lib/i18n/security';
import type { RequestEvent } from './$types';

// The key being enrolled stays in a short-lived httpOnly cookie, so a mistyped code does not
// change the QR code the user has already scanned.
const PENDING_COOKIE = 'totp_pending';

function pendingKey(cookies: import('@sveltejs/kit').Cookies): Uint8Array | null {
	const value = cookies.get(PENDING_COOKIE);
	if (!value) return null;
	try {
		const key = decodeBase64(value);
		return key.byteLength === 20 ? key : null;
	} catch {
		return null;
	}
}

/** Who may be here, and whether the e-mail still has to be proven before a QR code is shown. */
async function enrolmentState(event: RequestEvent) {
	const { user, session } = event.locals;
	if (!user || !session) redirect(303, '/login');
	// Changing an enrolled authenticator requires a verified session.
	if (user.twoFactorEnabled && !session.twoFactorVerified) redirect(303, '/2fa');
	// A first enrolment requires more than the password: the session proves the e-mail first.
	const emailProven = user.twoFactorEnabled || (await sessionMayEnrol(getDb(), session.id));
	return { user, session, emailProven };
}

export async function load(event) {
	const { user, session, emailProven } = await enrolmentState(event);
	// No actor yet: the sign-in waits for this enrolment (the role requires it), and the page has no
	// navigation of its own.
	const required = !event.locals.actor;
	if (!emailProven) {
		const pending = await getDb()
			.selectFrom('enrolment_code')
			.select('id')
			.where('session_id', '=', session.id)
			.where('used_at', 'is', null)
			.where('expires_at', '>', sql<Date>`now()`)
			.executeTakeFirst();
		return { phase: 'email' as const, email: user.email, channel: mailChannel(), codeSent: pending !== undefined, required };
	}
	let key = pendingKey(event.cookies);
	if (!key) {
		key = generateTotpKey();
		event.cookies.set(PENDING_COOKIE, encodeBase64(key), {
			path: '/2fa/setup',
			httpOnly: true,
			sameSite: 'strict',
			secure: event.url.protocol === 'https:',
			maxAge: 15 * 60
		});
	}
	const enrolment = totpEnrolment(key, user.email);
	return { phase: 'totp' as const, qrSvg: enrolment.qrSvg, secret: enrolment.secret, required, firstEnrolment: !user.twoFactorEnabled };
}

const codeSchema = z.object({
	code: z.string({ error: 'errors.required' }).trim().min(1, { error: 'errors.required' }).max(16)
});

export const actions = {
	sendCode: async (event) => {
		const { user, session, emailProven } = await enrolmentState(event);
		const t = withSecurity(event.locals.locale);
		if (emailProven) redirect(303, '/2fa/setup');
		const result = await sendEnrolmentCode(getDb(), auditContext(event), { id: session.id, userId: user.id });
		if (result.status === 'no_mail') return formError(503, t.twoFactor.noMail);
		if (result.status === 'mail_failed') return formError(503, t.twoFactor.mailFailed);
		if (result.status === 'throttled') return formError(429, fill(t.twoFactor.sendThrottled, { delay: retryDelay(result.retryAt) }));
		const sent = fill(t.twoFactor.codeSent, { email: user.email });
		return { success: result.channel === 'demo-console' ? `${sent} ${t.twoFactor.codeSentDemo}` : sent };
	},
	checkCode: async (event) => {
		const { user, session, emailProven } = await enrolmentState(event);
		const t = withSecurity(event.locals.locale);
		if (emailProven) redirect(303, '/2fa/setup');
		const parsed = parseForm(codeSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const result = await checkEnrolmentCode(getDb(), auditContext(event), { id: session.id, userId: user.id }, parsed.data.code);
		if (result.status === 'throttled') return formError(429, fill(t.twoFactor.throttled, { delay: retryDelay(result.retryAt) }));
		if (result.status === 'invalid') return formError(400, t.twoFactor.invalidEmailCode);
		redirect(303, '/2fa/setup');
	},
	enrol: async (event) => {
		const { user, session, emailProven } = await enrolmentState(event);
		const t = withSecurity(event.locals.locale);
		if (!emailProven) redirect(303, '/2fa/setup');
		const parsed = parseForm(codeSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const key = pendingKey(event.cookies);
		const step = key ? matchTotpStep(key, parsed.data.code) : null;
		if (!key || step === null) return formError(400, t.twoFactor.invalidCode);
		const db = getDb();
		if (!(await enrolTotp(db, user.id, key, step, user.twoFactorEnabled))) return formError(409, t.twoFactor.alreadyEnrolled);
		event.cookies.delete(PENDING_COOKIE, { path: '/2fa/setup' });
		await markSessionTwoFactorVerified(db, session.id);
		const recoveryCodes = await regenerateRecoveryCodes(db, user.id);
		await audit(db, auditContext(event), { action: 'auth.2fa_enabled', targetType: 'user', targetId: user.id });
		// The sign-in is now complete: this browser is known for this account.
		await rememberDevice(db, event.cookies, user.id, event.url.protocol === 'https:');
		return { success: t.twoFactor.enabled, recoveryCodes };
	}
};
