// Actions decided in RCP, as their owners see them on the "À faire" list.
import type { Db } from '../db/index.ts';
import { can, type Actor } from '../access/policy.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';

/** The actor's open actions, on patients they may still see. */
export async function openActionsFor(db: Db, actor: Actor) {
	const rows = await db
		.selectFrom('rcp_action as a')
		.innerJoin('patient as p', 'p.id', 'a.patient_id')
		.innerJoin('microstructure as ms', 'ms.id', 'p.microstructure_id')
		.innerJoin('rcp_item as i', 'i.id', 'a.item_id')
		.innerJoin('rcp_session as s', 's.id', 'i.session_id')
		.select(['a.id', 'a.what', 'a.due_on', 'p.id as patient_id', 'p.code', 'ms.id as ms_id', 'ms.network_id', 'ms.name as ms_name', 's.starts_at'])
		.where('a.owner_id', '=', actor.userId)
		.where('a.done_at', 'is', null)
		.orderBy('a.due_on', (ob) => ob.asc().nullsLast())
		.execute();
	return rows.filter((r) => can(actor, 'patient.read', { microstructure: { id: r.ms_id, networkId: r.network_id } }));
}

export async function markActionDone(db: Db, ctx: AuditContext & { actorId: string }, actionId: string): Promise<boolean> {
	if (!isUuid(actionId)) return false;
	const done = await db
		.updateTable('rcp_action')
		.set({ done_at: new Date(), done_by: ctx.actorId })
		.where('id', '=', actionId)
		.where('owner_id', '=', ctx.actorId)
		.where('done_at', 'is', null)
		.returning('patient_id')
		.executeTakeFirst();
	if (!done) return false;
	await audit(db, ctx, { action: 'rcp.action_done', targetType: 'patient', targetId: done.patient_id, details: { actionId } });
	return true;
}
