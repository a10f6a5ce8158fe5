// Loads a microstructure for a page or action, answering 404 when it does not exist or when the
// actor may not see it (existence is not revealed).
import { error } from '@sveltejs/kit';
import { can, type Action, type Actor } from '../access/policy.ts';
import { getDb } from '../db/index.ts';
import { getMicrostructure } from './microstructures.ts';

export async function microstructureFor(actor: Actor, id: string, action: Action = 'microstructure.view') {
	const ms = await getMicrostructure(getDb(), id);
	if (!ms || !can(actor, 'microstructure.view', { microstructure: { id: ms.id, networkId: ms.network_id } })) {
		error(404, { message: 'Page introuvable' });
	}
	if (action !== 'microstructure.view' && !can(actor, action, { microstructure: { id: ms.id, networkId: ms.network_id } })) {
		error(403, { message: "Vous n'avez pas l'autorisation de faire cela." });
	}
	return ms;
}
