import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { attemptLogin, safeRedirect } from '$lib/server/auth/login';
import { DEVICE_COOKIE, rememberDevice } from '$lib/server/auth/device';
import { retryDelay } from '$lib/server/auth/throttle';
import { createSession, generateSessionToken, SESSION_COOKIE, sessionCookieOptions } from '$lib/server/auth/session';
import { loadActor, requiresTwoFactor } from '$lib/server/access/policy';
import { auditContext } from '$lib/server/request';
import { email, formError, parseForm } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';

export function load({ locals, url }) {
	if (locals.actor) redirect(303, safeRedirect(url.searchParams.get('redirectTo')));
	return { loggedOut: url.searchParams.has('deconnecte') };
}

const schema = z.object({
	email: email(),
	password: z.string({ error: 'errors.required' }).min(1, { error: 'errors.required' }).max(256, { error: 'errors.tooLong' })
});

export const actions = {
	default: async (event) => {
		const t = messages(event.locals.locale);
		const parsed = parseForm(schema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const ctx = auditContext(event);
		const result = await attemptLogin(db, ctx, parsed.data.email, parsed.data.password, event.cookies.get(DEVICE_COOKIE));
		if (!result.ok) {
			if (result.reason === 'invalid') return formError(400, t.login.invalid, { email: parsed.data.email });
			const message = {
				throttled_account_ip: t.login.throttledAccountIp,
				throttled_ip: t.login.throttledIp,
				throttled_account: t.login.throttledAccount,
				throttled_device: t.login.throttledDevice
			}[result.reason];
			return formError(429, fill(message, { delay: retryDelay(result.retryAt) }), { email: parsed.data.email });
		}
		const secure = event.url.protocol === 'https:';
		const token = generateSessionToken();
		const session = await createSession(db, token, result.userId, {
			twoFactorVerified: false,
			ip: ctx.ip,
			userAgent: ctx.userAgent
		});
		event.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(session.expiresAt, secure));
		const actor = await loadActor(db, result.userId);
		if (result.twoFactorEnabled) redirect(303, '/2fa');
		if (requiresTwoFactor(actor)) redirect(303, '/2fa/setup');
		// Signed in completely: this browser is now known for this account (device cookie).
		await rememberDevice(db, event.cookies, result.userId, secure);
		redirect(303, safeRedirect(event.url.searchParams.get('redirectTo')));
	}
};
