import type { Page } from '@playwright/test';
import { expect, test, expectAxeClean, newUserPage, signInCoordinator, signInHome, submit } from './helpers';

async function openFileActive(page: Page, ms: RegExp) {
	await page.getByRole('main').getByRole('link', { name: ms }).click();
	await page.getByRole('link', { name: 'File active' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'File active' })).toBeVisible();
}

async function includePatient(page: Page, p: { last: string; first: string; birth: string }) {
	await page.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill(p.last);
	await page.getByRole('textbox', { name: 'Prénom' }).fill(p.first);
	await page.getByLabel('Date de naissance').fill(p.birth);
	await page.getByRole('radio', { name: 'Addiction' }).check();
	await page.getByRole('radio', { name: 'Les deux' }).check();
	await page.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await page.getByRole('button', { name: 'Inclure le patient' }).click();
	await expect(page.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	return new URL(page.url()).pathname;
}

test('a GP includes a patient on a 390 px phone in one form and sees what comes next', async ({ browser }) => {
	const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
	const page = await context.newPage();
	await signInHome(page, 'paul.schmitt');
	const started = Date.now();
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await page.getByRole('link', { name: 'Inclure un patient' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Inclure un patient' })).toBeVisible();
	await expectAxeClean(page);

	// What is required now, and only that (the rest is folded under "Compléter maintenant").
	const required = await page.locator('form [required], form fieldset:has(legend span[aria-hidden="true"])').count();
	expect(required).toBe(7); // nom, prénom, date de naissance, date d'inclusion (prefilled), motif, orientation, consentement
	await expect(page.getByRole('textbox', { name: 'Téléphone' })).toBeHidden();

	// An empty submission is refused field by field, in French, and nothing typed is lost.
	await page.getByRole('textbox', { name: 'Prénom' }).fill('Gérard');
	await page.getByRole('button', { name: 'Inclure le patient' }).click();
	await expect(page.getByRole('alert')).toHaveText('Le formulaire contient des erreurs : corrigez les champs signalés.');
	await expect(page.getByText('Ce champ est obligatoire.').first()).toBeVisible();
	await expect(page.getByText('Indiquez comment le consentement a été recueilli.')).toBeVisible();
	await expect(page.getByRole('textbox', { name: 'Prénom' })).toHaveValue('Gérard');

	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill('Dupuis');
	await page.getByLabel('Date de naissance').fill('1968-04-12');
	await page.getByRole('radio', { name: 'Addiction' }).check();
	await page.getByRole('radio', { name: 'Les deux' }).check();
	await page.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await page.getByRole('button', { name: 'Inclure le patient' }).click();

	await expect(page.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	const seconds = (Date.now() - started) / 1000;
	console.log(`inclusion on a phone: 2 screens, 7 required fields, ${seconds.toFixed(1)} s of scripted use`);
	// Named: the people the orientation put in the care team (never someone outside it).
	await expect(page.getByText('Prendre le premier rendez-vous avec Camille Durand (psychologue) et Karim Mansouri (travailleur·se social·e)')).toBeVisible();
	await expect(page.getByRole('heading', { level: 1, name: 'DUPUIS Gérard' })).toBeVisible();
	await expect(page.getByTestId('timeline')).toContainText('Inclusion');
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	expect(width).toBeLessThanOrEqual(390);
	await expectAxeClean(page);
});

test('a GP records a first contact then an exit; wrong steps are refused in French', async ({ page }) => {
	await signInHome(page, 'ines.haddad');
	await openFileActive(page, /Cabinet des Tanneurs/);
	await includePatient(page, { last: 'Morvan', first: 'Ludovic', birth: '1979-09-03' });

	await page.locator('summary', { hasText: 'Enregistrer le premier contact' }).click();
	await page.locator('#f-on-first_contact').fill('2099-01-01');
	await submit(page, 'Enregistrer le premier contact');
	await expect(page.getByRole('alert')).toHaveText('La date ne peut pas être dans le futur.');
	// The refused step stays open with what was typed; correct the date and submit again.
	await page.locator('#f-on-first_contact').fill(new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' }));
	await submit(page, 'Enregistrer le premier contact');
	await expect(page.getByRole('status')).toHaveText('Étape enregistrée.');
	await expect(page.getByText('En suivi', { exact: true }).first()).toBeVisible();

	await page.locator('summary', { hasText: 'Fin de suivi' }).click();
	await page.getByLabel('Motif', { exact: true }).selectOption({ label: 'Autre (préciser)' });
	await submit(page, 'Fin de suivi');
	await expect(page.getByRole('alert')).toHaveText('Précisez le motif de fin de suivi.');
	await page.getByLabel('Motif', { exact: true }).selectOption({ label: 'Amélioration' });
	await submit(page, 'Fin de suivi');
	await expect(page.getByRole('status')).toHaveText('Étape enregistrée.');
	await expect(page.getByTestId('timeline')).toContainText('Fin de suivi');
	await expect(page.getByTestId('timeline')).toContainText('Amélioration');
	// A closed record offers ré-inclusion only.
	await expect(page.locator('summary', { hasText: 'Enregistrer le premier contact' })).toHaveCount(0);
	await expect(page.locator('summary', { hasText: 'Ré-inclure' })).toBeVisible();

	// The file active finds the patient by name among the "sortis".
	await page.goto(new URL(page.url()).pathname.replace(/\/[^/]+$/, '') + '?etat=sorti&q=morv');
	await expect(page.getByTestId('patient-list')).toContainText('MORVAN Ludovic');
});

test('patients are need-to-know: another microstructure, the secretariat and guessed ids get 404', async ({ browser, baseURL }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	await openFileActive(ines, /Cabinet des Tanneurs/);
	const record = await includePatient(ines, { last: 'Secret', first: 'Bernadette', birth: '1955-02-02' });

	// Élodie, psychologist in Loire-Atlantique, may not see it: page, form action, socket event.
	const elodie = await newUserPage(browser, 'elodie.petit');
	expect((await elodie.goto(record))?.status()).toBe(404);
	expect((await elodie.goto(record.replace(/[0-9a-f-]{36}$/, '00000000-0000-4000-8000-000000000000')))?.status()).toBe(404);
	const post = await elodie.request.post(`${record}?/pathway`, {
		form: { kind: 'first_contact', on: '2026-01-01' },
		headers: { origin: baseURL! },
		failOnStatusCode: false
	});
	expect(post.status()).toBe(404);
	const viaSocket = await elodie.evaluate(
		async ({ msId, patientId }) => {
			// The socket.io protocol by hand, over the page's own authenticated websocket.
			return new Promise<string>((resolve) => {
				const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
				ws.onmessage = (m) => {
					const data = String(m.data);
					if (data.startsWith('0')) ws.send('40');
					else if (data.startsWith('40')) ws.send(`421["patient:watch",${JSON.stringify({ microstructureId: msId, patientId })}]`);
					else if (data.startsWith('431')) resolve(data.slice(3));
					else if (data === '2') ws.send('3');
				};
			});
		},
		{ msId: record.split('/')[2], patientId: record.split('/')[4] }
	);
	expect(JSON.parse(viaSocket)).toEqual([{ ok: false, error: 'Patient introuvable.' }]);

	const camille = await newUserPage(browser, 'camille.durand');
	expect((await camille.goto(record))?.status()).toBe(200);

	const nadia = await newUserPage(browser, 'nadia.benali');
	expect((await nadia.goto(record))?.status()).toBe(404);
	expect((await nadia.goto(record.replace(/\/[^/]+$/, '')))?.status()).toBe(404);
	await nadia.goto('/');
	await nadia.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(nadia.getByRole('link', { name: 'File active' })).toHaveCount(0);
});

test('only the administrative coordinator sees and sets the NIR, with its key checked', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	await openFileActive(ines, /Cabinet des Tanneurs/);
	const record = await includePatient(ines, { last: 'Nirvana', first: 'Kurt', birth: '1967-02-20' });
	await expect(ines.getByRole('heading', { name: 'NIR (facturation)' })).toHaveCount(0);

	const sophie = await (await browser.newContext()).newPage();
	await signInCoordinator(sophie, 'sophie.klein');
	await sophie.goto(record);
	await expect(sophie.getByRole('heading', { name: 'NIR (facturation)' })).toBeVisible();
	await sophie.getByLabel('NIR (15 caractères)').fill('1 67 02 67 482 123 00');
	await submit(sophie, 'Enregistrer le NIR');
	await expect(sophie.getByText('Clé de contrôle du NIR incorrecte.').first()).toBeVisible();
	// 1670267482123 mod 97 = 2, so the key is 95.
	await sophie.getByLabel('NIR (15 caractères)').fill('1 67 02 67 482 123 95');
	await submit(sophie, 'Enregistrer le NIR');
	await expect(sophie.getByRole('status')).toHaveText('NIR enregistré.');
	await expect(sophie.getByTestId('nir-masked')).toContainText('95');
	await expect(sophie.getByTestId('nir-masked')).not.toContainText('482');
	// She sees who consulted the record.
	await expect(sophie.getByTestId('access-log')).toContainText('Inès Haddad');

	// The GP's screens and the right-of-access export never show it.
	await ines.reload();
	await expect(ines.locator('body')).not.toContainText('482 123');
	const exported = await ines.request.get(`${record}/export`);
	const body = await exported.text();
	expect(body).toContain('"code"');
	expect(body).not.toContain('1670267482123');
	await expect(ines.getByTestId('access-log')).toHaveCount(0);
});

test('the À faire list shows renewals and silent patients from the demo', async ({ page }) => {
	await signInHome(page, 'claire.muller');
	await page.getByRole('link', { name: 'À faire' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'À faire' })).toBeVisible();
	await expect(page.getByRole('heading', { name: /Renouvellement dépassé/ })).toBeVisible();
	await expect(page.getByRole('heading', { name: /Pas de premier contact/ })).toBeVisible();
	await expect(page.getByRole('heading', { name: /NIR à renseigner/ })).toHaveCount(0);
	await expectAxeClean(page);
	await page.getByTestId('todo-renewal_overdue').getByRole('link').first().click();
	await page.locator('summary', { hasText: 'Renouveler pour un an' }).click();
	await submit(page, 'Renouveler pour un an');
	await expect(page.getByRole('status')).toHaveText('Étape enregistrée.');
});

test('a second professional on the same record is told it changed', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	await openFileActive(ines, /Cabinet des Tanneurs/);
	const record = await includePatient(ines, { last: 'Partage', first: 'Lucie', birth: '1990-10-10' });
	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.goto(record);
	await expect(paul.getByRole('heading', { level: 1, name: 'PARTAGE Lucie' })).toBeVisible();
	await ines.locator('summary', { hasText: 'Enregistrer le premier contact' }).click();
	await submit(ines, 'Enregistrer le premier contact');
	await expect(paul.getByText('Ce dossier vient d’être modifié par un autre professionnel.')).toBeVisible();
	await paul.getByRole('button', { name: 'Afficher la nouvelle version' }).click();
	await expect(paul.getByTestId('timeline')).toContainText('Premier contact');
	// Paul's stale form cannot overwrite: the step is refused as no longer possible.
	await expect(paul.locator('summary', { hasText: 'Enregistrer le premier contact' })).toHaveCount(0);
});
