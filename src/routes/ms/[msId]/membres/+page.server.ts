import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { listMicrostructureMembers, endMembership, getMembership } from '$lib/server/org/memberships';
import { listPendingInvitations, revokeInvitation } from '$lib/server/org/invitations';
import { invite, isActiveMember } from '$lib/server/org/invite';
import { microstructureFor } from '$lib/server/org/guard';
import { audit } from '$lib/server/audit/audit';
import { reauthorizeUser } from '$lib/server/realtime/attach';
import { auditContext, requireActor } from '$lib/server/request';
import { choice, email, formError, parseForm, text } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { PROFESSIONS } from '$lib/professions';

export async function load(event) {
	const { actor } = requireActor(event);
	const ms = await microstructureFor(actor, event.params.msId, 'microstructure.manage_members');
	const db = getDb();
	const [members, invitations] = await Promise.all([
		listMicrostructureMembers(db, ms.id),
		listPendingInvitations(db, { microstructureId: ms.id })
	]);
	return { ms: { id: ms.id, name: ms.name }, members, invitations };
}

const inviteSchema = z.object({
	firstName: text(100),
	lastName: text(100),
	email: email(),
	profession: choice(PROFESSIONS),
	role: choice(['soignant', 'coordination', 'secretariat'])
});
const idSchema = z.object({ id: z.uuid({ error: 'errors.required' }) });

export const actions = {
	invite: async (event) => {
		const { actor } = requireActor(event);
		const ms = await microstructureFor(actor, event.params.msId, 'microstructure.manage_members');
		const t = messages(event.locals.locale);
		const parsed = parseForm(inviteSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const db = getDb();
		if (await isActiveMember(db, d.email, { microstructureId: ms.id })) {
			return formError(400, t.members.alreadyMember, d, { email: t.members.alreadyMember });
		}
		const result = await invite(db, auditContext(event), {
			...d,
			microstructureId: ms.id,
			invitedBy: actor.userId,
			placeName: ms.name,
			networkIdForAudit: ms.network_id,
			origin: event.url.origin
		});
		return result.emailed
			? { success: fill(t.members.invitationSent, { email: d.email }) }
			: { success: fill(t.members.invitationLink, { email: d.email }), link: result.link };
	},
	end: async (event) => {
		const { actor } = requireActor(event);
		const ms = await microstructureFor(actor, event.params.msId, 'microstructure.manage_members');
		const t = messages(event.locals.locale);
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const membership = await getMembership(db, parsed.data.id);
		if (!membership || membership.microstructure_id !== ms.id) return formError(404, t.common.notFound);
		if (!(await endMembership(db, membership.id, actor.userId))) return formError(400, t.members.alreadyEnded);
		await audit(db, auditContext(event), {
			action: 'membership.ended',
			targetType: 'user',
			targetId: membership.user_id,
			microstructureId: ms.id,
			networkId: ms.network_id,
			details: { membershipId: membership.id, role: membership.role }
		});
		await reauthorizeUser(membership.user_id);
		return { success: t.members.ended };
	},
	revoke: async (event) => {
		const { actor } = requireActor(event);
		const ms = await microstructureFor(actor, event.params.msId, 'microstructure.manage_members');
		const t = messages(event.locals.locale);
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		if (!(await revokeInvitation(db, parsed.data.id, { microstructureId: ms.id }))) return formError(404, t.common.notFound);
		await audit(db, auditContext(event), { action: 'invitation.revoked', targetType: 'invitation', targetId: parsed.data.id, microstructureId: ms.id, networkId: ms.network_id });
		return { success: t.members.revoked };
	}
};
