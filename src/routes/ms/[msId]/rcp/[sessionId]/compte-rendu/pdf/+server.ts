import { error } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { auditAll } from '$lib/server/audit/audit';
import { sessionOf } from '$lib/server/rcp/guard';
import { compteRendu } from '$lib/server/rcp/report';
import { renderResponse } from '$lib/server/render/http';

// The minutes of a closed RCP as a PDF, rendered in a render worker.
export async function GET(event) {
	const { session, ms, access, ref, ctx } = await sessionOf(event);
	if (session.status !== 'cloturee') error(404, { message: 'Page introuvable' });
	const report = await compteRendu(getDb(), session, ms.name, event.locals.locale, access.level === 'team' ? null : (ref.guestItems ?? []));
	await auditAll(getDb(), ctx, report.state.items.filter((i) => i.patientId).map((i) => ({ action: 'patient.read', targetType: 'patient', targetId: i.patientId!, microstructureId: ms.id, networkId: ms.network_id, details: { purpose: 'rcp_minutes_pdf' } })));
	const day = session.starts_at.toISOString().slice(0, 10);
	return renderResponse('minutesPdf', { report, locale: event.locals.locale }, {
		locale: event.locals.locale,
		headers: { 'content-type': 'application/pdf', 'content-disposition': `inline; filename="compte-rendu-rcp-${day}.pdf"`, 'cache-control': 'no-store' }
	});
}
