import { getDb } from '$lib/server/db';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { auditContext, notFound } from '$lib/server/request';
import { loadNirKeys } from '$lib/server/patients/nir';
import { runCsv } from '$lib/server/billing/runs';

// The run's CSV, with the NIR in clear: for the administrative coordination only, audited.
export async function GET(event) {
	const { user, network } = await cockpitNetwork(event, 'billing.manage');
	if (!/^[0-9a-f-]{36}$/i.test(event.params.runId)) notFound();
	const csv = await runCsv(getDb(), { ...auditContext(event), actorId: user.id }, network.id, event.params.runId, loadNirKeys());
	if (!csv) notFound();
	return new Response(csv.body, {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="${csv.filename}"`,
			'cache-control': 'no-store'
		}
	});
}
