import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { decodeBase64, encodeBase64 } from '@oslojs/encoding';
import { getDb } from '$lib/server/db';
import { markSessionTwoFactorVerified } from '$lib/server/auth/session';
import { generateTotpKey, regenerateRecoveryCodes, totpEnrolment, verifyTotpCode } from '$lib/server/auth/two-factor';
import { setTotpKey } from '$lib/server/org/users';
import { audit } from '$lib/server/audit/audit';
import { auditContext } from '$lib/server/request';
import { formError, parseForm } from '$lib/server/forms';
import { messages } from '$lib/i18n';

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

export function load({ locals, cookies, url }) {
	const { user, session } = locals;
	if (!user || !session) redirect(303, '/login');
	// Changing an enrolled authenticator requires a verified session.
	if (user.twoFactorEnabled && !session.twoFactorVerified) redirect(303, '/2fa');
	let key = pendingKey(cookies);
	if (!key) {
		key = generateTotpKey();
		cookies.set(PENDING_COOKIE, encodeBase64(key), {
			path: '/2fa/setup',
			httpOnly: true,
			sameSite: 'strict',
			secure: url.protocol === 'https:',
			maxAge: 15 * 60
		});
	}
	const enrolment = totpEnrolment(key, user.email);
	return { qrSvg: enrolment.qrSvg, secret: enrolment.secret, required: !user.twoFactorEnabled };
}

const schema = z.object({
	code: z.string({ error: 'errors.required' }).trim().min(1, { error: 'errors.required' }).max(16)
});

export const actions = {
	default: async (event) => {
		const { user, session, locale } = event.locals;
		if (!user || !session) redirect(303, '/login');
		if (user.twoFactorEnabled && !session.twoFactorVerified) redirect(303, '/2fa');
		const t = messages(locale);
		const parsed = parseForm(schema, await event.request.formData(), locale);
		if (!parsed.ok) return parsed.failure;
		const key = pendingKey(event.cookies);
		if (!key || !verifyTotpCode(key, parsed.data.code)) return formError(400, t.twoFactor.invalidCode);
		event.cookies.delete(PENDING_COOKIE, { path: '/2fa/setup' });
		const db = getDb();
		await setTotpKey(db, user.id, key);
		await markSessionTwoFactorVerified(db, session.id);
		const recoveryCodes = await regenerateRecoveryCodes(db, user.id);
		await audit(db, auditContext(event), { action: 'auth.2fa_enabled', targetType: 'user', targetId: user.id });
		return { success: t.twoFactor.enabled, recoveryCodes };
	}
};
