// This device's Web Push subscription: GET gives the server's public key to subscribe with (the
// keys are generated on first use here, not by the account page, whose load writes nothing),
// POST records the subscription for the signed-in person, DELETE forgets it.
// JSON only (a cross-site page cannot send it without a CORS preflight, which this route does not
// answer), and the Origin must be ours.
import { json, type RequestEvent } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { requireActor } from '$lib/server/request';
import { removePushSubscription, savePushSubscription, vapidKeys } from '$lib/server/messaging/push';

const MAX_BODY = 4096;

async function readJson(event: RequestEvent): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
	const refuse = (status: number, error: string) => ({ ok: false as const, response: json({ error }, { status }) });
	if (event.request.headers.get('origin') !== event.url.origin) return refuse(403, 'Requête refusée.');
	if (!(event.request.headers.get('content-type') ?? '').startsWith('application/json')) return refuse(415, 'Requête invalide.');
	const text = await event.request.text();
	if (text.length > MAX_BODY) return refuse(413, 'Requête trop volumineuse.');
	try {
		return { ok: true, body: JSON.parse(text) };
	} catch {
		return refuse(400, 'Requête invalide.');
	}
}

export async function GET(event) {
	requireActor(event);
	return json({ publicKey: (await vapidKeys(getDb())).publicKey });
}

export async function POST(event) {
	const { user } = requireActor(event);
	const read = await readJson(event);
	if (!read.ok) return read.response;
	const saved = await savePushSubscription(getDb(), user.id, read.body);
	return saved.ok ? json({ ok: true }) : json({ error: saved.error }, { status: 400 });
}

export async function DELETE(event) {
	const { user } = requireActor(event);
	const read = await readJson(event);
	if (!read.ok) return read.response;
	await removePushSubscription(getDb(), user.id, (read.body as { endpoint?: unknown } | null)?.endpoint);
	return json({ ok: true });
}
