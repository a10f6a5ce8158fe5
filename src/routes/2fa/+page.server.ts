import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { verifySecondFactor } from '$lib/server/auth/second-factor';
import { DEVICE_COOKIE, rememberDevice } from '$lib/server/auth/device';
import { retryDelay } from '$lib/server/auth/throttle';
import { auditContext } from '$lib/server/request';
import { formError, parseForm } from '$lib/server/forms';
import { fill } from '$lib/i18n';
import { withSecurity } from '$lib/i18n/security';
import type { RequestEvent } from './$types';

export function load({ locals }) {
	if (!locals.user || !locals.session) redirect(303, '/login');
	if (!locals.user.twoFactorEnabled) redirect(303, '/2fa/setup');
	if (locals.session.twoFactorVerified) redirect(303, '/');
	return {};
}

const schema = z.object({ code: z.string({ error: 'errors.required' }).trim().min(1, { error: 'errors.required' }).max(64) });

async function check(event: RequestEvent, kind: 'totp' | 'recovery') {
	const { user, session, locale } = event.locals;
	if (!user || !session) redirect(303, '/login');
	const t = withSecurity(locale);
	const parsed = parseForm(schema, await event.request.formData(), locale);
	if (!parsed.ok) return parsed.failure;
	const db = getDb();
	const result = await verifySecondFactor(db, { ...auditContext(event), actorId: user.id }, session.id, kind, parsed.data.code, event.cookies.get(DEVICE_COOKIE));
	if (result.status === 'throttled') return formError(429, fill(t.twoFactor.throttled, { delay: retryDelay(result.retryAt) }));
	if (result.status === 'replayed') return formError(400, t.twoFactor.replayed);
	if (result.status === 'invalid') return formError(400, kind === 'totp' ? t.twoFactor.invalidCode : t.twoFactor.invalidRecovery);
	await rememberDevice(db, event.cookies, user.id, event.url.protocol === 'https:');
	redirect(303, kind === 'recovery' ? '/compte#securite' : '/');
}

export const actions = {
	totp: (event) => check(event, 'totp'),
	recovery: (event) => check(event, 'recovery')
};
