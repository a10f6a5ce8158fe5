import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { createNetwork, listNetworksFor } from '$lib/server/org/networks';
import { audit } from '$lib/server/audit/audit';
import { addMembership } from '$lib/server/org/memberships';
import { reauthorizeUser } from '$lib/server/live';
import { auditContext, notFound, requireActor } from '$lib/server/request';
import { formError, optionalText, parseForm, text } from '$lib/server/forms';
import { messages } from '$lib/i18n';

export async function load(event) {
	const { actor } = requireActor(event);
	const networks = (await listNetworksFor(getDb(), actor)).filter((n) => can(actor, 'network.view', { networkId: n.id }));
	if (networks.length === 0 && !actor.platformAdmin) notFound();
	return {
		networks: networks.map((n) => ({ ...n, manageable: can(actor, 'network.manage', { networkId: n.id }) })),
		canCreateNetwork: can(actor, 'network.create'),
		canResetSecondFactors: actor.platformAdmin || networks.some((n) => can(actor, 'user.reset_second_factor', { networkId: n.id }))
	};
}

const networkSchema = z.object({ name: text(120), territory: optionalText(120) });

export const actions = {
	createNetwork: async (event) => {
		const { actor } = requireActor(event);
		const t = messages(event.locals.locale);
		if (!can(actor, 'network.create')) return formError(403, t.errors.forbidden);
		const parsed = parseForm(networkSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const id = await createNetwork(db, parsed.data);
		// Whoever creates a network administers it.
		await addMembership(db, { userId: actor.userId, networkId: id, role: 'admin', createdBy: actor.userId });
		await reauthorizeUser(actor.userId);
		await audit(db, auditContext(event), { action: 'network.created', targetType: 'network', targetId: id, networkId: id, details: { name: parsed.data.name } });
		return { success: t.admin.networkCreated };
	}
};
