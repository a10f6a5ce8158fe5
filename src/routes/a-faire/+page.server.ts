import { getDb } from '$lib/server/db';
import { listVisibleMicrostructures } from '$lib/server/org/microstructures';
import { todoForActor } from '$lib/server/patients/patients';
import { parisToday } from '$lib/server/patients/lifecycle';
import { audit } from '$lib/server/audit/audit';
import { auditContext, requireActor } from '$lib/server/request';

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const visible = await listVisibleMicrostructures(db, actor);
	const refs = visible.map((m) => ({ id: m.id, networkId: m.network_id }));
	const items = await todoForActor(db, actor, refs, parisToday());
	await audit(db, auditContext(event), { action: 'patient.todo', targetType: 'user', targetId: actor.userId, details: { count: items.length } });
	const names = new Map(visible.map((m) => [m.id, m.name]));
	return { items: items.map((i) => ({ ...i, microstructureName: names.get(i.microstructureId) ?? '' })) };
}
