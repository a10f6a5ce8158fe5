import { error } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { auditAll } from '$lib/server/audit/audit';
import { sessionOf } from '$lib/server/rcp/guard';
import { compteRendu, compteRenduPdf } from '$lib/server/rcp/report';
import { messages } from '$lib/i18n';

export async function GET(event) {
	const { session, ms, access, ref, ctx } = await sessionOf(event);
	if (session.status !== 'cloturee') error(404, { message: 'Page introuvable' });
	const report = await compteRendu(getDb(), session, ms.name, event.locals.locale, access.level === 'team' ? null : (ref.guestItems ?? []));
	await auditAll(getDb(), ctx, report.state.items.filter((i) => i.patientId).map((i) => ({ action: 'patient.read', targetType: 'patient', targetId: i.patientId!, microstructureId: ms.id, networkId: ms.network_id, details: { purpose: 'rcp_minutes_pdf' } })));
	const pdf = await compteRenduPdf(report, messages(event.locals.locale), event.locals.locale);
	const day = session.starts_at.toISOString().slice(0, 10);
	return new Response(new Uint8Array(pdf), {
		headers: { 'content-type': 'application/pdf', 'content-disposition': `inline; filename="compte-rendu-rcp-${day}.pdf"`, 'cache-control': 'no-store' }
	});
}
