import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { invalidateUserSessions, SESSION_COOKIE } from '$lib/server/auth/session';
import { verifyPassword } from '$lib/server/auth/password';
import { regenerateRecoveryCodes, remainingRecoveryCodes } from '$lib/server/auth/two-factor';
import { getUser, setPassword, updateProfile } from '$lib/server/org/users';
import { listMembershipsOfUser } from '$lib/server/org/memberships';
import { audit } from '$lib/server/audit/audit';
import { disconnectUser } from '$lib/server/realtime/attach';
import { auditContext, requireActor } from '$lib/server/request';
import { choice, formError, optionalText, parseForm, password, text } from '$lib/server/forms';
import { messages } from '$lib/i18n';

export async function load(event) {
	const { user } = requireActor(event);
	const db = getDb();
	const [row, memberships, codesLeft] = await Promise.all([
		getUser(db, user.id),
		listMembershipsOfUser(db, user.id),
		user.twoFactorEnabled ? remainingRecoveryCodes(db, user.id) : Promise.resolve(0)
	]);
	return {
		profile: { firstName: row!.first_name, lastName: row!.last_name, email: row!.email, rpps: row!.rpps ?? '', adeli: row!.adeli ?? '', locale: row!.locale, profession: row!.profession },
		memberships,
		twoFactorEnabled: user.twoFactorEnabled,
		codesLeft
	};
}

const profileSchema = z.object({
	firstName: text(100),
	lastName: text(100),
	rpps: optionalText(11).refine((v) => v === '' || /^\d{11}$/.test(v), { error: 'errors.rpps' }),
	adeli: optionalText(9).refine((v) => v === '' || /^\d{9}$/.test(v), { error: 'errors.adeli' }),
	locale: choice(['fr', 'en'])
});

const passwordSchema = z
	.object({ currentPassword: z.string({ error: 'errors.required' }).min(1, { error: 'errors.required' }).max(256), newPassword: password(), passwordConfirm: z.string().max(256) })
	.refine((v) => v.newPassword === v.passwordConfirm, { path: ['passwordConfirm'], error: 'errors.passwordMismatch' });

export const actions = {
	profile: async (event) => {
		const { user } = requireActor(event);
		const parsed = parseForm(profileSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		await updateProfile(getDb(), user.id, { firstName: d.firstName, lastName: d.lastName, rpps: d.rpps || null, adeli: d.adeli || null, locale: d.locale });
		event.cookies.set('lang', d.locale, { path: '/', httpOnly: false, sameSite: 'lax', maxAge: 365 * 24 * 3600 });
		return { success: messages(d.locale).account.saved };
	},
	password: async (event) => {
		const { user } = requireActor(event);
		const t = messages(event.locals.locale);
		const parsed = parseForm(passwordSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const row = await getUser(db, user.id);
		if (!row || !(await verifyPassword(row.password_hash, parsed.data.currentPassword))) {
			return formError(400, t.account.wrongPassword, {}, { currentPassword: t.account.wrongPassword });
		}
		await setPassword(db, user.id, parsed.data.newPassword);
		await invalidateUserSessions(db, user.id, event.locals.session!.id);
		await disconnectUser(user.id);
		await audit(db, auditContext(event), { action: 'auth.password_changed', targetType: 'user', targetId: user.id });
		return { success: t.account.passwordChanged };
	},
	recoveryCodes: async (event) => {
		const { user } = requireActor(event);
		if (!user.twoFactorEnabled) return formError(400, messages(event.locals.locale).errors.forbidden);
		const db = getDb();
		const recoveryCodes = await regenerateRecoveryCodes(db, user.id);
		await audit(db, auditContext(event), { action: 'auth.recovery_codes_regenerated', targetType: 'user', targetId: user.id });
		return { recoveryCodes };
	},
	logoutEverywhere: async (event) => {
		const { user } = requireActor(event);
		const db = getDb();
		await invalidateUserSessions(db, user.id);
		await disconnectUser(user.id);
		await audit(db, auditContext(event), { action: 'auth.logout_everywhere', targetType: 'user', targetId: user.id });
		event.cookies.delete(SESSION_COOKIE, { path: '/' });
		redirect(303, '/login?deconnecte');
	}
};
