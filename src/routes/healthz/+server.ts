import { json } from '@sveltejs/kit';
import { sql } from 'kysely';
import { getDb } from '$lib/server/db';
import { liveAvailable } from '$lib/server/live';

// Readiness, for load balancers and CI: the database answers and, with several processes, Redis is
// reachable (without it this process refuses live connections: a balancer should send them elsewhere).
export async function GET() {
	if (!liveAvailable()) return json({ status: 'redis unavailable' }, { status: 503 });
	try {
		await sql`select 1`.execute(getDb());
		return json({ status: 'ok' });
	} catch {
		return json({ status: 'database unavailable' }, { status: 503 });
	}
}
