import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { auditAll } from '$lib/server/audit/audit';
import { sessionOf } from '$lib/server/rcp/guard';
import { compteRendu } from '$lib/server/rcp/report';
import { sharingPatients } from '$lib/server/messaging/links';

export async function load(event) {
	const { session, ms, access, ref, ctx } = await sessionOf(event);
	if (session.status !== 'cloturee') redirect(303, `/ms/${ms.id}/rcp/${session.id}`);
	const report = await compteRendu(getDb(), session, ms.name, event.locals.locale, access.level === 'team' ? null : (ref.guestItems ?? []));
	await auditAll(getDb(), ctx, report.state.items.filter((i) => i.patientId).map((i) => ({ action: 'patient.read', targetType: 'patient', targetId: i.patientId!, microstructureId: ms.id, networkId: ms.network_id, details: { purpose: 'rcp_minutes' } })));
	// "Partager dans le fil de l'équipe" on the cases whose patient's thread the reader may write in.
	const discussed = report.state.items.filter((i) => i.patientId && i.decision).map((i) => i.patientId!);
	const sharing = access.level === 'team' ? await sharingPatients(getDb(), event.locals.actor!, discussed) : new Set<string>();
	return { ms: { id: ms.id, name: ms.name }, sessionId: session.id, report, team: access.level === 'team', sharing: [...sharing] };
}
