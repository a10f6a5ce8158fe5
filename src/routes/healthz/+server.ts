import { json } from '@sveltejs/kit';
import { sql } from 'kysely';
import { getDb } from '$lib/server/db';

// Liveness and database reachability, for load balancers and CI.
export async function GET() {
	try {
		await sql`select 1`.execute(getDb());
		return json({ status: 'ok' });
	} catch {
		return json({ status: 'database unavailable' }, { status: 503 });
	}
}
