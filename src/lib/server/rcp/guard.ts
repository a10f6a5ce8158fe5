// Loads what an RCP page or action needs, answering 404 — never "forbidden" — when the actor may
// not see the microstructure's RCPs or the session, so that guessing ids reveals nothing.
import { error, type RequestEvent } from '@sveltejs/kit';
import { can, rcpAccess, type Action } from '../access/policy.ts';
import { getDb } from '../db/index.ts';
import { getMicrostructure } from '../org/microstructures.ts';
import { auditContext, requireActor } from '../request.ts';
import { getSession, resolveRcpSession } from './sessions.ts';

export async function rcpOf(event: RequestEvent, action: Action = 'rcp.view') {
	const { user, actor } = requireActor(event);
	const ms = await getMicrostructure(getDb(), event.params.msId ?? '');
	const ref = ms ? { id: ms.id, networkId: ms.network_id } : null;
	if (!ms || !ref || !can(actor, 'rcp.view', { microstructure: ref })) error(404, { message: 'Page introuvable' });
	if (action !== 'rcp.view' && !can(actor, action, { microstructure: ref })) error(403, { message: "Vous n'avez pas l'autorisation de faire cela." });
	return { user, actor, ms, ref, ctx: { ...auditContext(event), actorId: user.id } };
}

/** A session of the microstructure in the URL, for its team or an invited guest. */
export async function sessionOf(event: RequestEvent) {
	const { user, actor } = requireActor(event);
	const db = getDb();
	const session = await getSession(db, event.params.sessionId ?? '');
	const ref = session ? await resolveRcpSession(db, session.id, user.id) : null;
	if (!session || !ref || session.microstructure_id !== event.params.msId) error(404, { message: 'Page introuvable' });
	const access = rcpAccess(actor, ref);
	if (access.level === 'none') error(404, { message: 'Page introuvable' });
	const ms = await getMicrostructure(db, session.microstructure_id);
	if (!ms) error(404, { message: 'Page introuvable' });
	return { user, actor, session, ref, access, ms, msRef: ref.microstructure, ctx: { ...auditContext(event), actorId: user.id } };
}
