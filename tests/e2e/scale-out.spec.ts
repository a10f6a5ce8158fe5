// Scale-out: two app processes on one PostgreSQL database and one Redis, behind HAProxy balancing
// round-robin without stickiness (scripts/topology.ts). Any process must serve any PPS document and
// any live RCP: people connected to different processes work together as on one, and a kill -9 of
// a process loses nothing it acknowledged, its browsers reconnecting to the other within seconds.
//
// The spec runs its own topology on its own database (msh_e2e_scaleout), not the e2e server; it
// needs DATABASE_URL (the PostgreSQL server) and REDIS_URL, and HAProxy. Alone:
//   npm run build && npx playwright test --project scale-out --no-deps
//
// Browsers are put on a given process by opening that process's own port (the session cookie is
// valid on every port of localhost), or through the load balancer, which names the process that
// answered in an X-Backend header (read from the websocket handshake through the DevTools protocol).
//
// Playwright's plain `test`, not the one of helpers.ts: the phone-layout checks that one adds look
// at pages again after the test, on a topology with a process killed on purpose.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { createDemoDatabase, startTopology, throwawayNirKeys, type Topology } from '../../scripts/topology.ts';
import { ppsWithCamille, signInHome, submit } from './helpers';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const E2E_PORT = process.env.E2E_PORT ?? '4173';
// The load balancer on E2E_PORT + 10, the processes on the next ports: beside the e2e server,
// and runs on other e2e ports (other machines' checkouts, parallel runs) do not collide.
const PORT = Number(process.env.SCALE_OUT_PORT || Number(E2E_PORT) + 10);
const DATABASE = `msh_e2e_scaleout${E2E_PORT !== '4173' ? `_${E2E_PORT}` : ''}`;

/**
 * How soon the survivors must stop showing the people of a killed process. Shorter than the 30 s
 * after which y-protocols' awareness forgets a silent client on its own: a dead process's users
 * are to be removed by the processes still alive, not by the clients' timeout.
 */
const PRESENCE_BOUND_MS = 15_000;
/** "Within seconds": a browser of a killed process is back (and its edits stored) within this. */
const RECONNECT_BOUND_MS = 10_000;

// One after the other in one worker (one topology on fixed ports), but a failure does not skip the
// tests after it: each says what works across processes and what does not.
test.describe.configure({ mode: 'default' });
test.skip(!DATABASE_URL || !REDIS_URL, 'Scale-out needs DATABASE_URL (PostgreSQL) and REDIS_URL: the embedded database is single-process.');

let topology: Topology;
/** The process i (0-based) as a browser reaches it directly. */
const direct = (i: number) => `http://localhost:${topology.backends[i].port}`;

test.beforeAll(async () => {
	// Creating, migrating and seeding a database, then starting two processes, on a busy machine.
	test.setTimeout(240_000);
	const nirKeys = throwawayNirKeys('scaleout');
	const databaseUrl = await createDemoDatabase(DATABASE_URL!, DATABASE, nirKeys);
	topology = await startTopology({ processes: 2, port: PORT, databaseUrl, redisUrl: REDIS_URL!, env: { NIR_KEYS: nirKeys, LOG_LEVEL: 'warn' } });
	console.log(`scale-out: ${topology.url}, processes on ${topology.backends.map((b) => b.port).join(' and ')}, logs in ${topology.logDir}`);
});

test.afterAll(async () => {
	await topology?.stop();
});

// ------------------------------------------------------------------ helpers

/** A person signed in, in a browser of their own whose relative URLs go to `base`. */
async function personOn(browser: Browser, login: string, base: string): Promise<Page> {
	const context = await browser.newContext({ baseURL: base });
	const page = await context.newPage();
	await signInHome(page, login);
	return page;
}

/** The process (HAProxy's server name, app1 or app2) behind each Yjs websocket the page opens through the load balancer. */
async function yjsBackends(page: Page): Promise<(string | null)[]> {
	const served: (string | null)[] = [];
	const urls = new Map<string, string>();
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Network.enable');
	cdp.on('Network.webSocketCreated', ({ requestId, url }) => urls.set(requestId, url));
	cdp.on('Network.webSocketHandshakeResponseReceived', ({ requestId, response }) => {
		if (!urls.get(requestId)?.includes('/yjs/')) return;
		const header = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'x-backend');
		served.push(header ? String(header[1]) : null);
	});
	return served;
}

/** HAProxy's server name of the process i. */
const serverName = (i: number) => `app${i + 1}`;

const presence = (page: Page) => page.getByRole('list', { name: 'Personnes sur ce PPS' });

/** A Paris calendar day, today. */
function parisToday(): string {
	return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
}

// ------------------------------------------------------------------ the tests

test('the load balancer spreads requests over both processes, with no stickiness', async ({ request }) => {
	const served = new Set<string>();
	for (let i = 0; i < 4; i++) {
		const response = await request.get(`${topology.url}/login`);
		expect(response.status()).toBe(200);
		served.add(response.headers()['x-backend']);
	}
	expect([...served].sort()).toEqual(['app1', 'app2']);
});

test('two people on different processes co-edit one PPS; a newcomer through the load balancer sees both edits', async ({ browser }) => {
	test.slow();
	const ines = await personOn(browser, 'ines.haddad', direct(0));
	const pps = await ppsWithCamille(ines, 'Deuxprocessus');
	const camille = await personOn(browser, 'camille.durand', direct(1));
	await camille.goto(pps);
	for (const page of [ines, camille]) await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');

	// Presence crosses processes.
	for (const page of [ines, camille]) {
		await expect(presence(page)).toContainText('Inès Haddad');
		await expect(presence(page)).toContainText('Camille Durand');
	}

	// Each types in her own field, on her own process; each sees the other's words live.
	await ines.getByTestId('pps-goals').click();
	await ines.keyboard.type('Ne plus boire le matin.');
	await camille.getByTestId('pps-crisis').click();
	await camille.keyboard.type('Appeler le cabinet ou le 15.');
	await expect(camille.getByTestId('pps-goals')).toContainText('Ne plus boire le matin.', { timeout: 5000 });
	await expect(ines.getByTestId('pps-crisis')).toContainText('Appeler le cabinet ou le 15.', { timeout: 5000 });
	// A list item added on one process appears on the other.
	await camille.getByRole('button', { name: 'Ajouter une action' }).click();
	await camille.getByRole('textbox', { name: 'Action', exact: true }).fill('Entretien motivationnel');
	await expect(ines.getByRole('textbox', { name: 'Action', exact: true })).toHaveValue('Entretien motivationnel', { timeout: 5000 });
	for (const page of [ines, camille]) await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');

	// Newcomers (a colleague who reads) open it through the load balancer, in fresh browsers (no local
	// copy), until each process has served one of them: wherever they land, they see both edits.
	const paul = await personOn(browser, 'paul.schmitt', topology.url);
	const cookies = await paul.context().storageState();
	const landed = new Set<string>();
	for (let attempt = 0; attempt < 8 && landed.size < 2; attempt++) {
		const context = await browser.newContext({ baseURL: topology.url, storageState: cookies });
		const page = await context.newPage();
		const served = await yjsBackends(page);
		await page.goto(pps);
		await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');
		await expect.poll(() => served.length, { message: 'the newcomer’s Yjs websocket was answered' }).toBeGreaterThan(0);
		const backend = served.at(-1);
		expect(backend, 'HAProxy names the process behind a websocket').toMatch(/^app[12]$/);
		await expect(page.getByTestId('pps-goals'), `newcomer on ${backend}`).toContainText('Ne plus boire le matin.');
		await expect(page.getByTestId('pps-crisis'), `newcomer on ${backend}`).toContainText('Appeler le cabinet ou le 15.');
		await expect(page.getByRole('textbox', { name: 'Action', exact: true }), `newcomer on ${backend}`).toHaveValue('Entretien motivationnel');
		await expect(presence(page), `newcomer on ${backend}`).toContainText('Camille Durand');
		await expect(presence(page), `newcomer on ${backend}`).toContainText('Inès Haddad');
		// Round-robin: a page load makes a fixed number of requests, so with an even number every
		// newcomer's websocket would reach the same process. One request more shifts the turn.
		if (landed.has(backend!)) await fetch(`${topology.url}/healthz`);
		landed.add(backend!);
		await context.close();
	}
	expect([...landed].sort(), 'newcomers landed on both processes').toEqual(['app1', 'app2']);
	await paul.context().close();
	await ines.context().close();
	await camille.context().close();
});

test('a live RCP run to its minutes with its participants on different processes', async ({ browser }) => {
	test.slow();
	const claire = await personOn(browser, 'claire.muller', direct(0));
	await claire.getByRole('main').getByRole('link', { name: /MSP du Neuhof/ }).first().click();
	await claire.getByRole('main').getByRole('link', { name: 'RCP', exact: true }).click();
	await expect(claire.getByRole('heading', { level: 1, name: 'Réunions de concertation pluriprofessionnelle' })).toBeVisible();
	await claire.locator('#o-title').fill('RCP à deux processus');
	await claire.locator('#o-date').fill(parisToday());
	await claire.locator('#o-start').fill('18:00');
	await claire.locator('#o-end').fill('19:00');
	await claire.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(claire.getByRole('heading', { level: 1, name: 'RCP à deux processus' })).toBeVisible();
	const url = new URL(claire.url()).pathname;
	const agendaItem = (n: number) => claire.getByTestId('rcp-agenda').getByRole('listitem').nth(n);
	await expect(agendaItem(1)).toBeVisible();
	await submit(claire, 'Démarrer la RCP');
	await expect(claire.getByTestId('rcp-status')).toHaveText('En cours');

	// The psychologist on the other process, a second GP through the load balancer.
	const camille = await personOn(browser, 'camille.durand', direct(1));
	await camille.goto(url);
	const thomas = await personOn(browser, 'thomas.roth', topology.url);
	await thomas.goto(url);

	// Presence: everyone sees the three of them, wherever they are connected.
	for (const page of [claire, camille, thomas]) {
		for (const name of ['Claire Muller', 'Camille Durand', 'Thomas Roth']) await expect(page.getByTestId('rcp-online'), `${name} seen`).toContainText(name);
	}

	// The animator moves the pointer to the second case: every screen follows.
	const second = (await agendaItem(1).getByRole('button').first().locator('.item-title').textContent())!.trim();
	await agendaItem(1).getByRole('button').first().click();
	await claire.getByRole('button', { name: 'Discuter ce point' }).click();
	for (const page of [camille, thomas]) await expect(page.getByTestId('case-title')).toHaveText(second, { timeout: 5000 });

	// Case notes written on process 2 reach the animator on process 1 (a Yjs document).
	await expect(camille.getByTestId('notes-status')).toHaveText('Synchronisé');
	await camille.getByRole('textbox', { name: 'Notes du cas' }).click();
	await camille.keyboard.type('Sevrage tabagique en cours, bonne alliance.');
	await expect(claire.getByRole('textbox', { name: 'Notes du cas' })).toHaveValue('Sevrage tabagique en cours, bonne alliance.', { timeout: 5000 });

	// A decision recorded on process 1 is seen at once on process 2 and through the load balancer.
	await claire.getByRole('button', { name: 'Ajouter une action' }).click();
	await claire.getByRole('textbox', { name: 'Quoi' }).fill('Entretien de suivi dans quinze jours');
	await claire.getByRole('combobox', { name: 'Qui' }).selectOption({ label: 'Camille Durand (Psychologue)' });
	await claire.getByRole('button', { name: 'Poursuite', exact: true }).click();
	await expect(claire.getByRole('status').filter({ hasText: 'Décision enregistrée.' })).toBeVisible();
	for (const page of [camille, thomas]) {
		await expect(page.getByTestId('case-decision')).toContainText('Poursuite', { timeout: 5000 });
		await expect(page.getByTestId('case-decision')).toContainText('Entretien de suivi dans quinze jours');
	}

	// The GP through the load balancer leaves: the others stop seeing him.
	await thomas.context().close();
	for (const page of [claire, camille]) await expect(page.getByTestId('rcp-online')).not.toContainText('Thomas Roth', { timeout: 10_000 });

	// Closing on process 1 sends the psychologist's tab on process 2 to the minutes.
	await claire.getByRole('button', { name: 'Clôturer la RCP' }).click();
	await claire.getByRole('group', { name: /Clôturer \?/ }).getByRole('button', { name: 'Clôturer la RCP' }).click();
	for (const page of [claire, camille]) await expect(page.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' })).toBeVisible({ timeout: 10_000 });
	const decided = camille.getByTestId('report-case').filter({ hasText: second });
	await expect(decided).toContainText('Poursuite');
	await expect(decided).toContainText('Entretien de suivi dans quinze jours');
	await expect(decided).toContainText('Sevrage tabagique en cours, bonne alliance.');
	const attendance = camille.getByTestId('report-attendance');
	await expect(attendance.getByRole('listitem').filter({ hasText: 'Claire Muller' })).toHaveAttribute('data-attendance', 'present');
	await expect(attendance.getByRole('listitem').filter({ hasText: 'Camille Durand' })).toHaveAttribute('data-attendance', 'present');
	await claire.context().close();
	await camille.context().close();
});

test('kill -9 of a process: its browser reconnects to the other within seconds, nothing acknowledged is lost, edits made meanwhile are sent, presence is corrected', async ({ browser }) => {
	test.slow();
	const setup = await personOn(browser, 'ines.haddad', topology.url);
	const pps = await ppsWithCamille(setup, 'Panne');
	await setup.context().close();

	// Camille through the load balancer: the process her PPS websocket lands on is the one to kill.
	const camille = await personOn(browser, 'camille.durand', topology.url);
	const camilleServed = await yjsBackends(camille);
	await camille.goto(pps);
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');
	await expect.poll(() => camilleServed.length).toBeGreaterThan(0);
	const victim = topology.backends.findIndex((_, i) => serverName(i) === camilleServed.at(-1));
	expect(victim, `HAProxy names Camille's process (${camilleServed.at(-1)})`).toBeGreaterThanOrEqual(0);
	const survivor = 1 - victim;

	// Inès is on the process that will die (directly: she cannot go anywhere else), Paul (reads) on the other.
	const ines = await personOn(browser, 'ines.haddad', direct(victim));
	await ines.goto(pps);
	const paul = await personOn(browser, 'paul.schmitt', direct(survivor));
	await paul.goto(pps);
	for (const page of [camille, ines, paul]) {
		await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');
		for (const name of ['Camille Durand', 'Inès Haddad', 'Paul Schmitt']) await expect(presence(page), `${name} seen`).toContainText(name);
	}

	// Acknowledged before the kill, by the process that dies: Inès cannot send it again afterwards.
	await ines.getByTestId('pps-crisis').click();
	await ines.keyboard.type('Acquis avant la panne.');
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await camille.getByTestId('pps-goals').click();
	await camille.keyboard.type('Avant.');
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');

	// The process hangs before it dies: what Camille types now reaches it but is never acknowledged.
	await topology.backends[victim].kill('SIGSTOP');
	await camille.keyboard.type(' Pendant le gel.');
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistrement…');

	// The survivor is held for a moment too, so that Camille is really disconnected while she types
	// (otherwise she is back within a tenth of a second, before anything can be typed).
	await topology.backends[survivor].kill('SIGSTOP');
	await topology.backends[victim].kill('SIGKILL');
	await expect(camille.getByTestId('pps-status')).toHaveText('Hors ligne', { timeout: 5000 });
	await expect(ines.getByTestId('pps-status')).toHaveText('Hors ligne', { timeout: 5000 });
	await camille.keyboard.type(' Hors ligne.');
	const released = Date.now();
	await topology.backends[survivor].kill('SIGCONT');

	// Back through the load balancer on the survivor, everything stored, within seconds.
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré', { timeout: RECONNECT_BOUND_MS });
	console.log(`scale-out: Camille's edits stored on the survivor ${Date.now() - released} ms after it was released`);
	expect(camilleServed.at(-1), 'Camille is now served by the survivor').toBe(serverName(survivor));
	const everything = async (page: Page, who: string) => {
		await expect(page.getByTestId('pps-goals'), who).toContainText('Avant. Pendant le gel. Hors ligne.', { timeout: 5000 });
		await expect(page.getByTestId('pps-crisis'), who).toContainText('Acquis avant la panne.', { timeout: 5000 });
	};
	await everything(camille, 'Camille after reconnecting');
	await everything(paul, 'Paul, on the survivor');

	// Presence: Inès (stranded on the dead process) is gone for the others, Camille is back. Soft:
	// what follows (reload, fresh browsers, the restarted process) is about data and still runs.
	for (const [who, page] of [['Paul, on the survivor', paul], ['Camille, reconnected', camille]] as const) {
		await expect.soft(presence(page), `${who}: Inès, stranded on the dead process, is gone`).not.toContainText('Inès Haddad', { timeout: PRESENCE_BOUND_MS });
		await expect.soft(presence(page), `${who} sees Camille`).toContainText('Camille Durand');
		await expect.soft(presence(page), `${who} sees Paul`).toContainText('Paul Schmitt');
	}

	// After a reload, and in a fresh browser with no local copy, through the load balancer.
	await camille.reload();
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');
	await everything(camille, 'Camille after a reload');
	const fresh = await browser.newContext({ baseURL: topology.url, storageState: await camille.context().storageState() });
	const newcomer = await fresh.newPage();
	await newcomer.goto(pps);
	await expect(newcomer.getByTestId('pps-status')).toHaveText('Enregistré');
	await everything(newcomer, 'a fresh browser');
	await fresh.close();

	// The killed process comes back with nothing in memory: what it serves comes from PostgreSQL.
	await topology.backends[victim].restart();
	const again = await browser.newContext({ baseURL: direct(victim), storageState: await camille.context().storageState() });
	const reader = await again.newPage();
	await reader.goto(pps);
	await expect(reader.getByTestId('pps-status')).toHaveText('Enregistré');
	await everything(reader, 'a fresh browser on the restarted process');
	await again.close();
	for (const page of [camille, ines, paul]) await page.context().close();
});
