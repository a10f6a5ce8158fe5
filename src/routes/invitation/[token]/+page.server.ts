import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { acceptInvitation, findPendingInvitation } from '$lib/server/org/invitations';
import { createUser, findUserByEmail } from '$lib/server/org/users';
import { createSession, generateSessionToken, SESSION_COOKIE, sessionCookieOptions } from '$lib/server/auth/session';
import { allowEnrolment } from '$lib/server/auth/enrolment';
import { rememberDevice } from '$lib/server/auth/device';
import { loadActor, requiresTwoFactor } from '$lib/server/access/policy';
import { audit } from '$lib/server/audit/audit';
import { reauthorizeUser } from '$lib/server/live';
import { auditContext } from '$lib/server/request';
import { formError, parseForm, password, text } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';

export async function load({ params, locals }) {
	const db = getDb();
	const inv = await findPendingInvitation(db, params.token);
	if (!inv) return { invitation: null };
	const existing = await findUserByEmail(db, inv.email);
	return {
		invitation: {
			email: inv.email,
			firstName: inv.first_name,
			lastName: inv.last_name,
			role: inv.role,
			place: inv.microstructure_name ?? inv.network_name ?? '',
			inviter: `${inv.inviter_first_name ?? ''} ${inv.inviter_last_name ?? ''}`.trim()
		},
		accountExists: existing !== undefined,
		signedInAs: locals.actor ? locals.user!.email : null
	};
}

const registerSchema = z
	.object({ firstName: text(100), lastName: text(100), password: password(), passwordConfirm: z.string().max(256) })
	.refine((v) => v.password === v.passwordConfirm, { path: ['passwordConfirm'], error: 'errors.passwordMismatch' });

function destination(inv: { microstructure_id: string | null; network_id: string | null }) {
	return inv.microstructure_id ? `/ms/${inv.microstructure_id}` : '/admin';
}

export const actions = {
	accept: async (event) => {
		const t = messages(event.locals.locale);
		const db = getDb();
		const inv = await findPendingInvitation(db, event.params.token);
		const user = event.locals.actor ? event.locals.user : null;
		if (!inv) return formError(410, t.invitation.invalid);
		if (!user) redirect(303, `/login?redirectTo=${encodeURIComponent(event.url.pathname)}`);
		if (user.email.toLowerCase() !== inv.email) return formError(403, fill(t.invitation.wrongAccount, { email: inv.email }));
		const membershipId = await acceptInvitation(db, inv.id, user.id);
		if (!membershipId) return formError(410, t.invitation.invalid);
		await audit(db, auditContext(event), {
			action: 'invitation.accepted',
			targetType: 'user',
			targetId: user.id,
			microstructureId: inv.microstructure_id,
			networkId: inv.network_id,
			details: { invitationId: inv.id, membershipId }
		});
		// The invitation link reached this address: enough to enrol a first second factor, which the
		// new role may require from the next page on.
		if (!user.twoFactorEnabled && event.locals.session) await allowEnrolment(db, event.locals.session.id);
		await reauthorizeUser(user.id);
		redirect(303, destination(inv));
	},
	register: async (event) => {
		const t = messages(event.locals.locale);
		const db = getDb();
		const inv = await findPendingInvitation(db, event.params.token);
		if (!inv) return formError(410, t.invitation.invalid);
		if (await findUserByEmail(db, inv.email)) return formError(409, fill(t.invitation.signInFirst, { email: inv.email }));
		const parsed = parseForm(registerSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const ctx = auditContext(event);
		// The account and the membership are created together, or not at all (a double click
		// or a second tab finds the invitation already used).
		const userId = await db.transaction().execute(async (trx) => {
			const id = await createUser(trx, {
				email: inv.email,
				firstName: parsed.data.firstName,
				lastName: parsed.data.lastName,
				profession: inv.profession,
				password: parsed.data.password
			});
			const membershipId = await acceptInvitation(trx, inv.id, id);
			if (!membershipId) throw new Error('invitation already used');
			return id;
		}).catch(() => null);
		if (!userId) return formError(410, t.invitation.invalid);
		await audit(db, { ...ctx, actorId: userId }, {
			action: 'invitation.accepted',
			targetType: 'user',
			targetId: userId,
			microstructureId: inv.microstructure_id,
			networkId: inv.network_id,
			details: { invitationId: inv.id, newAccount: true }
		});
		const token = generateSessionToken();
		const session = await createSession(db, token, userId, { twoFactorVerified: false, ip: ctx.ip, userAgent: ctx.userAgent });
		const secure = event.url.protocol === 'https:';
		event.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(session.expiresAt, secure));
		// The invitation link proves the e-mail: a role that requires a second factor enrols it now.
		if (requiresTwoFactor(await loadActor(db, userId))) {
			await allowEnrolment(db, session.id);
			redirect(303, '/2fa/setup');
		}
		await rememberDevice(db, event.cookies, userId, secure);
		redirect(303, destination(inv));
	}
};
