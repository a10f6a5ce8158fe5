// The messenger, end to end with three people at once: Inès Haddad (GP, on a 360 px phone), Camille
// Durand (psychologist) and Karim Mansouri (social worker), in the care team of a patient Inès
// includes at the Cabinet des Tanneurs. Real server, real sockets, real IndexedDB outbox.
import type { Browser, Page } from '@playwright/test';
import { io } from 'socket.io-client';
import { expect, test, expectAxeClean, newUserPage, signInHome, submit } from './helpers';

const PHONE = { width: 360, height: 740 };

interface Team {
	ines: Page;
	camille: Page;
	karim: Page;
	/** The patient's record (path). */
	record: string;
	/** The patient's thread (path). */
	thread: string;
}

/** Inès (phone) includes a patient with Camille and Karim in the care team and opens its thread. */
async function careTeam(browser: Browser, last: string): Promise<Team> {
	const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
	const ines = await phone.newPage();
	await signInHome(ines, 'ines.haddad');
	// One after the other: three password checks at once on a 2-core machine took a sign-in past 10 s.
	const camille = await newUserPage(browser, 'camille.durand');
	const karim = await newUserPage(browser, 'karim.mansouri');
	await ines.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await ines.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await ines.getByRole('textbox', { name: 'Nom', exact: true }).fill(last);
	await ines.getByRole('textbox', { name: 'Prénom' }).fill('Lucie');
	await ines.getByLabel('Date de naissance').fill('1980-03-14');
	await ines.getByRole('radio', { name: 'Addiction' }).check();
	await ines.getByRole('radio', { name: 'Les deux' }).check();
	await ines.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await ines.getByRole('button', { name: 'Inclure le patient' }).click();
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	const record = new URL(ines.url()).pathname;
	await ines.getByRole('checkbox', { name: /Camille Durand/ }).check();
	await ines.getByRole('checkbox', { name: /Karim Mansouri/ }).check();
	await submit(ines, "Enregistrer l'équipe");
	await expect(ines.getByRole('checkbox', { name: /Karim Mansouri/ })).toBeChecked();
	await ines.getByRole('link', { name: 'Écrire à l’équipe' }).click();
	await expect(ines).toHaveURL(/\/messages\/[0-9a-f-]{36}$/);
	await expect(ines.getByRole('heading', { level: 1, name: new RegExp(last.toUpperCase()) })).toBeVisible();
	return { ines, camille, karim, record, thread: new URL(ines.url()).pathname };
}

type Watching = { watched: Promise<number> };

/** Starts noting, in the page, the instant (ms) a message with this text is on its screen. */
async function watchFor(page: Page, text: string) {
	await page.evaluate((text) => {
		(window as unknown as Watching).watched = new Promise((resolve) => {
			const shown = () => [...document.querySelectorAll('[data-testid="message-body"]')].some((e) => e.textContent === text);
			if (shown()) return resolve(Date.now());
			const observer = new MutationObserver(() => {
				if (!shown()) return;
				observer.disconnect();
				resolve(Date.now());
			});
			observer.observe(document.body, { subtree: true, childList: true, characterData: true });
		});
	}, text);
}

const watched = (page: Page) => page.evaluate(() => (window as unknown as Watching).watched);

async function openThread(page: Page, thread: string) {
	await page.goto(thread);
	await expect(page.getByRole('textbox', { name: 'Votre message' })).toBeVisible();
	await expect(page.getByTestId('thread')).toHaveAttribute('data-live', 'true');
}

async function write(page: Page, text: string) {
	const box = page.getByRole('textbox', { name: 'Votre message' });
	await box.fill(text);
	await box.press('Enter');
}

/** The texts of the messages shown in the thread, in order (stored ones, then those waiting). */
async function bodies(page: Page): Promise<string[]> {
	return page.getByTestId('thread').locator('[data-testid="message-body"], [data-testid="pending-message"] .body').allTextContents();
}

async function badge(page: Page): Promise<number> {
	const b = page.getByTestId('messages-badge');
	return (await b.count()) ? Number(await b.textContent()) : 0;
}

test('a message in a patient thread reaches the care team within a second, with badges and read receipts', async ({ browser }) => {
	const { ines, camille, karim, thread } = await careTeam(browser, 'Messagerie');
	await Promise.all([openThread(camille, thread), openThread(karim, thread)]);
	// Their sockets are up (the typing signal goes through them).
	await camille.getByRole('textbox', { name: 'Votre message' }).pressSequentially('Je regarde', { delay: 60 });
	await expect(ines.getByTestId('typing')).toHaveText('Camille écrit…');
	await camille.getByRole('textbox', { name: 'Votre message' }).fill('');

	const first = 'Bonjour, Mme Lucie a rechuté ce week-end, pouvez-vous la voir cette semaine ?';
	// Each page notes the instant the message is on its screen (a MutationObserver: exact, where a
	// polling assertion looks only every few hundred milliseconds); on Inès's, that is the
	// acknowledgement (the stored message replaces the one waiting).
	await Promise.all([ines, camille, karim].map((page) => watchFor(page, first)));
	await ines.getByRole('textbox', { name: 'Votre message' }).fill(first);
	const sent = Date.now();
	await ines.getByRole('textbox', { name: 'Votre message' }).press('Enter');
	const [acked, ...delays] = (await Promise.all([ines, camille, karim].map(watched))).map((at) => at - sent);
	test.info().annotations.push({ type: 'delivery', description: `camille ${delays[0]} ms, karim ${delays[1]} ms (acknowledged to Inès in ${acked} ms)` });
	console.log(`delivery: camille ${delays[0]} ms, karim ${delays[1]} ms (acknowledged to Inès in ${acked} ms)`);
	for (const delay of delays) expect(delay).toBeLessThan(1000);
	for (const page of [camille, karim]) await expect(page.getByTestId('message-body').filter({ hasText: first })).toBeVisible({ timeout: 1000 });
	// Both have it on screen: the sender sees who read it.
	await expect(ines.getByTestId('receipt')).toHaveText('Lu par Camille Durand et Karim Mansouri');
	await expect(ines.getByTestId('pending-message')).toHaveCount(0);

	// Badges: Camille on her conversation list, Karim anywhere (the navigation).
	await camille.getByRole('link', { name: /Conversations$/ }).click();
	await expect(camille.getByRole('heading', { level: 1, name: 'Messages' })).toBeVisible();
	await karim.goto('/');
	const karimBefore = await badge(karim);
	const second = 'Je passe la voir jeudi à 14 h.';
	await write(ines, second);
	const row = camille.getByTestId('conversation-list').getByRole('listitem').filter({ hasText: 'MESSAGERIE' });
	await expect(row.getByTestId('conversation-unread')).toContainText('1');
	await expect(row).toContainText(second);
	await expect(karim.getByTestId('messages-badge')).toHaveText(String(karimBefore + 1));
	await expect(ines.getByTestId('receipt')).toHaveCount(1);

	// Karim opens it from the navigation: his badge goes down by this message, Inès sees him read it.
	// (Compared with the badge just before: tests running beside this one share the demo's people and
	// may change Karim's other conversations, as a care team he leaves.)
	const withSecond = await badge(karim);
	await karim.getByTestId('nav-messages').click();
	await karim.getByTestId('conversation-list').getByRole('link', { name: /MESSAGERIE/ }).click();
	await expect(karim.getByTestId('message-body').filter({ hasText: second })).toBeVisible();
	await expect(ines.getByTestId('receipt')).toHaveText(['Lu par Camille Durand et Karim Mansouri', 'Lu par Karim Mansouri']);
	await expect.poll(() => badge(karim)).toBe(withSecond - 1);
	await camille.getByTestId('conversation-list').getByRole('link', { name: /MESSAGERIE/ }).click();
	await expect(ines.getByTestId('receipt')).toHaveText(['Lu par Camille Durand et Karim Mansouri', 'Lu par Camille Durand et Karim Mansouri']);

	// Correcting within 15 minutes: "modifié" for everyone.
	await ines.getByRole('button', { name: 'Modifier' }).last().click();
	await ines.getByRole('textbox', { name: 'Modifier le message' }).fill('Je passe la voir jeudi à 15 h.');
	await ines.getByRole('button', { name: 'Enregistrer', exact: true }).click();
	await expect(karim.getByTestId('message-body').last()).toHaveText('Je passe la voir jeudi à 15 h.');
	await expect(karim.getByTestId('edited')).toHaveText('modifié');

	await expectAxeClean(karim);
	await expectAxeClean(ines);
	await camille.getByRole('link', { name: /Conversations$/ }).click();
	await expectAxeClean(camille);
});

test('messages written offline wait as "en attente", survive a reload and arrive once each, in order', async ({ browser }) => {
	const { ines, camille, karim, thread } = await careTeam(browser, 'Horsligne');
	await Promise.all([openThread(camille, thread), openThread(karim, thread)]);
	await write(ines, 'Point sur la situation avant la RCP.');
	await expect(karim.getByTestId('message-body')).toHaveText(['Point sur la situation avant la RCP.']);

	const context = karim.context();
	await context.setOffline(true);
	await write(karim, 'Premier message hors ligne');
	await write(karim, 'Second message hors ligne');
	await expect(karim.getByTestId('pending-status')).toHaveText(['en attente', 'en attente']);
	await expect(karim.getByText('Hors ligne : vos messages partent dès le retour du réseau.')).toBeVisible();
	await context.setOffline(false);

	const expected = ['Point sur la situation avant la RCP.', 'Premier message hors ligne', 'Second message hors ligne'];
	for (const page of [ines, camille, karim]) await expect.poll(() => bodies(page), { timeout: 20_000 }).toEqual(expected);
	await expect(karim.getByTestId('pending-message')).toHaveCount(0);

	// The outbox survives a reload: in a tab whose socket cannot connect, a message waits, is still
	// there after the reload, and leaves from the next page that connects (same browser profile).
	const blocked = await context.newPage();
	await blocked.route(/\/socket\.io\//, (route) => route.abort());
	await blocked.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
	await blocked.goto(thread);
	await expect(blocked.getByTestId('message-body')).toHaveCount(3);
	await write(blocked, 'Écrit sans connexion');
	await expect(blocked.getByTestId('pending-status')).toHaveText(['en attente']);
	await blocked.reload();
	await expect(blocked.getByTestId('pending-status')).toHaveText(['en attente']);
	expect(await bodies(blocked)).toEqual([...expected, 'Écrit sans connexion']);
	await blocked.close();
	await karim.reload();
	const all = [...expected, 'Écrit sans connexion'];
	for (const page of [ines, camille, karim]) await expect.poll(() => bodies(page), { timeout: 20_000 }).toEqual(all);
	// Once, even after everyone reloads (what is stored, not what a screen accumulated).
	for (const page of [ines, camille, karim]) {
		await page.reload();
		await expect.poll(() => bodies(page)).toEqual(all);
	}
});

test('a professional removed from the care team loses the thread live', async ({ browser }) => {
	const { ines, camille, karim, record, thread } = await careTeam(browser, 'Retrait');
	await openThread(camille, thread);
	await write(ines, 'Qui prend le relais pour le logement ?');
	await expect(camille.getByTestId('message-body')).toHaveText(['Qui prend le relais pour le logement ?']);

	// Karim, another member of the care team, takes Camille out of it on the patient's record.
	await karim.goto(record);
	await karim.getByRole('checkbox', { name: /Camille Durand/ }).uncheck();
	await submit(karim, "Enregistrer l'équipe");
	await expect(camille.getByTestId('conversation-lost')).toContainText('Vous n’avez plus accès à cette conversation.');
	await expect(camille.getByTestId('message-body')).toHaveCount(0);
	// Nor on a new visit, nor in her list.
	const response = await camille.goto(thread);
	expect(response?.status()).toBe(404);
	await camille.goto('/messages');
	await expect(camille.getByRole('main')).not.toContainText('RETRAIT');
});

test('someone from another microstructure gets 404 for the page and an error from the socket', async ({ browser, baseURL }) => {
	const { ines, thread, record } = await careTeam(browser, 'Etanche');
	await write(ines, 'Message réservé à l’équipe de soins.');
	await expect(ines.getByTestId('pending-message')).toHaveCount(0);
	const conversationId = thread.split('/').pop()!;
	const patientId = record.split('/').pop()!;

	const claire = await newUserPage(browser, 'claire.muller');
	expect((await claire.goto(thread))?.status()).toBe(404);
	expect((await claire.goto(`/messages/patient/${patientId}`))?.status()).toBe(404);
	// The same answer as for a conversation that does not exist.
	expect((await claire.goto('/messages/00000000-0000-4000-8000-000000000000'))?.status()).toBe(404);

	// Her own authenticated socket, talking to the server directly.
	const cookie = (await claire.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
	const socket = io(baseURL!, { path: '/socket.io', transports: ['websocket'], extraHeaders: { cookie } });
	try {
		await new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('connect_error', reject);
		});
		const ask = (event: string, payload: unknown) => socket.timeout(5000).emitWithAck(event, payload);
		expect(await ask('msg:open', { conversationId })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await ask('msg:after', { conversationId, afterSeq: 0 })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await ask('msg:send', { conversationId, clientId: crypto.randomUUID(), body: 'intrusion' })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		const list = (await ask('msg:list', {})) as { ok: boolean; conversations: { id: string }[] };
		expect(list.ok).toBe(true);
		expect(list.conversations.map((c) => c.id)).not.toContain(conversationId);
	} finally {
		socket.close();
	}
	// Nothing reached the thread.
	await ines.reload();
	await expect(ines.getByTestId('message-body')).toHaveText(['Message réservé à l’équipe de soins.']);

	// "Écrire à l'équipe" from the PPS opens the same thread with the context as a draft.
	await ines.goto(`${record}/pps`);
	await ines.getByRole('link', { name: 'Écrire à l’équipe' }).click();
	await expect(ines).toHaveURL(new RegExp(`${thread}\\?brouillon=`));
	await expect(ines.getByRole('textbox', { name: 'Votre message' })).toHaveValue('PPS : ');
});


test('a group is started from the messenger and the team conversation from the microstructure', async ({ browser }) => {
	const karim = await newUserPage(browser, 'karim.mansouri');
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto('/messages');
	await karim.getByTestId('nav-messages').click();
	await karim.getByRole('link', { name: 'Nouvelle conversation' }).click();
	await expect(karim.getByRole('heading', { level: 1, name: 'Nouvelle conversation' })).toBeVisible();
	await expectAxeClean(karim);

	// One other person does not make a group: said in French, nothing created.
	await karim.getByLabel('Nom du groupe').fill('Logement — Tanneurs');
	await karim.getByRole('checkbox', { name: /Camille Durand/ }).check();
	await submit(karim, 'Créer le groupe');
	await expect(karim.getByRole('alert')).toHaveText('Un groupe réunit au moins deux autres personnes.');
	await karim.getByRole('checkbox', { name: /Inès Haddad/ }).check();
	await submit(karim, 'Créer le groupe');
	await expect(karim.getByRole('heading', { level: 1, name: /Logement — Tanneurs/ })).toBeVisible();
	await expect(karim.getByTestId('thread')).toHaveAttribute('data-live', 'true');
	await write(karim, 'Qui a une piste pour un hébergement d’urgence ?');

	// A message the server refuses stays on screen with the reason, to try again or to delete.
	await write(karim, 'Bip\u0007');
	const refused = karim.getByTestId('pending-message');
	await expect(refused.getByRole('alert')).toHaveText('Requête invalide.');
	await refused.getByRole('button', { name: 'Réessayer' }).click();
	await expect(refused.getByRole('alert')).toHaveText('Requête invalide.');
	await refused.getByRole('button', { name: 'Supprimer' }).click();
	await expect(refused).toHaveCount(0);

	// It appears live in Camille's list, unread.
	const row = camille.getByTestId('conversation-list').getByRole('listitem').filter({ hasText: 'Logement — Tanneurs' });
	await expect(row).toContainText('hébergement d’urgence');
	await expect(row.getByTestId('conversation-unread')).toContainText('1');

	// The microstructure's team conversation, from its page.
	await camille.goto('/');
	await camille.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await camille.getByRole('link', { name: 'Conversation d’équipe' }).click();
	await expect(camille.getByRole('heading', { level: 1, name: /Équipe — Cabinet des Tanneurs/ })).toBeVisible();
	await expect(camille.getByRole('textbox', { name: 'Votre message' })).toBeVisible();
});

test('a compte-rendu and a PPS version are shared into the patient’s thread as links that open them', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad', { viewport: PHONE });
	await ines.getByTestId('home-microstructures').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await ines.getByRole('main').getByRole('link', { name: 'RCP', exact: true }).click();
	// A closed RCP with a discussed case whose PPS version it validated, in a thread Inès may write in.
	// The demo's past RCPs have several; tests running beside this one may close others, newer, without.
	await expect(ines.getByRole('link', { name: /^RCP mensuelle — / }).first()).toBeVisible();
	const closed = await ines.getByRole('link', { name: /^RCP mensuelle — / }).evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
	const discussed = ines
		.getByTestId('report-case')
		.filter({ has: ines.getByTestId('share-report') })
		.filter({ has: ines.getByRole('link', { name: /^PPS validé\s:\sversion \d+$/ }) })
		.first();
	let report = '';
	for (const href of closed) {
		// Server-rendered: what the page offers is there once it has loaded (upcoming RCPs have no compte-rendu).
		await ines.goto(href);
		if (await discussed.count()) {
			report = new URL(ines.url()).pathname;
			break;
		}
	}
	expect(report, 'a closed RCP of the demo with a shareable case').not.toBe('');

	// From that case of the compte-rendu: the thread opens with the link ready to go.
	const versionHref = await discussed.getByRole('link', { name: /^PPS validé\s:\sversion \d+$/ }).getAttribute('href');
	expect(versionHref).toMatch(/\/pps\/versions\/\d+$/);
	await discussed.getByTestId('share-report').click();
	await expect(ines).toHaveURL(/\/messages\/[0-9a-f-]{36}\?lien=rcp/);
	await expect(ines.getByTestId('share')).toContainText(/Lien joint : Compte rendu de la RCP du \d{1,2} \S+ \d{4}/);
	await expectAxeClean(ines);
	await ines.getByRole('textbox', { name: 'Votre message' }).fill('Le compte rendu de la dernière RCP, pour mémoire.');
	await ines.getByRole('button', { name: 'Envoyer', exact: true }).click();
	const sent = ines.getByTestId('message').filter({ hasText: 'Le compte rendu de la dernière RCP, pour mémoire.' });
	await expect(sent.getByTestId('message-link')).toHaveText('Ouvrir le compte rendu de RCP partagé');
	await expect(ines.getByTestId('share')).toHaveCount(0);
	// It went through the outbox like any message (a link kept as the page's state could not be stored there).
	await expect(ines.getByText('Le message n’a pas pu être enregistré dans ce navigateur.')).toHaveCount(0);
	// Reloaded, the link is the server's (not only the tab's), and it leads to the compte-rendu.
	await ines.reload();
	await ines.getByTestId('message').filter({ hasText: 'pour mémoire' }).last().getByTestId('message-link').click();
	await expect(ines).toHaveURL(report);
	await expect(ines.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' })).toBeVisible();

	// From a version of the PPS: sent with no text, it is still a message, and opens that version.
	await ines.goto(versionHref!);
	await ines.getByTestId('share-version').click();
	const n = versionHref!.split('/').at(-1);
	await expect(ines.getByTestId('share')).toContainText(`Lien joint : Version ${n} du PPS`);
	await ines.getByRole('button', { name: 'Envoyer', exact: true }).click();
	await expect(ines.getByTestId('share')).toHaveCount(0);
	const link = ines.getByTestId('message-link').filter({ hasText: 'Ouvrir la version du PPS partagée' }).last();
	await expect(link).toBeVisible();
	await link.click();
	await expect(ines).toHaveURL(versionHref!);
});

test('an @mention is picked from the readers by keyboard or by tap and notifies only the person named, without content', async ({ browser }) => {
	const { ines, camille, karim, thread } = await careTeam(browser, 'Mention');
	await openThread(ines, thread);
	const box = ines.getByRole('textbox', { name: 'Votre message' });

	// Keyboard: "@cam" lists Camille (accents and case folded), Enter picks her, Enter then sends.
	await box.pressSequentially('Peux-tu la rappeler @cam');
	const list = ines.getByRole('listbox', { name: 'Mentionner' });
	await expect(list.getByRole('option')).toHaveText(['@Camille Durand']);
	await expectAxeClean(ines);
	await box.press('Enter');
	await expect(box).toHaveValue('Peux-tu la rappeler @Camille Durand ');
	await expect(list).toHaveCount(0);
	await box.pressSequentially('demain ?');
	await box.press('Enter');
	await expect(ines.getByTestId('message-body').last()).toHaveText('Peux-tu la rappeler @Camille Durand demain ?');

	// A name typed by hand, without picking, mentions nobody; Escape closes the list.
	await box.pressSequentially('Et @Kar');
	await expect(list.getByRole('option')).toHaveText(['@Karim Mansouri']);
	await box.press('Escape');
	await expect(list).toHaveCount(0);
	await box.pressSequentially('im Mansouri aussi');
	await box.press('Enter');
	await expect(ines.getByTestId('message-body').last()).toHaveText('Et @Karim Mansouri aussi');

	// By tap on the phone: Camille again, and still one unread notification for her.
	await box.pressSequentially('@Camille');
	await list.getByRole('option', { name: '@Camille Durand' }).tap();
	await expect(box).toHaveValue('@Camille Durand ');
	await box.pressSequentially('merci');
	await box.press('Enter');
	await expect(ines.getByTestId('message-body').last()).toHaveText('@Camille Durand merci');

	// Camille is told, in French and without a word of the message; Karim is not.
	await camille.goto('/notifications');
	const told = camille.getByRole('main').locator(`a[href="${thread}"]`);
	await expect(told).toHaveCount(1);
	await expect(told).toHaveText('Vous avez été mentionné·e dans Microstructures');
	await expect(camille.getByRole('main')).not.toContainText('rappeler');
	await karim.goto('/notifications');
	await expect(karim.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
	await expect(karim.getByRole('main').locator(`a[href="${thread}"]`)).toHaveCount(0);

	// In the thread, the message says it names her.
	await told.click();
	await expect(camille).toHaveURL(new RegExp(`${thread}$`));
	const mine = camille.getByTestId('message').filter({ hasText: 'Peux-tu la rappeler' });
	await expect(mine).toContainText('Vous mentionne');
	await expect(mine.locator('strong.mention')).toHaveText('@Camille Durand');
	await expectAxeClean(camille);
	await expect(camille.getByTestId('message').filter({ hasText: 'Et @Karim' })).not.toContainText('Vous mentionne');
});
