import type { Page } from '@playwright/test';
import * as devalue from 'devalue';
import { io as ioClient } from 'socket.io-client';
import { expect, test, expectAxeClean, newUserPage, signIn, signInCoordinator, submit, totpFor } from './helpers';
import { messages } from '../../src/lib/i18n/index.ts';

test('oversized and malformed requests are refused and the server stays up', async ({ request, baseURL }) => {
	// Past the limit: a message attachment's 10 MB and its envelope.
	const huge = 'x'.repeat(12 * 1024 * 1024);
	const big = await request.post('/login', {
		headers: { origin: baseURL!, 'content-type': 'application/x-www-form-urlencoded' },
		data: `email=a%40b.fr&password=${huge}`,
		failOnStatusCode: false
	});
	expect(big.status()).toBe(413);
	// The same without a length announced (chunked): cut at the limit, still a 413.
	const chunk = new TextEncoder().encode('x'.repeat(1024 * 1024));
	let sent = 0;
	const stream = new ReadableStream({
		pull(controller) {
			if (sent++ === 0) controller.enqueue(new TextEncoder().encode('email=a%40b.fr&password='));
			else if (sent > 13) controller.close();
			else controller.enqueue(chunk);
		}
	});
	const chunked = await fetch(`${baseURL}/login`, { method: 'POST', headers: { origin: baseURL!, 'content-type': 'application/x-www-form-urlencoded' }, body: stream, duplex: 'half' } as RequestInit);
	expect(chunked.status).toBe(413);
	expect(await chunked.text()).toContain('Requête trop volumineuse');
	const junk = await request.post('/login', {
		headers: { origin: baseURL!, 'content-type': 'application/x-www-form-urlencoded' },
		data: 'email=%E0%A4%A&password',
		failOnStatusCode: false
	});
	expect(junk.status()).toBeLessThan(500);
	const foreign = await request.post('/login', {
		headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
		data: 'email=a%40b.fr&password=x',
		failOnStatusCode: false
	});
	expect(foreign.status()).toBe(403);
	expect(await foreign.text()).toContain('Requête refusée\u00a0: elle ne vient pas de cette application.');
	// No Origin at all (a form posted by a script elsewhere), answered as the enhanced form expects.
	const originless = await fetch(`${baseURL}/login`, {
		method: 'POST',
		headers: { 'content-type': 'multipart/form-data; boundary=x', accept: 'application/json' },
		body: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.fr\r\n--x--\r\n'
	});
	expect(originless.status).toBe(403);
	expect(await originless.json()).toEqual({ type: 'error', error: { message: 'Requête refusée\u00a0: elle ne vient pas de cette application. Rechargez la page et réessayez.' } });
	// A method the address does not take: French, with what it does take.
	const wrongMethod = await request.fetch('/healthz', { method: 'POST', headers: { origin: baseURL!, 'content-type': 'application/json' }, data: '{}', failOnStatusCode: false });
	expect(wrongMethod.status()).toBe(405);
	expect(wrongMethod.headers()['allow']).toContain('GET');
	expect(await wrongMethod.text()).toContain('Cette adresse n’accepte pas ce type de requête.');
	const deleted = await request.fetch('/login', { method: 'DELETE', headers: { origin: baseURL!, accept: 'application/json' }, failOnStatusCode: false });
	expect(deleted.status()).toBe(405);
	expect(await deleted.json()).toEqual({ type: 'error', error: { message: 'Cette adresse n’accepte pas ce type de requête.' } });
	const health = await request.get('/healthz');
	expect(await health.json()).toEqual({ status: 'ok' });
});

test('creating a microstructure with missing and invalid fields answers field by field in French', async ({ page }) => {
	await signInCoordinator(page, 'helene.roy');
	await page.goto('/admin');
	await expectAxeClean(page);
	await page.getByRole('link', { name: 'Réseau Microstructures Bas-Rhin' }).click();
	await page.getByLabel('MSMA — addictions').uncheck();
	await page.getByLabel('Code postal').fill('6700');
	await submit(page, 'Créer une microstructure');
	await expect(page.getByRole('alert')).toHaveText('Le formulaire contient des erreurs : corrigez les champs signalés.');
	await expect(page.getByText('Cochez au moins un programme.')).toBeVisible();
	await expect(page.getByText('Code postal à 5 chiffres.')).toBeVisible();
	await expect(page.getByRole('textbox', { name: 'Nom de la microstructure' })).toHaveAttribute('aria-invalid', 'true');

	await page.getByRole('textbox', { name: 'Nom de la microstructure' }).fill('Cabinet de la Robertsau');
	await page.getByLabel('MSPC — post-Covid').check();
	await page.getByLabel('Code postal').fill('67000');
	await page.getByLabel('Ville').fill('Strasbourg');
	await submit(page, 'Créer une microstructure');
	await expect(page.getByRole('status')).toHaveText('Microstructure créée.');
	await expect(page.getByRole('main').getByRole('link', { name: 'Cabinet de la Robertsau', exact: true })).toBeVisible();
});

test('a network administrator sees sign-in failures in the audit log, filtered', async ({ page, browser }) => {
	const intruder = await (await browser.newContext()).newPage();
	await signIn(intruder, 'emilie.wagner', 'essai-au-hasard');
	await expect(intruder.getByRole('alert')).toBeVisible();

	await signInCoordinator(page, 'anne.legoff');
	// A medical coordinator is not a network administrator: no audit log.
	const refused = await page.goto('/admin/audit');
	expect(refused?.status()).toBe(404);

	const admin = await (await browser.newContext()).newPage();
	const secret = await signInCoordinator(admin, 'admin');
	await admin.goto('/admin/audit');
	await admin.getByLabel('Action').selectOption({ label: 'Échec de connexion' });
	await admin.getByRole('button', { name: 'Filtrer' }).click();
	await expect(admin.getByRole('row').filter({ hasText: 'emilie.wagner@demo.microstructures.fr' }).first()).toBeVisible();
	await expect(admin.getByRole('row').filter({ hasText: 'Connexion' }).filter({ hasNotText: 'Échec' })).toHaveCount(0);
	await expectAxeClean(admin);
	expect(totpFor(secret)).toMatch(/^\d{6}$/);
});

test('login is throttled per account with a clear French message', async ({ page }) => {
	for (let i = 0; i < 5; i++) {
		await signIn(page, 'francois.hoffmann', `mauvais-${i}`);
		await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	}
	await signIn(page, 'francois.hoffmann');
	await expect(page.getByRole('alert')).toHaveText('Trop de tentatives pour ce compte depuis cette connexion. Réessayez dans 1 min.');
});

/** Inès signed in; her microstructure and one of her patients. */
async function inesWithPatient(browser: import('@playwright/test').Browser) {
	const page = await newUserPage(browser, 'ines.haddad');
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(page).toHaveURL(/\/ms\/[0-9a-f-]{36}$/);
	const msId = new URL(page.url()).pathname.split('/').pop()!;
	await page.goto(`/ms/${msId}/patients`);
	await page.getByRole('main').getByRole('link', { name: /P-[A-Z0-9]{4}-[A-Z0-9]{4}/ }).first().click();
	await expect(page).toHaveURL(/\/patients\/[0-9a-f-]{36}$/);
	return { page, msId, patientPath: new URL(page.url()).pathname };
}

/** A form post as `use:enhance` sends it; the ActionResult's status and French message. */
async function enhancedPost(page: Page, url: string, form: string, baseURL: string) {
	const response = await page.request.post(url, {
		headers: { origin: baseURL, accept: 'application/json', 'x-sveltekit-action': 'true', 'content-type': 'application/x-www-form-urlencoded' },
		data: form,
		failOnStatusCode: false
	});
	expect(response.status()).toBeLessThan(500);
	const result = await response.json();
	const data = result.data ? devalue.parse(result.data) : null;
	return { type: result.type as string, status: (result.status ?? response.status()) as number, data, error: result.error };
}

test('the attacker’s malformed posts get a French 400 and store nothing', async ({ browser, baseURL }) => {
	const { page, msId, patientPath } = await inesWithPatient(browser);

	// A NUL byte in a text field (PostgreSQL refuses it in text: it used to be a 500).
	const nul = await enhancedPost(page, `${patientPath}?/flag`, 'question=Pourquoi%00%20?', baseURL!);
	expect(nul).toMatchObject({ type: 'failure', status: 400 });
	expect(nul.data.errors.question).toBe('Ce champ contient des caractères non autorisés (caractères de contrôle ou mal encodés).');
	// Another control character, in a plain (not enhanced) post: the page answers 400, in French.
	const plain = await page.request.post(`${patientPath}?/partnerAdd`, {
		headers: { origin: baseURL!, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
		data: 'name=Dr%1B%5B31mX&role=Addictologue',
		failOnStatusCode: false
	});
	expect(plain.status()).toBe(400);
	expect(await plain.text()).toContain('caractères non autorisés');

	// A pathway step looked up by a prototype key.
	const proto = await enhancedPost(page, `${patientPath}?/pathway`, 'kind=__proto__&on=2026-01-05', baseURL!);
	expect(proto).toMatchObject({ type: 'failure', status: 400 });
	expect(proto.data.message).toBe('Choisissez une valeur dans la liste.');

	// Impossible dates in an RCP series are refused, not rolled over to March or to year 10007.
	await page.goto(`/ms/${msId}/rcp`);
	const seriesBefore = await page.locator('section[aria-labelledby="series-title"] li').count();
	for (const startsOn of ['2027-02-30', '2027-13-45', '9999-99-99', '9999-12-31']) {
		const series = await enhancedPost(page, `/ms/${msId}/rcp?/series`, `title=RCP&pattern=mensuel&nth=1&weekday=TU&startTime=12%3A30&endTime=14%3A00&startsOn=${startsOn}`, baseURL!);
		expect(series, startsOn).toMatchObject({ type: 'failure', status: 400 });
		expect(series.data.errors.startsOn, startsOn).toMatch(/^(Date invalide\.|Date hors des limites acceptées\.)$/);
	}
	const session = await enhancedPost(page, `/ms/${msId}/rcp?/session`, 'title=RCP&date=2027-02-30&startTime=12%3A30&endTime=14%3A00', baseURL!);
	expect(session.data.errors.date).toBe('Date invalide.');
	await page.reload();
	expect(await page.locator('section[aria-labelledby="series-title"] li').count()).toBe(seriesBefore);

	// A body that cannot be read (broken multipart, stray '%'), on sign-in and on an action.
	for (const [url, type, body] of [
		['/login', 'multipart/form-data; boundary=----x', '------x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.fr'],
		['/login', 'multipart/form-data', 'garbage'],
		['/login', 'text/plain', 'email=a@b.fr'],
		[`${patientPath}?/flag`, 'application/x-www-form-urlencoded', 'question=%E0%A4%A'],
		[`${patientPath}?/flag`, 'application/x-www-form-urlencoded', 'question=%ED%A0%80']
	]) {
		const html = await page.request.post(url, { headers: { origin: baseURL!, 'content-type': type, accept: 'text/html' }, data: body, failOnStatusCode: false });
		expect(html.status(), `${url} ${type} ${body}`).toBe(400);
		expect(await html.text()).toContain('Requête illisible');
		const json = await page.request.post(url, { headers: { origin: baseURL!, 'content-type': type, accept: 'application/json', 'x-sveltekit-action': 'true' }, data: body, failOnStatusCode: false });
		expect(json.status()).toBe(400);
		expect(await json.json()).toEqual({ type: 'error', error: { message: messages('fr').common.badRequest } });
	}
	// An action name inherited from Object.prototype.
	const inherited = await page.request.post(`${patientPath}?/constructor`, { headers: { origin: baseURL!, 'content-type': 'application/x-www-form-urlencoded' }, data: 'a=b', failOnStatusCode: false });
	expect(inherited.status()).toBe(404);
	expect((await page.request.get('/healthz')).status()).toBe(200);
});

test('over socket.io, a NUL or a lone surrogate is an invalid request, not a server error', async ({ browser, baseURL }) => {
	const page = await newUserPage(browser, 'ines.haddad');
	const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
	const socket = ioClient(baseURL!, { transports: ['websocket'], extraHeaders: { cookie, origin: baseURL! }, reconnection: false, forceNew: true });
	await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
	const id = '00000000-0000-4000-8000-000000000000';
	for (const detail of ['CSAPA\u0000', 'CSAPA \ud83d', 'CSAPA\u001b']) {
		const ack = await socket.timeout(5000).emitWithAck('rcp:decide', { sessionId: id, itemId: id, decision: { kind: 'reorientation', detail } });
		expect(ack).toEqual({ ok: false, error: 'Requête invalide.' });
	}
	expect(await socket.timeout(5000).emitWithAck('ms:join', { microstructureId: `${id}\u0000` })).toEqual({ ok: false, error: 'Requête invalide.' });
	socket.disconnect();
});
