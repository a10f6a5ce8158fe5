import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { listNetworksFor } from '$lib/server/org/networks';
import { searchAudit } from '$lib/server/audit/audit';
import { notFound, requireActor } from '$lib/server/request';

const PAGE_SIZE = 50;

const filterSchema = z.object({
	network: z.uuid().optional().catch(undefined),
	action: z.string().max(60).regex(/^[a-z0-9_.]*$/).optional().catch(undefined),
	from: z.iso.date().optional().catch(undefined),
	to: z.iso.date().optional().catch(undefined),
	page: z.coerce.number().int().min(0).max(10_000).optional().catch(0)
});

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const networks = (await listNetworksFor(db, actor)).filter((n) => can(actor, 'network.audit', { networkId: n.id }));
	if (networks.length === 0 && !actor.platformAdmin) notFound();
	const f = filterSchema.parse(Object.fromEntries(event.url.searchParams));
	const allowed = networks.map((n) => n.id);
	const networkIds = f.network && allowed.includes(f.network) ? [f.network] : actor.platformAdmin ? 'all' : allowed;
	const page = f.page ?? 0;
	const rows = await searchAudit(db, {
		networkIds,
		action: f.action || undefined,
		from: f.from ? new Date(`${f.from}T00:00:00`) : undefined,
		to: f.to ? new Date(new Date(`${f.to}T00:00:00`).getTime() + 24 * 3600 * 1000) : undefined,
		limit: PAGE_SIZE + 1,
		offset: page * PAGE_SIZE
	});
	return {
		networks: networks.map((n) => ({ id: n.id, name: n.name })),
		filter: { network: f.network ?? '', action: f.action ?? '', from: f.from ?? '', to: f.to ?? '' },
		page,
		hasMore: rows.length > PAGE_SIZE,
		events: rows.slice(0, PAGE_SIZE).map((r) => ({
			id: r.id,
			at: r.at,
			action: r.action,
			target: r.target_type ? `${r.target_type}${r.target_type === 'email' ? ` ${r.target_id}` : ''}` : '',
			who: r.first_name ? `${r.first_name} ${r.last_name}` : null,
			ip: r.ip
		}))
	};
}
