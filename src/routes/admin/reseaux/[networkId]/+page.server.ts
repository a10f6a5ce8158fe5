import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { getNetwork } from '$lib/server/org/networks';
import { createMicrostructure } from '$lib/server/org/microstructures';
import { listNetworkMembers } from '$lib/server/org/memberships';
import { listPendingInvitations } from '$lib/server/org/invitations';
import { endMembershipAction, inviteAction, revokeInvitationAction } from '$lib/server/org/member-actions';
import { audit } from '$lib/server/audit/audit';
import { auditContext, notFound, requireActor } from '$lib/server/request';
import { choice, choices, optionalText, parseForm, text } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { NETWORK_ROLES } from '$lib/professions';
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
	programmes: choices(['MSMA', 'MSPC']).min(1, { error: 'errors.programmes' }),
	practiceKind: choice(['cabinet', 'msp', 'centre_de_sante']),
	city: text(120),
	address: optionalText(200),
	postalCode: optionalText(5).refine((v) => v === '' || /^\d{5}$/.test(v), { error: 'errors.postalCode' }),
	rooms: optionalText(1000)
});

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
		return inviteAction(event, actor.userId, { name: network.name, networkId: network.id }, NETWORK_ROLES);
	},
	end: async (event) => {
		const { actor, network } = await networkFor(event, 'network.manage');
		return endMembershipAction(event, actor.userId, { name: network.name, networkId: network.id });
	},
	revoke: async (event) => {
		const { network } = await networkFor(event, 'network.manage');
		return revokeInvitationAction(event, { name: network.name, networkId: network.id });
	}
};
