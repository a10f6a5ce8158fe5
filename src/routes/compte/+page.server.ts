import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { invalidateUserSessions, SESSION_COOKIE } from '$lib/server/auth/session';
import { verifyPassword } from '$lib/server/auth/password';
import { consume, reset, retryDelay } from '$lib/server/auth/throttle';
import { regenerateRecoveryCodes, remainingRecoveryCodes } from '$lib/server/auth/two-factor';
import { getUser, setPassword, updateProfile } from '$lib/server/org/users';
import { listMembershipsOfUser } from '$lib/server/org/memberships';
import { audit } from '$lib/server/audit/audit';
import { disconnectUser } from '$lib/server/live';
import { auditContext, requireActor } from '$lib/server/request';
import { choice, formError, optionalText, parseForm, password, text } from '$lib/server/forms';
import { fill } from '$lib/i18n';
import { withPlanning } from '$lib/i18n/planning';
import { withSecurity } from '$lib/i18n/security';
import { createFeed, feedStatus, revokeFeed } from '$lib/server/booking/calendar-feed';
import { EMAIL_DELAYS, notificationSettings, saveNotificationSettings } from '$lib/server/messaging/notify';

export async function load(event) {
	const { user } = requireActor(event);
	const db = getDb();
	const [row, memberships, codesLeft, feed, notifications] = await Promise.all([
		getUser(db, user.id),
		listMembershipsOfUser(db, user.id),
		user.twoFactorEnabled ? remainingRecoveryCodes(db, user.id) : Promise.resolve(0),
		feedStatus(db, user.id),
		notificationSettings(db, user.id)
	]);
	return {
		profile: { firstName: row!.first_name, lastName: row!.last_name, email: row!.email, rpps: row!.rpps ?? '', adeli: row!.adeli ?? '', locale: row!.locale, profession: row!.profession },
		memberships,
		twoFactorEnabled: user.twoFactorEnabled,
		codesLeft,
		feed,
		notifications: { ...notifications, delays: [...EMAIL_DELAYS] }
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
		return { success: withPlanning(d.locale, withSecurity(d.locale)).account.saved };
	},
	password: async (event) => {
		const { user } = requireActor(event);
		const t = withPlanning(event.locals.locale, withSecurity(event.locals.locale));
		const parsed = parseForm(passwordSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const keys = [{ scope: 'password_check' as const, subject: [user.id] }];
		const counted = await consume(db, keys);
		if (!counted.allowed) return formError(429, fill(t.account.passwordThrottled, { delay: retryDelay(counted.retryAt) }));
		const row = await getUser(db, user.id);
		if (!row || !(await verifyPassword(row.password_hash, parsed.data.currentPassword))) {
			return formError(400, t.account.wrongPassword, {}, { currentPassword: t.account.wrongPassword });
		}
		await reset(db, keys);
		await setPassword(db, user.id, parsed.data.newPassword);
		await invalidateUserSessions(db, user.id, event.locals.session!.id);
		await disconnectUser(user.id);
		await audit(db, auditContext(event), { action: 'auth.password_changed', targetType: 'user', targetId: user.id });
		return { success: t.account.passwordChanged };
	},
	recoveryCodes: async (event) => {
		const { user } = requireActor(event);
		if (!user.twoFactorEnabled) return formError(400, withPlanning(event.locals.locale, withSecurity(event.locals.locale)).errors.forbidden);
		const db = getDb();
		const recoveryCodes = await regenerateRecoveryCodes(db, user.id);
		await audit(db, auditContext(event), { action: 'auth.recovery_codes_regenerated', targetType: 'user', targetId: user.id });
		return { recoveryCodes };
	},
	/** Creates the private calendar feed, or replaces it (the old URL stops working). The URL is shown once. */
	feedCreate: async (event) => {
		const { user } = requireActor(event);
		const { token } = await createFeed(getDb(), auditContext(event), user.id);
		return { success: withPlanning(event.locals.locale, withSecurity(event.locals.locale)).reminders.feed.created, feedUrl: new URL(`/calendrier/${token}.ics`, event.url.origin).href };
	},
	feedRevoke: async (event) => {
		const { user } = requireActor(event);
		const t = withPlanning(event.locals.locale, withSecurity(event.locals.locale)).reminders.feed;
		const revoked = await revokeFeed(getDb(), auditContext(event), user.id);
		return { success: revoked ? t.revoked : t.nothingToRevoke };
	},
	/** Quiet hours and the delay before the e-mail for unread messages. */
	notifications: async (event) => {
		const { user } = requireActor(event);
		const form = await event.request.formData();
		const values = { quietStart: String(form.get('quietStart') ?? '').slice(0, 10), quietEnd: String(form.get('quietEnd') ?? '').slice(0, 10), emailDelay: String(form.get('emailDelay') ?? '').slice(0, 10) };
		const saved = await saveNotificationSettings(getDb(), user.id, values);
		if (!saved.ok) return formError(400, saved.error, values, saved.field ? { [saved.field]: saved.error } : {});
		return { success: 'Préférences de notification enregistrées.', notificationsSaved: true };
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
