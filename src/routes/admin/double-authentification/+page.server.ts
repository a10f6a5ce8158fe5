// Resetting a lost second factor (and giving an activation code when no e-mail can reach the
// person). Who may act on whom is decided by the policy (canResetSecondFactor).
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can, canResetSecondFactor, loadActor, networksOf, type Actor } from '$lib/server/access/policy';
import { issueEnrolmentCode, resetSecondFactor } from '$lib/server/auth/enrolment';
import { findUserByEmail, getUser } from '$lib/server/org/users';
import { disconnectUser } from '$lib/server/live';
import { auditContext, notFound, requireActor } from '$lib/server/request';
import { email, formError, parseForm } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import type { RequestEvent } from './$types';

/** The page is for the platform administrator and the networks' administrators. */
function requireAdministrator(event: RequestEvent): Actor {
	const { actor } = requireActor(event);
	if (!actor.platformAdmin && !actor.networks.some((n) => can(actor, 'user.reset_second_factor', { networkId: n.id }))) notFound();
	return actor;
}

/** The account behind an id or an e-mail, when this actor may reset it; undefined otherwise. */
async function resettable(actor: Actor, user: Awaited<ReturnType<typeof getUser>>) {
	if (!user) return undefined;
	const target = await loadActor(getDb(), user.id);
	const allowed = canResetSecondFactor(actor, { userId: user.id, platformAdmin: user.platform_admin, networkIds: networksOf(target) });
	return allowed ? user : undefined;
}

const idSchema = z.object({ id: z.uuid() });

export async function load(event) {
	const actor = requireAdministrator(event);
	const query = event.url.searchParams.get('email');
	if (query === null) return { query: '', found: null, searched: false };
	const parsed = email().safeParse(query);
	if (!parsed.success) return { query: query.slice(0, 254).toWellFormed(), found: null, searched: true };
	const user = await resettable(actor, await findUserByEmail(getDb(), parsed.data));
	return {
		query: parsed.data,
		searched: true,
		found: user
			? { id: user.id, name: `${user.first_name} ${user.last_name}`, email: user.email, twoFactorEnabled: user.totp_key !== null }
			: null
	};
}

async function targetOf(event: RequestEvent, actor: Actor) {
	const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
	if (!parsed.ok) return null;
	return (await resettable(actor, await getUser(getDb(), parsed.data.id))) ?? null;
}

export const actions = {
	reset: async (event) => {
		const actor = requireAdministrator(event);
		const t = messages(event.locals.locale);
		const user = await targetOf(event, actor);
		if (!user) return formError(404, t.admin.secondFactor.notFound);
		await resetSecondFactor(getDb(), { ...auditContext(event), actorId: actor.userId }, user.id);
		// Its pages, sockets and live documents close now, in every process.
		await disconnectUser(user.id);
		return { success: fill(t.admin.secondFactor.resetDone, { name: `${user.first_name} ${user.last_name}` }) };
	},
	issueCode: async (event) => {
		const actor = requireAdministrator(event);
		const t = messages(event.locals.locale);
		const user = await targetOf(event, actor);
		if (!user) return formError(404, t.admin.secondFactor.notFound);
		const code = await issueEnrolmentCode(getDb(), { ...auditContext(event), actorId: actor.userId }, user.id);
		return { success: fill(t.admin.secondFactor.codeIssued, { name: `${user.first_name} ${user.last_name}`, code }) };
	}
};
