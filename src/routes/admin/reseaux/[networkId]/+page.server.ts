import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { getNetwork } from '$lib/server/org/networks';
import { createMicrostructure } from '$lib/server/org/microstructures';
import { endMembership, getMembership, listNetworkMembers } from '$lib/server/org/memberships';
import { listPendingInvitations, revokeInvitation } from '$lib/server/org/invitations';
import { invite, isActiveMember } from '$lib/server/org/invite';
import { audit } from '$lib/server/audit/audit';
import { reauthorizeUser } from '$lib/server/realtime/attach';
import { auditContext, notFound, requireActor } from '$lib/server/request';
import { choice, email, formError, optionalText, parseForm, text } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { NETWORK_ROLES, PROFESSIONS } from '$lib/professions';
import type { RequestEvent } from './$types';

async function networkFor(event: RequestEvent, action: 'network.view' | 'network.manage') {
	const { actor } = requireActor(event);
	const network = await getNetwork(getDb(), event.params.networkId);
	if (!network || !can(actor, 'network.view', { networkId: network.id })) notFound();
	if (action === 'network.manage' && !can(actor, 'network.manage', { networkId: network.id })) notFound();
	return { actor, network };
}

export async function load(event) {
	const { actor, network } = await networkFor(event, 'network.view');
	const db = getDb();
	const manageable = can(actor, 'network.manage', { networkId: network.id });
	const [microstructures, members, invitations] = await Promise.all([
		db.selectFrom('microstructure').select(['id', 'name', 'city', 'programmes', 'practice_kind']).where('network_id', '=', network.id).where('archived_at', 'is', null).orderBy('name').execute(),
		listNetworkMembers(db, network.id),
		manageable ? listPendingInvitations(db, { networkId: network.id }) : Promise.resolve([])
	]);
	return { network, microstructures, members, invitations, manageable };
}

const msSchema = z.object({
	name: text(120),
	programmes: z.array(z.enum(['MSMA', 'MSPC'])).min(1, { error: 'errors.programmes' }).max(2),
	practiceKind: choice(['cabinet', 'msp', 'centre_de_sante']),
	city: text(120),
	address: optionalText(200),
	postalCode: optionalText(5).refine((v) => v === '' || /^\d{5}$/.test(v), { error: 'errors.postalCode' }),
	rooms: optionalText(1000)
});
const inviteSchema = z.object({ firstName: text(100), lastName: text(100), email: email(), profession: choice(PROFESSIONS), role: choice(NETWORK_ROLES) });
const idSchema = z.object({ id: z.uuid() });

export const actions = {
	createMicrostructure: async (event) => {
		const { network } = await networkFor(event, 'network.manage');
		const t = messages(event.locals.locale);
		const parsed = parseForm(msSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const db = getDb();
		const rooms = d.rooms.split('\n').map((r) => r.trim()).filter(Boolean).slice(0, 30);
		const id = await createMicrostructure(db, {
			networkId: network.id,
			name: d.name,
			programmes: d.programmes,
			practiceKind: d.practiceKind,
			city: d.city,
			site: { name: d.name, address: d.address, postalCode: d.postalCode, city: d.city, rooms }
		});
		await audit(db, auditContext(event), { action: 'microstructure.created', targetType: 'microstructure', targetId: id, microstructureId: id, networkId: network.id, details: { name: d.name } });
		return { success: t.admin.msCreated };
	},
	invite: async (event) => {
		const { actor, network } = await networkFor(event, 'network.manage');
		const t = messages(event.locals.locale);
		const parsed = parseForm(inviteSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const db = getDb();
		if (await isActiveMember(db, d.email, { networkId: network.id })) {
			return formError(400, t.members.alreadyMember, d, { email: t.members.alreadyMember });
		}
		const result = await invite(db, auditContext(event), { ...d, networkId: network.id, invitedBy: actor.userId, placeName: network.name, networkIdForAudit: network.id, origin: event.url.origin });
		return result.emailed ? { success: fill(t.members.invitationSent, { email: d.email }) } : { success: fill(t.members.invitationLink, { email: d.email }), link: result.link };
	},
	end: async (event) => {
		const { actor, network } = await networkFor(event, 'network.manage');
		const t = messages(event.locals.locale);
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const membership = await getMembership(db, parsed.data.id);
		if (!membership || membership.network_id !== network.id) return formError(404, t.common.notFound);
		if (!(await endMembership(db, membership.id, actor.userId))) return formError(400, t.members.alreadyEnded);
		await audit(db, auditContext(event), { action: 'membership.ended', targetType: 'user', targetId: membership.user_id, networkId: network.id, details: { membershipId: membership.id, role: membership.role } });
		await reauthorizeUser(membership.user_id);
		return { success: t.members.ended };
	},
	revoke: async (event) => {
		const { network } = await networkFor(event, 'network.manage');
		const t = messages(event.locals.locale);
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		if (!(await revokeInvitation(db, parsed.data.id, { networkId: network.id }))) return formError(404, t.common.notFound);
		await audit(db, auditContext(event), { action: 'invitation.revoked', targetType: 'invitation', targetId: parsed.data.id, networkId: network.id });
		return { success: t.members.revoked };
	}
};
